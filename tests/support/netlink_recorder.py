"""Record what the kernel's rtnetlink sends, as fixtures for the agent's netlink parser.

    sudo .venv/bin/python tests/support/netlink_recorder.py tests/unit/fixtures/netlink

Builds a router namespace with two veth WANs to a peer namespace (addresses, neighbours, a WAN table,
a multipath default route), then, inside the router namespace, opens an rtnetlink socket subscribed to
the agent's groups and records every datagram as hex: first the four dumps (``dump.json``), then the
events that follow each step of ``EVENT_STEPS`` (``events.json``). Each file notes the kernel and
iproute2 versions and the commands, so a fixture can be made again and compared.
Everything happens in namespaces made here and removed afterwards.
"""

import json
import os
import platform
import select
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, ".collections"), os.path.join(ROOT, "tests")]

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import netlink  # noqa: E402

SETUP = [
    "ip link set wan1 up", "ip link set wan2 up",
    "ip addr add 100.64.1.2/24 dev wan1", "ip addr add 100.64.2.2/24 dev wan2",
    "ip -6 addr add 2001:db8:1::2/64 dev wan1 nodad",
    "ip neigh replace 100.64.1.1 dev wan1 lladdr 02:00:00:00:01:01 nud permanent",
    "ip -6 neigh replace fe80::1 dev wan1 lladdr 02:00:00:00:01:01 nud reachable",
    "ip route add default via 100.64.1.1 dev wan1 table 101 proto 211",
    "ip route add default proto static nexthop via 100.64.1.1 dev wan1 weight 1 nexthop via 100.64.2.1 dev wan2 weight 3",
    "ip -6 route add default via fe80::1 dev wan1 proto ra",
]
PEER_SETUP = ["ip link set cust1 up", "ip link set cust2 up", "ip addr add 100.64.2.1/24 dev cust2"]
# (what happens, command run in the router namespace or, with "peer:", in the peer namespace, seconds to listen)
EVENT_STEPS = [
    ("carrier lost: the peer's end goes down", "peer:ip link set cust1 down", 0.5),
    ("carrier back", "peer:ip link set cust1 up", 1.5),
    ("admin down", "ip link set wan2 down", 0.5),
    ("admin up", "ip link set wan2 up", 1.5),
    ("an IPv4 address added", "ip addr add 100.64.1.3/24 dev wan1", 0.3),
    ("an IPv4 address deleted", "ip addr del 100.64.1.3/24 dev wan1", 0.3),
    ("an IPv6 address through DAD", "ip -6 addr add 2001:db8:1::3/64 dev wan1", 2.5),
    ("a neighbour resolved", "ping -c1 -W1 100.64.2.1", 0.5),
    ("a neighbour that never answers fails", "ping -c1 -W1 100.64.2.99", 4.5),
    ("a learned default route", "ip route replace default via 100.64.2.1 dev wan2 proto dhcp table 254 metric 100", 0.3),
    ("the learned default route removed", "ip route del default via 100.64.2.1 dev wan2 proto dhcp metric 100", 0.3),
    ("the link deleted", "ip link del wan2", 0.5),
]


def sh(command, check=True):
    return subprocess.run(command, shell=isinstance(command, str), check=check, capture_output=True, text=True)


def versions():
    return {"kernel": platform.release(), "iproute2": sh("ip -V").stdout.strip()}


def record(directory, peer):
    """Runs inside the router namespace."""
    rt = netlink.RtNetlink()
    for command in SETUP:
        sh(command)
    time.sleep(0.3)
    _drain(rt.socket, 0.2)          # the setup's own events are not fixtures
    rt.request_dumps()
    dump = []
    while rt.dumping:
        dump += _receive(rt, 1.0)
    _write(directory, "dump.json", {
        "made_by": "tests/support/netlink_recorder.py: dumps link, addr, neigh, route (AF_UNSPEC, NLM_F_DUMP) "
                   "one after another on one socket, in a namespace set up with 'setup'",
        "setup": SETUP, "peer_setup": PEER_SETUP, "versions": versions(), "datagrams": dump})
    steps = []
    for what, command, seconds in EVENT_STEPS:
        if command.startswith("peer:"):
            sh("ip -n %s %s" % (peer, command[len("peer:ip "):]))
        else:
            sh(command, check=not command.startswith("ping"))
        steps.append({"what": what, "command": command, "datagrams": _drain(rt.socket, seconds)})
    _write(directory, "events.json", {
        "made_by": "tests/support/netlink_recorder.py: events after each step, on a socket bound to groups 0x%x "
                   "(link, neigh, ipv4/ipv6 ifaddr and route)" % netlink.GROUPS,
        "setup": SETUP, "peer_setup": PEER_SETUP, "versions": versions(), "steps": steps})


def _receive(rt, timeout):
    if not select.select([rt.socket], [], [], timeout)[0]:
        raise AssertionError("no answer from the kernel")
    datagrams = []
    rt.read(keep=datagrams)
    return [data.hex() for data in datagrams]


def _drain(sock, seconds):
    deadline, datagrams = time.monotonic() + seconds, []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return datagrams
        if select.select([sock], [], [], remaining)[0]:
            try:
                datagrams.append(sock.recv(1 << 16).hex())
            except BlockingIOError:
                pass


def _write(directory, name, document):
    with open(os.path.join(directory, name), "w") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    print("written %s" % os.path.join(directory, name))


def main(directory):
    from support.netns import Netns, sh as run
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    with Netns("mwnl") as router, Netns("mwnp") as peer:
        for number in (1, 2):
            run("ip", "link", "add", "wan%d" % number, "netns", router.name, "type", "veth",
                "peer", "name", "cust%d" % number, "netns", peer.name)
        for command in PEER_SETUP:
            peer.run(*command.split())
        router.run(sys.executable, os.path.abspath(__file__), "--inside", directory, peer.name)


if __name__ == "__main__":
    if sys.argv[1] == "--inside":
        record(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1])
