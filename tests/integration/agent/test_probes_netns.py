"""Probes on the real kernel: marked and bound to their WAN, ICMP (IPv4, IPv6) and TCP, late answers.

Each test runs a ``probes.Prober`` inside the router namespace (``inside.py probe``) for a few rounds.
The router's main default route goes via wan1 only; wan2's probes reach their targets only because
they carry wan2's mark (``fwmark 0x200/0xff00 lookup 102``) and leave by wan2 (``SO_BINDTODEVICE``).
"""

import pytest

from support.multiwan_topology import INET, UPLINK, Server, Topology
from support.netns import Netns, sh

from .inside import Inside

pytestmark = pytest.mark.netns


@pytest.fixture
def net():
    with Topology() as topology:
        topology.pbr_routes()
        yield topology


def probe(netns, rounds=5, **plan):
    """The rounds one prober judged, its late answers and its counters."""
    plan = dict({"interval": 0.2, "timeout": 0.8, "method": "icmp", "port": None}, **plan)
    with Inside(netns, "probe", dict(plan, rounds=rounds)) as inside:
        lines = inside.read_until(lambda line: "sent" in line, timeout=rounds * plan["interval"] + plan["timeout"] + 15)
    rounds_seen = [line["rtts"] for line in lines if line.get("kind") == "Round"]
    late = [line["target"] for line in lines if line.get("kind") == "LateAnswer"]
    return rounds_seen, late, lines[-1]


def answered(rounds):
    return [[rtt is not None for rtt in rtts] for rtts in rounds]


def test_icmp_probes_leave_by_their_wan_through_its_mark(net):
    rounds, late, counters = probe(net.router, device="wan2", mark=0x200, family="ipv4", targets=[INET, UPLINK[2][1]])
    assert answered(rounds) == [[True, True]] * 5 and late == []
    # the prober keeps its interval while the last rounds are judged: a few more went out
    assert counters["sent"] >= 10 and counters["answered"] >= 10 and counters["last_error"] is None
    assert all(0 < rtt < 0.5 for rtts in rounds for rtt in rtts)
    assert net.spoofed(1) == 0 and net.spoofed(2) == 0      # nothing left by the wrong WAN


def test_without_the_mark_the_device_binding_alone_finds_no_route(net):
    # main's default route is via wan1; bound to wan2 the kernel finds no route through wan2
    rounds, _late, _counters = probe(net.router, rounds=3, device="wan2", mark=0, family="ipv4", targets=[INET])
    assert answered(rounds) == [[False]] * 3


def test_a_blackholed_upstream_loses_every_probe_while_the_gateway_answers(net):
    net.isp[2].run("nft", "add", "rule", "ip", "isp", "forward", "iifname", "cust", "drop")
    rounds, _late, _counters = probe(net.router, rounds=3, device="wan2", mark=0x200, family="ipv4",
                                     targets=[INET, "100.64.2.1"])
    assert answered(rounds) == [[False, True]] * 3


def test_tcp_connect_probes_count_accepts_and_refusals_as_answers(net):
    with Server(net.inet, 8443):
        rounds, _late, counters = probe(net.router, rounds=3, device="wan2", mark=0x200, family="ipv4", method="tcp",
                                        port=8443, targets=[INET])
        assert answered(rounds) == [[True]] * 3 and counters["answered"] >= 3
    # nothing listens any more: the RST proves the path just as well
    rounds, _late, _counters = probe(net.router, rounds=2, device="wan2", mark=0x200, family="ipv4", method="tcp",
                                     port=8443, targets=[INET])
    assert answered(rounds) == [[True]] * 2
    net.isp[2].run("nft", "add", "rule", "ip", "isp", "forward", "iifname", "cust", "drop")
    rounds, _late, counters = probe(net.router, rounds=2, device="wan2", mark=0x200, family="ipv4", method="tcp",
                                    port=8443, targets=[INET])
    assert answered(rounds) == [[False]] * 2 and counters["answered"] == 0


def test_answers_after_the_timeout_are_late_answers(net):
    net.inet.run("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
    with Inside(net.inet, "slow-echo", {"delay": 1.2}) as echo:
        assert echo.read(10) == {"ready": True}
        rounds, late, counters = probe(net.router, rounds=8, device="wan2", mark=0x200, family="ipv4", targets=[INET])
    assert answered(rounds) == [[False]] * 8
    assert late and set(late) == {0}          # the slow answers arrived, after their rounds were judged
    assert counters["answered"] >= len(late)


def test_icmpv6_probes_leave_by_their_wan_through_its_mark():
    with Netns("mwr6") as router, Netns("mwp6") as isp:
        sh("ip", "link", "add", "wan6", "netns", router.name, "type", "veth", "peer", "name", "cust6", "netns", isp.name)
        router.ip("link", "set", "wan6", "up")
        isp.ip("link", "set", "cust6", "up")
        router.ip("-6", "addr", "add", "2001:db8:6::2/64", "dev", "wan6", "nodad")
        isp.ip("-6", "addr", "add", "2001:db8:6::1/64", "dev", "cust6", "nodad")
        isp.ip("-6", "addr", "add", "2001:db8:ff::1/128", "dev", "lo")
        router.ip("-6", "route", "add", "default", "via", "2001:db8:6::1", "dev", "wan6", "table", "106")
        router.ip("-6", "rule", "add", "pref", "1106", "fwmark", "0x600/0xff00", "lookup", "106")
        rounds, _late, counters = probe(router, rounds=3, device="wan6", mark=0x600, family="ipv6",
                                        targets=["2001:db8:ff::1", "2001:db8:6::1"])
        assert answered(rounds) == [[True, True]] * 3 and counters["answered"] >= 6
        rounds, _late, _counters = probe(router, rounds=2, device="wan6", mark=0, family="ipv6",
                                         targets=["2001:db8:ff::1"])
        assert answered(rounds) == [[False]] * 2      # no mark, no route beyond the link
