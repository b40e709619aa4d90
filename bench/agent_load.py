"""The agent's own cost: CPU and RSS of ``multiwan-pbr run`` tracking 8 WANs x 3 targets with the defaults.

    sudo .venv/bin/python bench/agent_load.py [--seconds 120] [--wans 8] [--targets 3]

``make bench`` part 6 (``bench/failover.py``) runs ``measure`` for 60 s and reports CPU and RSS against the goals.

::

    router (wan1..wan8: 10.8.N.2/24) ==== 8 veth pairs ==== inet (10.8.N.1/24; targets 198.18.N.1-3 on lo)

Each WAN has the role's layout for probes: a table ``100 + N`` with a default route via 10.8.N.1 and
``fwmark N<<8/0xff00 lookup 100+N``; every probe is answered. The agent runs with the logging applier
(issue 12's goal: <= 1 % of a core and <= 30 MB RSS). CPU is the agent's user + system time from
``/proc/<pid>/stat`` over the measured window, after a warm-up; RSS is the peak (``VmHWM``).
Everything happens in namespaces made here and removed afterwards.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import COLLECTIONS, PYTHON  # noqa: E402  (after the path above)
from support.netns import Netns, sh  # noqa: E402

MODULE = "ansible_collections.multiwan.pbr.plugins.module_utils.agent.cli"
WARM_UP = 5.0
GOAL_CPU_PERCENT, GOAL_RSS_MB = 1.0, 30.0      # issue 12, item 9


def build(router, inet, wans, targets):
    """The veth pairs, addresses, WAN tables and mark rules; returns the agent's configuration."""
    config = {"wans": []}
    for number in range(1, wans + 1):
        device = "wan%d" % number
        sh("ip", "link", "add", device, "netns", router.name, "type", "veth", "peer", "name", "isp%d" % number,
           "netns", inet.name)
        router.ip("link", "set", device, "up")
        inet.ip("link", "set", "isp%d" % number, "up")
        router.ip("addr", "add", "10.8.%d.2/24" % number, "dev", device)
        inet.ip("addr", "add", "10.8.%d.1/24" % number, "dev", "isp%d" % number)
        router.ip("route", "add", "default", "via", "10.8.%d.1" % number, "dev", device, "table", str(100 + number))
        router.ip("rule", "add", "pref", str(1100 + number), "fwmark", "0x%x/0xff00" % (number << 8),
                  "lookup", str(100 + number))
        addresses = ["198.18.%d.%d" % (number, target) for target in range(1, targets + 1)]
        for address in addresses:
            inet.ip("addr", "add", address + "/32", "dev", "lo")
        config["wans"].append({"name": device, "device": device, "mark": number << 8, "gateway": "10.8.%d.1" % number,
                               "track": {"targets": addresses}})
    return config


def measure(seconds, wans, targets):
    """(cpu percent of one core, peak RSS in MB, probes sent per second, transitions) of one agent run."""
    # the status file goes to a tmpfs, as /run/multiwan-pbr is on a router (here /run is on disk)
    with Netns("mwlr") as router, Netns("mwli") as inet, tempfile.TemporaryDirectory(dir="/dev/shm") as directory:
        config = build(router, inet, wans, targets)
        config_path, status_path = os.path.join(directory, "agent.json"), os.path.join(directory, "status.json")
        with open(config_path, "w") as handle:
            json.dump(config, handle)
        agent = subprocess.Popen(["ip", "netns", "exec", router.name, PYTHON, "-m", MODULE, "run", "--config",
                                  config_path, "--status-file", status_path],
                                 stdout=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=COLLECTIONS))
        try:
            time.sleep(WARM_UP)
            ticks, started, sent = _cpu_ticks(agent.pid), time.monotonic(), _sent(status_path)
            time.sleep(seconds)
            ticks, elapsed = _cpu_ticks(agent.pid) - ticks, time.monotonic() - started
            rss = _peak_rss_mb(agent.pid)
            time.sleep(0.1 + 5.0)               # the status is written every 5 s: read a fresh one
            status = _read(status_path)
            probes = (_sent(status_path) - sent) / (elapsed + 5.1)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=10)
    cpu = 100.0 * ticks / os.sysconf("SC_CLK_TCK") / elapsed
    transitions = sum(wan["transitions"] for wan in status["wans"])
    return cpu, rss, probes, transitions


def _cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])        # utime, stime (fields 14 and 15 of proc(5))


def _peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmHWM for %d" % pid)


def _read(path):
    with open(path) as handle:
        return json.load(handle)


def _sent(path):
    return sum(family["probes"]["sent"] for wan in _read(path)["wans"] for family in wan["families"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--wans", type=int, default=8)
    parser.add_argument("--targets", type=int, default=3)
    options = parser.parse_args(argv)
    cpu, rss, probes, transitions = measure(options.seconds, options.wans, options.targets)
    print("agent, %d WANs x %d targets, %.0f s after a %.0f s warm-up (%s, %d cores)"
          % (options.wans, options.targets, options.seconds, WARM_UP, sys.version.split()[0], os.cpu_count()))
    print("  CPU        %.2f %% of one core   (goal <= %.0f %%)" % (cpu, GOAL_CPU_PERCENT))
    print("  peak RSS   %.1f MB              (goal <= %.0f MB)" % (rss, GOAL_RSS_MB))
    print("  probes     %.0f sent per second; %d transitions (expected 0)" % (probes, transitions))
    return 0 if cpu <= GOAL_CPU_PERCENT and rss <= GOAL_RSS_MB and transitions == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
