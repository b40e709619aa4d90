"""Part 4: what a router namespace's kernel spends per forwarded packet (CPU microseconds), with the
``nft_connmark`` table for 2, 8 and 32 WANs, against no table at all (and against a one-rule conntrack table,
which separates the cost of conntrack itself from the cost of the table), and against the rulesets users run
instead at the same sizes:

- the nftables field note (seed 001): restore ``ct mark`` into ``meta mark`` in prerouting and output for
  established/related packets, and ``ct mark set`` for new connections in postrouting (by ``oifname``) and in
  input (by ``iifname``), one rule per WAN in each, with the note's counters and hook priorities;
- an mwan3-style iptables ruleset (seed 002), loaded with ``iptables-nft-restore`` (iptables' matches and
  targets through ``nft_compat``): in PREROUTING and OUTPUT, ``CONNMARK --restore-mark`` for RELATED,ESTABLISHED,
  new unmarked connections through a chain with one ``MARK`` rule per WAN (each WAN's destinations), then
  ``CONNMARK --save-mark``; marks masked with the same 0xff00.

Every ruleset gives WAN1 the mark 0x100, so the flow takes the same route (``ip rule fwmark 0x100/0xff00``) and
the router does the same routing work under each; the bench checks that the flow carries that mark.

::

    gen (lan0 192.168.10.2) -- lan0 router wan1 -- (wan1 100.64.1.1) sink

``iperf3`` (Debian's, installed by ``bench/setup.sh`` with ``iptables``) sends 64-byte UDP datagrams as fast as
it can from ``gen`` to ``sink``. On veth the forwarding runs in the sender's context, so the router's per-packet
work (conntrack, the rulesets' chains) is charged to the sender: the cost is the sender's CPU time (plus
ksoftirqd's) over the datagrams that arrived on the sink's link (its packet counter); the rate, which moves far
more with other load on shared cores, is kept in the notes. The WANs beyond the first have devices that do not
exist (``iifname``/``oifname`` match names), which is all the rulesets need. Every configuration is measured once
per round after a short unmeasured warm-up, each round in a rotated order, so drift and order effects hit them alike.
Traffic stays inside the three namespaces made here.
"""

import functools
import json
import os
import resource
import subprocess
import time

from common import Row, median, run_bare_module
from support.netns import Netns

GEN, ROUTER_LAN, ROUTER_WAN, SINK = "192.168.10.2", "192.168.10.1", "100.64.1.2", "100.64.1.1"
GEN_NETWORK = "192.168.10.0/24"
MASK, WAN1_MARK, WAN1_TABLE = "0xff00", "0x100", "101"
PAYLOAD_BYTES = 64
GOAL_PER_WAN = 1.10     # 8 and 32 WANs may cost at most 10 % more per packet than 2 (noise on shared cores)
GOAL_AGAINST_ALTERNATIVES = 1.0     # nft_connmark costs no more per packet than the field note's or mwan3's ruleset
SIZES = (2, 8, 32)
# Rounds are cheap (a few seconds each) and the data path is the noisiest part of the bench, so more than others.
ROUNDS, BLAST_SECONDS, WARM_UP_SECONDS = 5, 3, 1
SMOKE_DATAGRAMS = 5000

CONNTRACK_ONLY = """
table inet bench_conntrack {
    chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        ct state new counter
    }
}
"""


FIELD_NOTE_TABLE, IPTABLES_TABLE = ("inet", "mangle"), ("ip", "mangle")     # what the two alternatives create


def field_note_ruleset(wans):
    """Seed 001's ``table inet mangle`` for ``wans`` WANs: restore in prerouting and output, one ``ct mark set``
    rule per WAN in input (by ingress) and postrouting (by egress); its chains, priorities and counters."""
    marks = [(number, wan_mark(number)) for number in range(1, wans + 1)]
    input_rules = "".join('        iifname "wan%d" ct state new ct mark set %s counter\n' % pair for pair in marks)
    postrouting_rules = "".join('        oifname "wan%d" ct state new ct mark set %s counter\n' % pair for pair in marks)
    return ("table inet mangle {\n"
            "    chain prerouting {\n"
            "        type filter hook prerouting priority mangle; policy accept;\n"
            "        ct state { established, related } meta mark set ct mark counter\n"
            "    }\n"
            "    chain input-ct-mark {\n"
            "        type filter hook input priority mangle; policy accept;\n" + input_rules +
            "    }\n"
            "    chain postrouting-ct-mark {\n"
            "        type filter hook postrouting priority filter; policy accept;\n" + postrouting_rules +
            "    }\n"
            "    chain output {\n"
            "        type filter hook output priority mangle; policy accept;\n"
            "        ct state { established, related } meta mark set ct mark counter\n"
            "    }\n"
            "}\n")


def mwan3_ruleset(wans):
    """An ``iptables-restore`` mangle table in the shape of seed 002 (and mwan3's hook chain): restore the
    connection's mark for RELATED,ESTABLISHED packets, classify new unmarked connections with one MARK rule per
    WAN (each WAN's destinations: 100.64.<n>.0/24, so WAN1's is the sink's network), save the mark."""
    mark_rules = "".join("-A mwan_rules -d 100.64.%d.0/24 -m mark --mark 0x0/%s -j MARK --set-xmark %s/%s\n"
                         % (number, MASK, wan_mark(number), MASK) for number in range(1, wans + 1))
    return ("*mangle\n"
            ":mwan_hook - [0:0]\n"
            ":mwan_rules - [0:0]\n"
            "-A PREROUTING -j mwan_hook\n"
            "-A OUTPUT -j mwan_hook\n"
            "-A mwan_hook -m state --state RELATED,ESTABLISHED -j CONNMARK --restore-mark --nfmask %(mask)s --ctmask %(mask)s\n"
            "-A mwan_hook -m mark --mark 0x0/%(mask)s -m state --state NEW -j mwan_rules\n"
            "-A mwan_hook -j CONNMARK --save-mark --nfmask %(mask)s --ctmask %(mask)s\n" % {"mask": MASK}
            + mark_rules + "COMMIT\n")


def wan_mark(number):
    """WAN ``number``'s mark under the 0xff00 mask, as nft_connmark numbers them (WAN1: 0x100)."""
    return "%#x" % (number << 8)


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
        # The LAN in WAN1's table too, as the field note advises: the alternatives restore the mark on replies that
        # arrive from the WAN as well (nft_connmark does not), and those must still reach the LAN.
        self.router.ip("route", "add", GEN_NETWORK, "dev", "lan0", "table", WAN1_TABLE)
        self.router.ip("rule", "add", "priority", "1000", "fwmark", "%s/%s" % (WAN1_MARK, MASK), "lookup", WAN1_TABLE)

    def configure(self, configuration):
        """Load ``configuration`` (a ``Ruleset``) after removing whatever the previous one loaded."""
        for family, table in (("inet", "bench_conntrack"), FIELD_NOTE_TABLE, IPTABLES_TABLE):
            self.router.run("nft", "delete", "table", family, table, check=False)
        kind, wans = configuration
        if kind == "conntrack":
            self.router.run("nft", "-f", "-", input=CONNTRACK_ONLY)
        elif kind == "field note":
            self.router.run("nft", "-f", "-", input=field_note_ruleset(wans))
        elif kind == "mwan3":
            self.router.run("iptables-nft-restore", input=mwan3_ruleset(wans))
        args = {"state": "present", "mask": MASK, "wans": wan_list(wans)} if kind == "nft_connmark" else {"state": "absent"}
        run_bare_module("nft_connmark", args, self.router.name)
        self.router.run("conntrack", "-F", check=False)

    def blast(self, seconds=None, datagrams=None):
        """``(CPU microseconds per datagram, datagrams per second)`` of an unthrottled iperf3 UDP stream of
        ``seconds`` (or of ``datagrams``, for smoke runs) through the router, both per datagram that reached the
        sink's link (its packet counter: the sink's own socket may drop some; the router did its work).

        The CPU time is the sender's (user + system, which on veth includes forwarding through the router and
        delivery to the sink, run in its context) plus what ksoftirqd ran meanwhile (softirq work deferred
        there): the work the kernel did per packet, unlike the rate hardly moved by other load on shared cores."""
        length = ["-t", str(seconds)] if seconds else ["-k", str(datagrams)]
        before, softirq_before = self._sink_received(), _ksoftirqd_seconds()
        used_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = self.gen.run("iperf3", "-c", SINK, "-u", "-b", "0", "-l", str(PAYLOAD_BYTES), *length, "-J",
                           "--connect-timeout", "5000", check=False)
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds = (used.ru_utime - used_before.ru_utime + used.ru_stime - used_before.ru_stime
                       + _ksoftirqd_seconds() - softirq_before)
        forwarded = self._sink_received() - before
        report = json.loads(out)
        if "error" in report:
            raise RuntimeError("iperf3 through the router: %s" % report["error"])
        return cpu_seconds * 1e6 / forwarded, forwarded / report["end"]["sum"]["seconds"]

    def _sink_received(self):
        return self.sink.ip_json("-s", "link", "show", "wan1")[0]["stats64"]["rx"]["packets"]

    def flow_mark(self):
        """The ct mark of the router's iperf3 UDP flow (0 when there is none or it is unmarked)."""
        out = self.router.run("conntrack", "-L", "-p", "udp", "-s", GEN, "-d", SINK, check=False)
        marks = [int(word.split("=")[1]) for line in out.splitlines() for word in line.split() if word.startswith("mark=")]
        return max(marks or [0])


def _ksoftirqd_seconds():
    """CPU seconds all ksoftirqd threads have run (``/proc/<pid>/schedstat``, nanoseconds); 0 where unreadable."""
    total = 0
    for pid in _ksoftirqd_pids():
        try:
            with open("/proc/%s/schedstat" % pid) as handle:
                total += int(handle.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


@functools.lru_cache(maxsize=None)
def _ksoftirqd_pids():
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid) as handle:
                if handle.read().startswith("ksoftirqd/"):
                    pids.append(pid)
        except OSError:
            pass
    return tuple(pids)


def wan_list(count):
    """``count`` WANs; the first is the real one (``wan1``, mark 0x100), the others name absent devices.
    Marks are explicit: nft_connmark derives a missing one from the WAN's name."""
    return [{"name": "wan%d" % number, "device": "wan%d" % number, "mark": "%#x" % (number << 8)}
            for number in range(1, count + 1)]


class Ruleset(tuple):
    """``(kind, wans)``: kind is "none", "conntrack", "nft_connmark", "field note" or "mwan3"."""

    def __new__(cls, kind, wans=0):
        return tuple.__new__(cls, (kind, wans))

    @property
    def label(self):
        kind, wans = self
        return {"none": "no table", "conntrack": "conntrack only (one `ct state new` rule)",
                "nft_connmark": "nft_connmark, %d WANs" % wans,
                "field note": "field note ruleset (nft, seed 001), %d WANs" % wans,
                "mwan3": "mwan3-style ruleset (iptables-nft, seed 002), %d WANs" % wans}[kind]


NONE, CONNTRACK = Ruleset("none"), Ruleset("conntrack")
ALTERNATIVES = ("field note", "mwan3")
CONFIGURATIONS = (NONE, CONNTRACK) + tuple(Ruleset(kind, wans) for wans in SIZES
                                           for kind in ("nft_connmark",) + ALTERNATIVES)


def run(settings):
    # a smoke run sends a few thousand datagrams per ruleset: it proves each one loads, forwards and marks
    length, rounds = ({"datagrams": SMOKE_DATAGRAMS}, 1) if settings.quick else \
        ({"seconds": BLAST_SECONDS}, max(settings.runs, ROUNDS))
    costs = {configuration: [] for configuration in CONFIGURATIONS}
    rates = {configuration: [] for configuration in CONFIGURATIONS}
    marks = {}
    with Lab() as lab:
        for number in range(rounds):
            for configuration in rotated(CONFIGURATIONS, number):
                lab.configure(configuration)
                if not settings.quick:
                    lab.blast(WARM_UP_SECONDS)          # conntrack entry, neighbours, caches: not measured
                cost, rate = lab.blast(**length)
                costs[configuration].append(cost)
                rates[configuration].append(rate)
                marks[configuration] = lab.flow_mark()
        lab.configure(NONE)
    _check_marks(marks)
    case = "UDP %d-byte datagrams, %s" % (PAYLOAD_BYTES, "%d s" % length["seconds"] if "seconds" in length
                                          else "%d each" % length["datagrams"])
    return _rows(costs, rates, case), []


def rotated(items, number):
    """Each round starts with a different configuration, so no configuration always follows the same one."""
    shift = number % len(items)
    return items[shift:] + items[:shift]


def _check_marks(marks):
    """Traffic is the truth: with any marking ruleset the flow must carry WAN1's mark, without one none."""
    for configuration, mark in marks.items():
        wanted = 0 if configuration in (NONE, CONNTRACK) else int(WAN1_MARK, 16)
        if mark & int(MASK, 16) != wanted:
            raise AssertionError("%s: the flow's ct mark is %#x, expected %#x" % (configuration.label, mark, wanted))


def _rows(costs, rates, case):
    """One row per ruleset (CPU per datagram against no table, with its rate in the note), then the goal rows."""
    part = "4 nft data path"

    def row(configuration, baseline=None, goal=0.0, note=True):
        rate = "rate %.0f pps (median; samples %s)" % (
            median(rates[configuration]), ", ".join("%.0f" % value for value in rates[configuration]))
        return Row(part, case, configuration.label, median(costs[configuration]), unit="us", samples=costs[configuration],
                   baseline=baseline.label if baseline else "",
                   baseline_value=median(costs[baseline]) if baseline else 0.0, goal=goal, note=rate if note else "")

    rows = [row(NONE)] + [row(configuration, NONE) for configuration in CONFIGURATIONS[1:]]
    two = Ruleset("nft_connmark", 2)
    rows += [row(Ruleset("nft_connmark", wans), two, GOAL_PER_WAN, note=False) for wans in SIZES[1:]]
    rows += [row(Ruleset("nft_connmark", wans), Ruleset(kind, wans), GOAL_AGAINST_ALTERNATIVES, note=False)
             for kind in ALTERNATIVES for wans in SIZES]
    return rows
