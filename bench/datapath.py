"""Part 4: packets per second forwarded by a router namespace, with the ``nft_connmark`` table for 2, 8 and
32 WANs, against no table at all (and against a one-rule conntrack table, which separates the cost of
conntrack itself from the cost of the table).

::

    gen (lan0 192.168.10.2) -- lan0 router wan1 -- (wan1 100.64.1.1) sink

``iperf3`` (Debian's, installed by ``bench/setup.sh``) sends 64-byte UDP datagrams as fast as it can from
``gen`` to ``sink``; the rate is what arrived on the sink's link (its packet counter). On veth the forwarding runs in the sender's
context, so the router's per-packet cost (conntrack, the table's chains) shows in the rate. The WANs beyond
the first have devices that do not exist (``iifname``/``oifname`` match names), which is all the table needs.
Every configuration is measured once per round after a short unmeasured warm-up, each round in a rotated
order, so drift and order effects hit them alike.
Traffic stays inside the three namespaces made here.
"""

import json
import subprocess
import time

from common import Row, median, run_bare_module
from support.netns import Netns

GEN, ROUTER_LAN, ROUTER_WAN, SINK = "192.168.10.2", "192.168.10.1", "100.64.1.2", "100.64.1.1"
MASK, WAN1_MARK, WAN1_TABLE = "0xff00", "0x100", "101"
PAYLOAD_BYTES = 64
GOAL_PER_WAN = 1.10     # 8 and 32 WANs may cost at most 10 % more per packet than 2 (noise on shared cores)
# Rounds are cheap (a few seconds each) and the rate is the noisiest number of the bench, so more than other parts.
ROUNDS, BLAST_SECONDS, WARM_UP_SECONDS = 5, 3, 1

CONNTRACK_ONLY = """
table inet bench_conntrack {
    chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        ct state new counter
    }
}
"""


class Lab(object):
    """The three namespaces and an iperf3 server in ``sink``."""

    def __enter__(self):
        self.gen, self.router, self.sink = Netns("mwbg"), Netns("mwbr"), Netns("mwbs")
        for netns in (self.gen, self.router, self.sink):
            netns.__enter__()
        try:
            self._build()
            self.server = subprocess.Popen(["ip", "netns", "exec", self.sink.name, "iperf3", "-s", "-B", SINK],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        server = getattr(self, "server", None)
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
        for netns in (self.gen, self.router, self.sink):
            netns.__exit__()

    def _build(self):
        for netns in (self.gen, self.router, self.sink):
            netns.run("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
        self.router.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.router.veth("lan0", "lan0", self.gen)
        self.router.veth("wan1", "wan1", self.sink)
        self.router.ip("addr", "add", ROUTER_LAN + "/24", "dev", "lan0")
        self.router.ip("addr", "add", ROUTER_WAN + "/24", "dev", "wan1")
        self.gen.ip("addr", "add", GEN + "/24", "dev", "lan0")
        self.gen.ip("route", "add", "default", "via", ROUTER_LAN)
        self.sink.ip("addr", "add", SINK + "/24", "dev", "wan1")
        self.sink.ip("route", "add", "default", "via", ROUTER_WAN)
        # the routing that acts on the marks, present in every configuration (a no-op without the table)
        self.router.ip("route", "add", "default", "via", SINK, "dev", "wan1")
        self.router.ip("route", "add", "default", "via", SINK, "dev", "wan1", "table", WAN1_TABLE)
        self.router.ip("rule", "add", "priority", "1000", "fwmark", "%s/%s" % (WAN1_MARK, MASK), "lookup", WAN1_TABLE)

    def configure(self, configuration):
        """Load ``configuration``: ``None`` (no table), ``"conntrack"``, or a number of WANs for nft_connmark."""
        self.router.run("nft", "delete", "table", "inet", "bench_conntrack", check=False)
        if configuration == "conntrack":
            self.router.run("nft", "-f", "-", input=CONNTRACK_ONLY)
        wans = configuration if isinstance(configuration, int) else 0
        args = {"state": "present", "mask": MASK, "wans": wan_list(wans)} if wans else {"state": "absent"}
        run_bare_module("nft_connmark", args, self.router.name)
        self.router.run("conntrack", "-F", check=False)

    def blast(self, seconds):
        """Datagrams per second the router forwarded to the sink during ``seconds`` of an unthrottled iperf3
        UDP stream, counted on the sink's link (the sink's own socket may drop some; the router did its work)."""
        before = self._sink_received()
        out = self.gen.run("iperf3", "-c", SINK, "-u", "-b", "0", "-l", str(PAYLOAD_BYTES), "-t", str(seconds), "-J")
        forwarded = self._sink_received() - before
        return forwarded / json.loads(out)["end"]["sum"]["seconds"]

    def _sink_received(self):
        return self.sink.ip_json("-s", "link", "show", "wan1")[0]["stats64"]["rx"]["packets"]

    def flow_mark(self):
        """The ct mark of the router's iperf3 UDP flow (0 when there is none or it is unmarked)."""
        out = self.router.run("conntrack", "-L", "-p", "udp", "-s", GEN, "-d", SINK, check=False)
        marks = [int(word.split("=")[1]) for line in out.splitlines() for word in line.split() if word.startswith("mark=")]
        return max(marks or [0])


def wan_list(count):
    """``count`` WANs; the first is the real one (``wan1``, mark 0x100), the others name absent devices.
    Marks are explicit: nft_connmark derives a missing one from the WAN's name."""
    return [{"name": "wan%d" % number, "device": "wan%d" % number, "mark": "%#x" % (number << 8)}
            for number in range(1, count + 1)]


CONFIGURATIONS = (None, "conntrack", 2, 8, 32)


def run(settings):
    seconds, rounds = (1, 1) if settings.quick else (BLAST_SECONDS, max(settings.runs, ROUNDS))
    samples = {configuration: [] for configuration in CONFIGURATIONS}
    marks = {}
    with Lab() as lab:
        for number in range(rounds):
            for configuration in rotated(CONFIGURATIONS, number):
                lab.configure(configuration)
                if not settings.quick:
                    lab.blast(WARM_UP_SECONDS)          # conntrack entry, neighbours, caches: not measured
                samples[configuration].append(lab.blast(seconds))
                marks[configuration] = lab.flow_mark()
        lab.configure(None)
    _check_marks(marks)
    return _rows({configuration: median(values) for configuration, values in samples.items()}, samples, seconds), []


def rotated(items, number):
    """Each round starts with a different configuration, so no configuration always follows the same one."""
    shift = number % len(items)
    return items[shift:] + items[:shift]


def _check_marks(marks):
    """Traffic is the truth: with the table the flow must carry WAN1's mark, without it none."""
    for configuration, mark in marks.items():
        wanted = int(WAN1_MARK, 16) if isinstance(configuration, int) else 0
        if mark & int(MASK, 16) != wanted:
            raise AssertionError("configuration %r: the flow's ct mark is %#x, expected %#x" % (configuration, mark, wanted))


def _label(configuration):
    if configuration is None:
        return "no table"
    if configuration == "conntrack":
        return "conntrack only (one `ct state new` rule)"
    return "nft_connmark, %d WANs" % configuration


def _rows(medians, samples, seconds):
    part, case = "4 nft data path", "UDP %d-byte datagrams, %d s" % (PAYLOAD_BYTES, seconds)
    none = _label(None)
    rows = [Row(part, case, none, medians[None], unit="pps", samples=samples[None])]
    for configuration in ("conntrack", 2, 8, 32):
        rows.append(Row(part, case, _label(configuration), medians[configuration], unit="pps", baseline=none,
                        baseline_value=medians[None], samples=samples[configuration]))
    two = _label(2)
    for configuration in (8, 32):
        rows.append(Row(part, case, _label(configuration), medians[configuration], unit="pps", baseline=two,
                        baseline_value=medians[2], goal=GOAL_PER_WAN, samples=samples[configuration]))
    return rows
