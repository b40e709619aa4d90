"""Part 6: failover. How long new connections take to leave a failed WAN on the podman lab, whether 10 % random
loss takes a WAN down, and what the agent costs with 8 WANs x 3 targets.

**Rerouting, per fault kind.** A lab of the bench's own (``lab/lab.py --prefix mwfailover``, removed afterwards),
converged by ``playbooks/site.yml`` (the installed collection's) with the lab's group_vars: two probe targets per
family on each WAN, every other track setting the default, except ``hold: 1`` and ``hold_max: 1`` so that wan2
is back a second after each fault is cleared (the hold does not enter the time to reroute). The LAN client opens
a new TCP connection every 50 ms (``lab/traffic.py`` FlowWatch: a connection counts for a WAN only when its first
SYN went there). Each trial waits until new connections use wan2 again, then a random 0.5-1.5 s so the fault falls
at a random point of a probe round, makes the fault on isp2's side (``lab/faults.py``), and measures from just
before the fault to the first of the new connections after which every one, for a second, used wan1. Kinds:
``link-down`` (carrier loss), ``gateway-dead`` (the gateway answers nothing, ARP included), ``blackhole`` (the
upstream dead behind a live gateway). The agent's own verdict (the ``since`` of wan2's IPv4 family going down in
its status) is in the notes. Goals (issue 12): a dead upstream rerouted in <= 3 s median, carrier loss in <= 1 s.

**The anchors' documented defaults**, side by side (derived from their defaults, not measured here):

- OpenWrt mwan3, ``mwan3track`` options ``interval`` 10 s, ``down`` 5, ``timeout`` 4 s (defaults in mwan3track):
  five failed checks, each waiting its 4 s before the next 10 s sleep, the first starting 0-10 s after the fault:
  60-70 s, 65 s in the middle.
- MikroTik RouterOS ``check-gateway``, ``/routing settings`` ``check-gateway-ping-interval`` 10 s,
  ``check-gateway-ping-count`` 2, ``check-gateway-ping-timeout`` 1 s: two missed probes 10 s apart, the first
  0-10 s after the fault: 11-21 s, 16 s in the middle. It probes the gateway itself, so an upstream dead behind a
  live gateway is never seen.
- dpinger (pfSense and OPNsense gateway monitoring), ``-s`` 500 ms between probes, ``-l`` a probe lost after 4 x
  the send interval, ``-t`` loss averaged over 60 s; pfSense and OPNsense raise the alarm at 20 % loss (their
  gateway's high packet-loss threshold): 20 % of 60 s is 12 s of silence, plus the 2 s before a probe counts as
  lost: 14 s.

**False failovers**: 10 % random loss on both WANs at once (``lab/faults.py`` ``loss``: what the router sends into
the ISP) for LOSS_SECONDS; the transitions the agent counts over that time (goal: 0).

**The agent's cost**: ``bench/agent_load.py`` (8 WANs x 3 targets in network namespaces, the defaults, every probe
answered): CPU as a share of one core and peak RSS (goals: <= 1 % and <= 30 MB).
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime

import yaml

from common import BIN, INSTALLED, ROOT, Row, median, playbook_env

sys.path.insert(0, ROOT)

import agent_load  # noqa: E402  (bench/ is on the path: run.py's directory)
from lab import containers, faults, topology, traffic  # noqa: E402  (ROOT on the path above)
from lab.lab import render_inventory  # noqa: E402

PART = "6 failover"
PREFIX = "mwfailover"
SITE = os.path.join(INSTALLED, "playbooks", "site.yml")
LAB_VARS = os.path.join(ROOT, "lab", "group_vars", "linux_routers.yml")
PORT = 8080
KINDS = (("link-down", "carrier loss (link-down)"), ("gateway-dead", "dead gateway (gateway-dead)"),
         ("blackhole", "dead upstream behind a live gateway (blackhole)"))
GOALS = {"link-down": 1.0, "blackhole": 3.0}            # issue 12, item 9: seconds, median
TRIALS, QUICK_TRIALS = 10, 1
LOSS_SECONDS, QUICK_LOSS_SECONDS = 120, 5
LOAD_SECONDS, QUICK_LOAD_SECONDS = 60, 3
SETTLED_SPAN = 1.0          # every new connection on wan1 for this long: rerouted
# (name, what its defaults are and where they are documented, seconds from a fault to its verdict, faults it sees)
ANCHORS = (
    ("mwan3 defaults", "OpenWrt mwan3, mwan3track defaults interval 10 s, down 5, timeout 4 s: 5 failed checks "
     "14 s apart, the first 0-10 s after the fault (60-70 s)", 65.0, ("gateway-dead", "blackhole")),
    ("RouterOS check-gateway defaults", "MikroTik RouterOS /routing settings check-gateway-ping-interval 10 s, "
     "-ping-count 2, -ping-timeout 1 s: 2 missed probes 10 s apart (11-21 s); it probes the gateway only, "
     "a dead upstream behind a live gateway is never seen", 16.0, ("gateway-dead",)),
    ("dpinger defaults + 20 % loss alarm", "dpinger -s 500 ms, -l 4 x -s, -t 60 s averaging; pfSense/OPNsense "
     "high packet-loss threshold 20 %: 12 s of a 60 s window lost + 2 s before a probe counts as lost",
     14.0, ("gateway-dead", "blackhole")),
)


class FailoverLab(object):
    """A lab of the bench's own, converged by site.yml with the lab's group_vars and hold 1 s."""

    def __enter__(self):
        subprocess.run([os.path.join(ROOT, "lab", "build-image.sh")], check=True, capture_output=True)
        self.lab = topology.load(PREFIX)
        self.directory = tempfile.mkdtemp(prefix="mwfailover-")
        containers.up(self.lab)
        try:
            self._converge()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        containers.down(self.lab)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _converge(self):
        with open(LAB_VARS) as handle:
            variables = yaml.safe_load(handle)
        variables["multiwan_wans"] = [dict(wan, track=dict(wan["track"], hold=1, hold_max=1))
                                      for wan in variables["multiwan_wans"]]
        inventory = os.path.join(self.directory, "inventory.yml")
        with open(inventory, "w") as handle:
            handle.write(render_inventory(self.lab, os.path.join(ROOT, "lab")))
        os.mkdir(os.path.join(self.directory, "group_vars"))
        with open(os.path.join(self.directory, "group_vars", "linux_routers.yml"), "w") as handle:
            yaml.safe_dump(variables, handle)
        completed = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, SITE, "--limit", "router"],
                                   capture_output=True, text=True, env=playbook_env(), check=False)
        report = json.loads(completed.stdout[completed.stdout.index("{"):]) if "{" in completed.stdout else None
        if report is None or report["stats"]["router"]["failures"]:
            raise RuntimeError("site.yml did not converge the failover lab (rc %d): %s"
                               % (completed.returncode, (completed.stdout + completed.stderr)[-2000:]))

    def status(self):
        """The agent's status document (``multiwan-pbr status --json`` on the router)."""
        completed = subprocess.run(["podman", "exec", self.lab.container("router"), "/usr/local/sbin/multiwan-pbr",
                                    "status", "--json"], capture_output=True, text=True, check=True)
        return json.loads(completed.stdout)

    def family(self, wan, family="ipv4"):
        entry = next(item for item in self.status()["wans"] if item["name"] == wan)
        return next(item for item in entry["families"] if item["family"] == family)

    def wait_clean(self, timeout=60):
        """Until every WAN is up with no loss in its window (the last fault's lost probes are 20 s behind)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(wan["state"] == "up" and not wan["loss"] for wan in self.status()["wans"]):
                return
            time.sleep(1)
        raise RuntimeError("the failover lab's WANs are not all up and clean: %s" % self.status()["wans"])

    def transitions(self):
        return sum(wan["transitions"] for wan in self.status()["wans"])


def reroute_trials(bench, trials, rng):
    """{kind: ([seconds to rerouted new flows], [seconds to the agent's verdict])}."""
    lab, results = bench.lab, {}
    with traffic.running_server(lab, "inet", port=PORT, lifetime=3600), \
            traffic.FlowWatch(lab, "client", lab.service(), PORT, lifetime=3600) as watch:
        for kind, _label in KINDS:
            rerouted, verdicts = [], []
            for _trial in range(trials):
                watch.wait_first(_on("wan2"), since=time.monotonic(), timeout=60)
                time.sleep(rng.uniform(0.5, 1.5))
                wall = time.time() - time.monotonic()     # monotonic -> epoch seconds
                fault = faults.inject(lab, "wan2", kind)
                try:
                    moved = watch.wait_settled(_on("wan1"), since=fault.started, span=SETTLED_SPAN, timeout=60)
                    down = bench.family("wan2")
                finally:
                    faults.clear(lab, "wan2")
                rerouted.append(moved - fault.started)
                verdicts.append(_epoch(down["since"]) - (fault.started + wall))
            results[kind] = (rerouted, verdicts)
    return results


def loss_run(bench, seconds):
    """(transitions during ``seconds`` of 10 % loss on both WANs, the loss the agent reported at the end per WAN)."""
    lab = bench.lab
    bench.wait_clean()
    for wan in ("wan1", "wan2"):
        faults.inject(lab, wan, "loss", 10)
    try:
        before = bench.transitions()
        time.sleep(seconds)
        after = bench.transitions()
        seen = dict((wan["name"], wan["loss"]) for wan in bench.status()["wans"])
    finally:
        faults.clear_all(lab)
    return after - before, seen


def run(settings):
    trials = QUICK_TRIALS if settings.quick else TRIALS
    loss_seconds = QUICK_LOSS_SECONDS if settings.quick else LOSS_SECONDS
    with FailoverLab() as bench:
        # the loss run first: the faults' lost probes would stay in the loss window for 20 s
        false_downs, seen_loss = loss_run(bench, loss_seconds)
        results = reroute_trials(bench, trials, random.Random(12))
    cpu, rss, probes, load_transitions = agent_load.measure(QUICK_LOAD_SECONDS if settings.quick else LOAD_SECONDS,
                                                            wans=8, targets=3)
    rows = []
    for kind, label in KINDS:
        rows += _reroute_rows(kind, label, *results[kind])
    rows += _anchor_rows()
    rows.append(Row(PART, "10 %% random loss on both WANs, %d s" % loss_seconds,
                    "the agent's transitions (false failovers)", false_downs, unit="transitions", limit=0,
                    note="loss the agent reported at the end: %s" % ", ".join(
                        "%s %.0f %%" % item for item in sorted(seen_loss.items()))))
    load_note = "%.0f probes sent per second; %d transitions (every probe is answered)" % (probes, load_transitions)
    rows.append(Row(PART, "agent, 8 WANs x 3 targets", "CPU", cpu, unit="%", limit=agent_load.GOAL_CPU_PERCENT,
                    note=load_note))
    rows.append(Row(PART, "agent, 8 WANs x 3 targets", "peak RSS (VmHWM)", rss, unit="MB", limit=agent_load.GOAL_RSS_MB))
    return rows, []


def _reroute_rows(kind, label, rerouted, verdicts):
    note = "agent's verdict (its status) %.2f s median, %.2f s max; %d trials" % (
        median(verdicts), max(verdicts), len(rerouted))
    rows = [Row(PART, label, "new flows rerouted (by traffic), median", median(rerouted), samples=rerouted,
                limit=GOALS.get(kind), note=note),
            Row(PART, label, "new flows rerouted (by traffic), max", max(rerouted))]
    for name, _documented, seconds, kinds in ANCHORS:
        if kind in kinds:
            rows.append(Row(PART, label, "new flows rerouted (by traffic), median", median(rerouted),
                            baseline=name + " (derived, not measured)", baseline_value=seconds))
    return rows


def _anchor_rows():
    return [Row(PART, "anchors' documented defaults", name, seconds, note=documented)
            for name, documented, seconds, _kinds in ANCHORS]


def _on(wan):
    """A FlowWatch predicate: the connection used ``wan``."""
    return lambda attempt: attempt.wan == wan


def _epoch(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
