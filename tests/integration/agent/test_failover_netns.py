"""Failover with real traffic: the agent, its engine applier and the kernel, in network namespaces.

The router carries what the role installs (``support.multiwan_topology``: WAN tables and fwmark rules;
``nft_connmark`` run as the module for marks and masquerade; a static weighted default in main at
metric 1, tagged 211) and the agent lays its routes over it (tag 212, metric 0). Which WAN a flow
took is read where it arrives: the internet host sees the WAN's masqueraded address. Faults are made
on the ISP side. Times are printed, never asserted beyond generous deadlines; the bench measures them.
"""

import time

import pytest

from support.modules import run_module
from support.multiwan_topology import (
    INET, ISP_GATEWAY, ROUTER_WAN, UPLINK, WAN_DEVICE, WAN_TABLE, Agent, Server, Topology)

from .agent_process import AgentProcess
from .test_agent_netns import blackhole_upstream, restore_upstream

pytestmark = pytest.mark.netns
PORT, POLICY_PORT = 8080, 8443
SOURCE_OF = dict((address, number) for number, address in ROUTER_WAN.items())


def agent_config(fallback):
    wans = [{"name": "wan%d" % number, "device": WAN_DEVICE[number], "mark": "0x%d00" % number,
             "gateway": ISP_GATEWAY[number], "track": {"targets": [INET, UPLINK[number][1]], "hold": 2}}
            for number in (1, 2)]
    routing = {"protocol": "212", "metric": 0, "mask": "0xff00",
               "wans": [{"name": "wan%d" % number, "device": WAN_DEVICE[number], "table": WAN_TABLE[number],
                         "weight": 1, "families": ["ipv4"], "gateway": {"ipv4": ISP_GATEWAY[number]}}
                        for number in (1, 2)],
               "policies": [{"name": "p", "wan": "wan2", "table": 201, "families": ["ipv4"], "fallback": fallback}]}
    return {"wans": wans, "routing": routing}


@pytest.fixture
def net():
    with Topology() as topology:
        topology.pbr_routes()
        router = topology.router
        router.run("sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1")      # as the role sets it
        router.ip("route", "del", "default")
        hops = []
        for number in (1, 2):
            hops += ["nexthop", "via", ISP_GATEWAY[number], "dev", WAN_DEVICE[number], "weight", "1"]
        router.ip("route", "add", "default", "metric", "1", "proto", "211", *hops)
        # the policy: TCP to POLICY_PORT looks up table 201, whose static default is WAN2's
        router.ip("route", "add", "default", "via", ISP_GATEWAY[2], "dev", "wan2", "table", "201", "metric", "1",
                  "proto", "211")
        router.ip("route", "add", "unreachable", "default", "table", "201", "metric", "4294967294", "proto", "211")
        router.ip("rule", "add", "pref", "2000", "ipproto", "tcp", "dport", str(POLICY_PORT), "lookup", "201")
        marks = run_module("nft_connmark", {"wans": [
            {"name": "wan%d" % number, "device": WAN_DEVICE[number], "mark": "0x%d00" % number, "masquerade": True}
            for number in (1, 2)]},
            netns=router.name)
        assert not marks.get("failed"), marks
        with Server(topology.inet, PORT), Server(topology.inet, POLICY_PORT), Agent(topology.client) as client:
            topology.client_agent = client
            yield topology


def wans_of_new_flows(net, count, port=PORT):
    """The WAN each of ``count`` new connections from the client left by (None: it failed)."""
    used = []
    for _attempt in range(count):
        opened = net.client_agent.connect(INET, port, timeout=1.0)
        if "error" in opened:
            used.append(None)
            continue
        reply = net.client_agent.echo(opened["id"])
        used.append(SOURCE_OF.get(reply.get("reply", "").split(" ")[0]))
    return used


def agent_routes(net):
    return net.router.ip("route", "show", "table", "all", "proto", "212")


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("not within %s s: %s" % (timeout, what))


def test_new_flows_leave_a_dead_upstream_and_come_back(net, tmp_path):
    with AgentProcess(net.router, agent_config("balance"), tmp_path) as agent:
        wait_until(lambda: "nexthop via %s" % ISP_GATEWAY[2] in agent_routes(net), 10, "the agent's balance")
        before = wans_of_new_flows(net, 40)
        assert set(before) == {1, 2}, before
        established = net.client_agent.connect(INET, PORT)
        fault = time.monotonic()
        blackhole_upstream(net, 2)
        wait_until(lambda: set(wans_of_new_flows(net, 10)) == {1}, 20, "new flows only through wan1")
        print("\ndead upstream: new flows on wan1 %.2f s after the fault (measured by traffic)"
              % (time.monotonic() - fault))
        assert agent.wan("wan2")["state"] == "down"
        assert "nexthop" not in agent_routes(net).split("table 201")[0]        # main: one route, through wan1
        assert set(wans_of_new_flows(net, 30)) == {1}
        # connections marked for wan2 were deleted from conntrack by their mark alone
        assert "mark=512" not in net.router.run("conntrack", "-L", "-p", "tcp", check=False)
        assert "error" not in established
        repaired = time.monotonic()
        restore_upstream(net, 2)
        wait_until(lambda: 2 in wans_of_new_flows(net, 20), 40, "new flows through wan2 again")
        print("repaired: new flows on wan2 again %.2f s later (hold 2 s)" % (time.monotonic() - repaired))
    log = agent.log()
    assert any(line.startswith("INFO applied: ip -4 route replace default table 254") for line in log), log


@pytest.mark.parametrize("fallback, expected", [("balance", {1}), ("none", {None})])
def test_a_policy_follows_its_fallback(net, tmp_path, fallback, expected):
    with AgentProcess(net.router, agent_config(fallback), tmp_path) as agent:
        wait_until(lambda: "table 201" in agent_routes(net), 10, "the agent's policy route")
        assert set(wans_of_new_flows(net, 10, POLICY_PORT)) == {2}
        blackhole_upstream(net, 2)
        agent.wait_state("wan2", "down", timeout=20)
        wait_until(lambda: set(wans_of_new_flows(net, 5, POLICY_PORT)) == expected, 10,
                   "policy traffic %s" % ("through wan1" if fallback == "balance" else "kept off wan1"))
        assert net.spoofed(1) == 0          # strict: nothing of it ever left by wan1


def test_a_playbook_style_run_of_the_static_layout_leaves_the_agents_routes(net, tmp_path):
    """The modules own tag 211, the agent 212: overridden with the static layout changes nothing of the agent's."""
    with AgentProcess(net.router, agent_config("balance"), tmp_path) as agent:
        blackhole_upstream(net, 2)
        agent.wait_state("wan2", "down", timeout=20)
        wait_until(lambda: "nexthop" not in agent_routes(net).split("table 201")[0], 10, "wan2 out of the balance")
        before = agent_routes(net)
        static = [{"name": "main", "routes": [{"dst": "default", "metric": 1, "nexthops": [
            {"via": ISP_GATEWAY[number], "dev": WAN_DEVICE[number], "weight": 1} for number in (1, 2)]}]}]
        result = run_module("pbr_table", {"config": static, "state": "replaced"}, netns=net.router.name,
                            check_mode=True, diff=True)
        assert result["changed"] is False, result
        assert agent_routes(net) == before
