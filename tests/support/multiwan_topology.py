"""A two-WAN router in network namespaces, and small traffic tools that run inside them.

::

    client (lan0 192.168.10.2) -- lan0 router wan1 -- cust isp1 uplink -- isp1 inet  (203.0.113.10 on lo)
                                        wan2 -- cust isp2 uplink -- isp2 /

Each ISP forwards only packets from its own customer subnet (100.64.1.0/24, 100.64.2.0/24):
anything else coming from the router is counted in the ISP's ``spoofed`` counter and
dropped, so a packet that leaves by the wrong WAN is lost and counted, never delivered.
The inet host routes each customer subnet back through its ISP. The router forwards,
has ``rp_filter`` off, a default route via ISP1, and nothing else: policy routing is
what a test sets up (``pbr_routes``), so the topology serves every PBR test.

Traffic: ``Server`` (TCP echo/sink and UDP echo on one port) and ``Agent`` (a client that
holds many connections open across a test) run this file as a script inside a
namespace; they speak JSON lines and use timeouts everywhere, so nothing hangs.
Everything stays inside the namespaces made here.
"""

import contextlib
import json
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time

ROUTER_LAN, CLIENT = "192.168.10.1", "192.168.10.2"
LAN = "192.168.10.0/24"
ROUTER_WAN = {1: "100.64.1.2", 2: "100.64.2.2"}
ISP_GATEWAY = {1: "100.64.1.1", 2: "100.64.2.1"}
CUSTOMER = {1: "100.64.1.0/24", 2: "100.64.2.0/24"}
UPLINK = {1: ("10.255.1.1", "10.255.1.2"), 2: ("10.255.2.1", "10.255.2.2")}     # (isp side, inet side)
INET = "203.0.113.10"
WAN_DEVICE = {1: "wan1", 2: "wan2"}
WAN_TABLE = {1: 101, 2: 102}


class Topology(object):
    """The namespaces and links above; ``with Topology() as net:`` builds it and removes it afterwards."""

    def __init__(self):
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        from support.netns import Netns
        try:
            self.router, self.client, self.inet = (self._stack.enter_context(Netns(prefix)) for prefix in ("mwr", "mwc", "mwi"))
            self.isp = dict((number, self._stack.enter_context(Netns("mwp%d" % number))) for number in (1, 2))
            self._build()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def _build(self):
        # a new namespace may inherit the host's rp_filter; the ISPs' own filter must be what drops
        for netns in (self.router, self.client, self.inet, self.isp[1], self.isp[2]):
            netns.run("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
        self.router.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.router.veth("lan0", "lan0", self.client)
        self.router.ip("addr", "add", ROUTER_LAN + "/24", "dev", "lan0")
        self.client.ip("addr", "add", CLIENT + "/24", "dev", "lan0")
        self.client.ip("route", "add", "default", "via", ROUTER_LAN)
        self.inet.ip("addr", "add", INET + "/32", "dev", "lo")
        for number in (1, 2):
            self._build_isp(number)
        self.router.ip("route", "add", "default", "via", ISP_GATEWAY[1], "dev", WAN_DEVICE[1])

    def _build_isp(self, number):
        isp, isp_side, inet_side = self.isp[number], UPLINK[number][0], UPLINK[number][1]
        isp.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.router.veth(WAN_DEVICE[number], "cust", isp)
        self.router.ip("addr", "add", ROUTER_WAN[number] + "/24", "dev", WAN_DEVICE[number])
        isp.ip("addr", "add", ISP_GATEWAY[number] + "/24", "dev", "cust")
        isp.veth("uplink", "isp%d" % number, self.inet)
        isp.ip("addr", "add", isp_side + "/30", "dev", "uplink")
        self.inet.ip("addr", "add", inet_side + "/30", "dev", "isp%d" % number)
        isp.ip("route", "add", INET + "/32", "via", inet_side)
        self.inet.ip("route", "add", CUSTOMER[number], "via", isp_side, "src", INET)
        isp.run("nft", "-f", "-", input=ISP_FILTER % CUSTOMER[number])

    # -- what tests set up on the router themselves

    def pbr_routes(self, mask="0xff00", marks=("0x100", "0x200")):
        """A default route per WAN table and ``fwmark <mark>/<mask> lookup <table>`` rules (test-owned)."""
        for number, mark in zip((1, 2), marks):
            self.router.ip("route", "replace", "default", "via", ISP_GATEWAY[number], "dev", WAN_DEVICE[number],
                           "table", str(WAN_TABLE[number]))
            self.router.ip("rule", "add", "pref", str(1000 + number), "fwmark", "%s/%s" % (mark, mask),
                           "lookup", str(WAN_TABLE[number]))

    def default_route(self, *numbers, weights=None):
        """The router's main default route: via one WAN, or a weighted multipath over several."""
        if len(numbers) == 1:
            self.router.ip("route", "replace", "default", "via", ISP_GATEWAY[numbers[0]], "dev", WAN_DEVICE[numbers[0]])
            return
        hops = []
        for number, weight in zip(numbers, weights or [1] * len(numbers)):
            hops += ["nexthop", "via", ISP_GATEWAY[number], "dev", WAN_DEVICE[number], "weight", str(weight)]
        self.router.ip("route", "replace", "default", *hops)

    def send_stray_echo_reply(self, source, destination):
        """An ICMP echo reply from the router that answers no request: conntrack calls it INVALID (seed 002)."""
        self.router.run(sys.executable, os.path.abspath(__file__), "stray-echo-reply", source, destination)

    def spoofed(self, number):
        """Packets ISP ``number`` dropped because their source was not its customer's: a wrong-WAN count."""
        listing = json.loads(self.isp[number].run("nft", "-j", "list", "counter", "ip", "isp", "spoofed"))
        return [entry["counter"]["packets"] for entry in listing["nftables"] if "counter" in entry][0]

    def conntrack_marks(self, source, port):
        """``{original source port: ct mark}`` of the router's TCP entries from ``source`` to ``port``."""
        out = self.router.run("conntrack", "-L", "-p", "tcp", "-s", source, "--dport", str(port), check=False)
        marks = {}
        for line in out.splitlines():
            fields = dict(word.split("=", 1) for word in line.split() if "=" in word and not word.startswith("["))
            words = [word for word in line.split() if word.startswith("sport=")]
            if words and "mark" in fields:
                marks[int(words[0].split("=")[1])] = int(fields["mark"])
        return marks


ISP_FILTER = """
table ip isp {
    counter spoofed {}
    chain forward {
        type filter hook forward priority filter; policy accept;
        iifname "cust" ip saddr != %s counter name "spoofed" drop
    }
}
"""


# ---------------------------------------------------------------------------
# Processes in a namespace, driven over JSON lines


class _Process(object):
    def __init__(self, netns, *argv):
        command = ["ip", "netns", "exec", netns.name, sys.executable, os.path.abspath(__file__)] + [str(a) for a in argv]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def read(self, timeout):
        readable = select.select([self.process.stdout], [], [], timeout)[0]
        if not readable:
            raise AssertionError("no answer from %s within %s s" % (self.process.args, timeout))
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError("%s exited (%s)" % (self.process.args, self.process.poll()))
        return json.loads(line)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


class Server(_Process):
    """TCP and UDP on ``port`` in ``netns``: a line is echoed back prefixed with the peer's address;
    ``SINK`` then bytes until EOF is answered with the byte count."""

    def __init__(self, netns, port):
        super(Server, self).__init__(netns, "serve", port)
        assert self.read(10) == {"ready": port}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Agent(_Process):
    """A client in ``netns`` that keeps connections open between requests."""

    def __init__(self, netns):
        super(Agent, self).__init__(netns, "agent")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def request(self, wait=15, **request):
        """Send one request; wait up to ``wait`` seconds for its answer."""
        self.process.stdin.write(json.dumps(request) + "\n")
        return self.read(wait)

    def connect(self, host, port, timeout=2.0):
        return self.request(op="connect", host=host, port=port, timeout=timeout)

    def echo(self, connection, text="ping"):
        return self.request(op="echo", id=connection, text=text)

    def udp(self, host, port, timeout=2.0):
        return self.request(op="udp", host=host, port=port, timeout=timeout)

    def start_stream(self, host, port, seconds):
        return self.request(op="stream_start", host=host, port=port, seconds=seconds)

    def wait_stream(self, timeout=30):
        return self.request(wait=timeout, op="stream_wait")


# ---------------------------------------------------------------------------
# The script side (runs inside a namespace)


def _serve(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(64)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    threading.Thread(target=_udp_echo, args=(udp,), daemon=True).start()
    print(json.dumps({"ready": port}), flush=True)
    while True:
        connection, peer = listener.accept()
        threading.Thread(target=_answer, args=(connection, peer), daemon=True).start()


def _udp_echo(udp):
    while True:
        data, peer = udp.recvfrom(2048)
        udp.sendto(("%s %s" % (peer[0], data.decode())).encode(), peer)


def _answer(connection, peer):
    connection.settimeout(30)
    reader = connection.makefile("rb")
    try:
        for line in reader:
            if line.strip() == b"SINK":
                total = 0
                while True:
                    chunk = reader.read1(65536)
                    if not chunk:
                        break
                    total += len(chunk)
                connection.sendall(b"%d\n" % total)
                return
            connection.sendall(b"%s %s" % (peer[0].encode(), line))
    except OSError:
        pass
    finally:
        connection.close()


class _AgentState(object):
    def __init__(self):
        self.connections, self.stream = {}, None

    def handle(self, request):
        handler = getattr(self, "op_" + request.pop("op"))
        try:
            return handler(**request)
        except (OSError, ValueError) as error:
            return {"error": type(error).__name__, "detail": str(error)}

    def op_connect(self, host, port, timeout):
        connection = socket.create_connection((host, port), timeout=timeout)
        number = len(self.connections)
        self.connections[number] = (connection, connection.makefile("rb"))
        return {"id": number, "sport": connection.getsockname()[1]}

    def op_echo(self, id, text):
        connection, reader = self.connections[id]
        connection.sendall(text.encode() + b"\n")
        reply = reader.readline()
        if not reply:
            raise ValueError("connection closed")
        return {"reply": reply.decode().strip()}

    def op_udp(self, host, port, timeout):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.settimeout(timeout)
        try:
            udp.connect((host, port))
            udp.send(b"hello")
            return {"reply": udp.recv(2048).decode()}
        finally:
            udp.close()

    def op_stream_start(self, host, port, seconds):
        self.stream = {"done": threading.Event()}
        threading.Thread(target=_stream, args=(self.stream, host, port, seconds), daemon=True).start()
        return {"started": True}

    def op_stream_wait(self):
        self.stream["done"].wait(60)
        return dict((key, value) for key, value in self.stream.items() if key != "done")


def _stream(result, host, port, seconds):
    """Send for ``seconds``; the server's byte count must equal what was sent."""
    chunk, sent = b"x" * 8192, 0
    try:
        connection = socket.create_connection((host, port), timeout=5)
        connection.sendall(b"SINK\n")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            connection.sendall(chunk)
            sent += len(chunk)
            time.sleep(0.002)
        connection.shutdown(socket.SHUT_WR)
        received = int(connection.makefile("rb").readline() or b"-1")
        result.update(sent=sent, received=received)
    except (OSError, ValueError) as error:
        result.update(sent=sent, error="%s: %s" % (type(error).__name__, error))
    finally:
        result["done"].set()


def _stray_echo_reply(source, destination):
    header = struct.pack("!BBHHH", 0, 0, 0, 0x4d57, 1) + b"multiwan"      # type 0: echo reply
    words = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    checksum = ~((words & 0xFFFF) + (words >> 16)) & 0xFFFF
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    raw.bind((source, 0))
    raw.sendto(header[:2] + struct.pack("!H", checksum) + header[4:], (destination, 0))
    raw.close()


def _agent():
    state = _AgentState()
    for line in sys.stdin:
        print(json.dumps(state.handle(json.loads(line))), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        _serve(int(sys.argv[2]))
    elif sys.argv[1] == "agent":
        _agent()
    elif sys.argv[1] == "stray-echo-reply":
        _stray_echo_reply(sys.argv[2], sys.argv[3])
