"""How fast the agent notices a failure, with its defaults: median and max over repeated real faults.

    sudo .venv/bin/python bench/agent_detection.py [--trials 10]

(``make bench`` part 6, ``bench/failover.py``, measures the whole failover on the podman lab by traffic: new flows
rerouted, the engines' apply included. This script isolates the agent's detection in namespaces.)

The two-WAN topology of ``tests/support/multiwan_topology.py`` with the role's mark rules; the agent
runs with the logging applier (so this is detection, not rerouting: the engines' apply comes on top).
Fault kinds, made on the ISP side:

* dead upstream behind a live gateway, wan1 probing 1 target and wan2 probing 2 (nft drops everything
  the ISP would forward for its customer; the gateway still answers ARP)
* carrier loss on wan2 (the ISP's end of the link goes down)

Each trial waits for the WAN to be up again and then a random 0.5-1.5 s, so faults fall at random
points of a probe round. The time is from just before the fault command to the transition's ``since``
in the status file. Issue 12's goals: rerouted in <= 3 s median (dead upstream), <= 1 s (carrier); its
anchors' defaults take roughly 10-50 s (mwan3: 10 s interval, down 5; RouterOS check-gateway: 10 s
probes, 2 misses; dpinger: loss averaged over 60 s).
Everything happens in namespaces made here and removed afterwards.
"""

import argparse
import os
import platform
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (also puts tests/ and the collection on the path)
from integration.agent.agent_process import AgentProcess  # noqa: E402
from support.multiwan_topology import ISP_GATEWAY, UPLINK, Topology  # noqa: E402

from ansible_collections.multiwan.pbr.plugins.module_utils.agent.status import parse_iso  # noqa: E402

TARGETS = {1: ["203.0.113.10"], 2: ["203.0.113.10", UPLINK[2][1]]}
GOALS = {"dead upstream": 3.0, "carrier loss": 1.0}


def config():
    # hold 1 s (and no doubling) only so that trials follow each other quickly; detection does not depend on it
    return {"wans": [{"name": "wan%d" % n, "device": "wan%d" % n, "mark": "0x%d00" % n, "gateway": ISP_GATEWAY[n],
                      "track": {"targets": TARGETS[n], "hold": 1, "hold_max": 1}} for n in (1, 2)]}


def blackhole(net, number):
    net.isp[number].run("nft", "add", "rule", "ip", "isp", "forward", "iifname", "cust", "drop")


def unblackhole(net, number):
    listing = net.isp[number].run("nft", "-a", "list", "chain", "ip", "isp", "forward")
    handle = [line.split("# handle ")[1].strip() for line in listing.splitlines() if "# handle" in line][-1]
    net.isp[number].run("nft", "delete", "rule", "ip", "isp", "forward", "handle", handle)


def carrier_down(net, number):
    net.isp[number].ip("link", "set", "cust", "down")


def carrier_up(net, number):
    net.isp[number].ip("link", "set", "cust", "up")


# (fault kind, WAN number, make it, repair it)
FAULTS = [("dead upstream", 1, blackhole, unblackhole), ("dead upstream", 2, blackhole, unblackhole),
          ("carrier loss", 2, carrier_down, carrier_up)]


def trials(count, rng):
    """{(kind, wan number): [seconds, ...]}."""
    results = {}
    with Topology() as net, tempfile.TemporaryDirectory(dir="/dev/shm") as directory:
        net.pbr_routes()
        with AgentProcess(net.router, config(), directory) as agent:
            for kind, number, make, repair in FAULTS:
                name = "wan%d" % number
                for _trial in range(count):
                    agent.wait_state(name, "up", timeout=60)
                    time.sleep(rng.uniform(0.5, 1.5))
                    fault = time.time()
                    make(net, number)
                    down = agent.wait_state(name, "down", timeout=30)
                    results.setdefault((kind, number), []).append(parse_iso(down["since"]) - fault)
                    repair(net, number)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=12)
    options = parser.parse_args(argv)
    results = trials(options.trials, random.Random(options.seed))
    print("agent detection with defaults, %d trials per fault (timeout 0.8 s, interval 0.2 s); kernel %s, %d cores"
          % (options.trials, platform.release(), os.cpu_count()))
    print("  %-14s %-22s %8s %8s %8s %8s" % ("fault", "WAN", "median", "max", "min", "goal"))
    for (kind, number), seconds in results.items():
        probed = "wan%d, %d target(s)" % (number, len(TARGETS[number]))
        figures = (common.median(seconds), max(seconds), min(seconds), GOALS[kind])
        print("  %-14s %-22s %7.2fs %7.2fs %7.2fs %7.1fs" % ((kind, probed) + figures))
    print("  anchors' defaults (issue 12): roughly 10-50 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
