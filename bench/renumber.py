"""Part 7: from a renumbered WAN's new lease to new flows through its new gateway (issue 13's goal: <= 2 s).

The two-WAN namespace topology (``tests/support/multiwan_topology.py``) with the role's static layout applied by the
modules and the agent running with its engine applier: wan1 static, wan2 ``gateway: dhcp`` and no address (so its
WAN table, ``from`` rule and share of the defaults are the agent's), and a policy that sends TCP to port 8443 through
wan2 (fallback: the balance). Each trial renumbers wan2 between two subnets on the ISP's side (its gateway address,
its source filter, inet's route back), then does what a DHCP client does with the new lease (the old address goes,
the new one and its default route come, ``ip`` in networkd's order), and times the first new policy connection that
reaches inet from wan2's new address (masquerade): the agent's netlink view, its apply (routes and rules of both
engines, one batch per family), the kernel and conntrack together. The policy makes the flow's WAN deterministic, so
the time is not the balance's luck. Trials follow each other after a random 0.2-0.8 s. Everything happens in
namespaces made here and removed afterwards.
"""

import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (also puts tests/ on the path)

if common.COLLECTIONS not in sys.path:      # the installed collection, as the other benches run it
    sys.path.append(common.COLLECTIONS)

from integration.agent.agent_process import AgentProcess  # noqa: E402
from support import dynamic_wan  # noqa: E402
from support.multiwan_topology import INET, ISP_GATEWAY, ROUTER_WAN, UPLINK, Agent, Server, Topology  # noqa: E402

PART = "7 renumbering"
GOAL_SECONDS = 2.0
POLICY_PORT = 8443
WANS = [{"name": "wan1", "device": "wan1", "gateway": ISP_GATEWAY[1], "address": ROUTER_WAN[1] + "/24",
         "track": {"targets": [INET, UPLINK[1][1]]}},
        {"name": "wan2", "device": "wan2", "gateway": "dhcp", "track": {"targets": [INET, UPLINK[2][1]]}}]
POLICIES = [{"name": "via_wan2", "wan": "wan2", "ipproto": "tcp", "dport": str(POLICY_PORT)}]


def trials(count, rng):
    """Seconds from each new lease to the first new policy flow from the new address."""
    seconds = []
    with Topology() as net, tempfile.TemporaryDirectory(dir="/dev/shm") as directory:
        net.router.ip("route", "del", "default")
        net.router.ip("route", "add", "default", "via", ISP_GATEWAY[2], "dev", "wan2", "proto", "dhcp", "metric",
                      dynamic_wan.DHCP_METRIC)
        result = dynamic_wan.static_layout(net, WANS, policies=POLICIES, hooks_dir=os.path.join(directory, "hooks.d"))
        with Server(net.inet, POLICY_PORT), Agent(net.client) as client, \
                AgentProcess(net.router, result["agent"], directory) as agent:
            net.client_agent = client
            address = ROUTER_WAN[2] + "/24"
            _first_policy_flow(net, address, timeout=20)
            for trial in range(count):
                time.sleep(rng.uniform(0.2, 0.8))
                new_address, gateway = dynamic_wan.isp_renumbers(net, 2, 22 if trial % 2 == 0 else 2)
                dynamic_wan.renew_with_new_lease(net, "wan2", address, new_address, gateway)
                seconds.append(_first_policy_flow(net, new_address, timeout=30))
                address = new_address
            transitions = agent.wan("wan2")["transitions"]
    return seconds, transitions


def _first_policy_flow(net, address, timeout):
    started = time.monotonic()
    wanted = address.split("/")[0]
    while time.monotonic() - started < timeout:
        if dynamic_wan.source_of_new_flow(net, timeout=0.3, port=POLICY_PORT) == wanted:
            return time.monotonic() - started
    raise RuntimeError("no new flow from %s within %s s" % (wanted, timeout))


def run(settings):
    count = 1 if settings.quick else 10
    seconds, transitions = trials(count, random.Random(13))
    note = "%d trial(s); wan2 transitions during them: %d (a renumbering is no failover)" % (count, transitions)
    rows = [common.Row(PART, "new lease -> new flows via the new gateway", "agent (median)", common.median(seconds),
                       baseline="issue 13 goal", baseline_value=GOAL_SECONDS, goal=1.0, samples=seconds, note=note),
            common.Row(PART, "new lease -> new flows via the new gateway", "agent (max)", max(seconds),
                       baseline="issue 13 goal", baseline_value=GOAL_SECONDS, samples=seconds)]
    return rows, []


if __name__ == "__main__":
    for row in run(common.Settings())[0]:
        print("%s: %.3f s (samples %s)" % (row.subject, row.value, ", ".join("%.3f" % s for s in row.samples)))
