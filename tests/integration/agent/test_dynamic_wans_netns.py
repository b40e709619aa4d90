"""Dynamic WANs with real traffic (issue 13): the role's static layout (``linux.layout`` applied by the modules),
the agent with its engine applier, and a DHCP client's, an ISP's and a point-to-point link's moves made with ``ip``
on the namespace topology (``support.dynamic_wan``). Which WAN a flow took, and from which address, is read where it
arrives: inet sees the WAN's masqueraded address. Times are printed (``pytest -s``), never asserted beyond generous
deadlines; ``bench/renumber.py`` measures them.
"""

import time

import pytest

from support import dynamic_wan
from support.multiwan_topology import INET, ISP_GATEWAY, ROUTER_WAN, UPLINK, Agent, Server, Topology

from .agent_process import AgentProcess
from .test_failover_netns import wait_until

pytestmark = pytest.mark.netns
PORT = 8080
WAN1 = {"name": "wan1", "device": "wan1", "gateway": ISP_GATEWAY[1], "address": ROUTER_WAN[1] + "/24",
        "track": {"targets": [INET, UPLINK[1][1]], "hold": 1}}
WAN2_DHCP = {"name": "wan2", "device": "wan2", "gateway": "dhcp", "track": {"targets": [INET, UPLINK[2][1]], "hold": 1}}


@pytest.fixture
def net():
    with Topology() as topology:
        topology.router.ip("route", "del", "default")       # the balance is the role's and the agent's
        with Server(topology.inet, PORT), Agent(topology.client) as client:
            topology.client_agent = client
            yield topology


def settings(tmp_path):
    return {"hooks_dir": str(tmp_path / "hooks.d"), "metrics_file": str(tmp_path / "metrics" / "multiwan_pbr.prom")}


def start_agent(net, result, tmp_path):
    dynamic_wan.install_hook(tmp_path / "hooks.d", tmp_path / "hooks.log")
    return AgentProcess(net.router, result["agent"], tmp_path)


def test_a_renumbered_dhcp_wan_carries_new_flows_again_within_seconds(net, tmp_path):
    # the DHCP client's default route beside the address the topology gave wan2
    net.router.ip("route", "add", "default", "via", ISP_GATEWAY[2], "dev", "wan2", "proto", "dhcp", "metric", "1024")
    result = dynamic_wan.static_layout(net, [WAN1, WAN2_DHCP], **settings(tmp_path))
    mark = dict((wan["name"], wan["mark"]) for wan in result["wans"])["wan2"]
    with start_agent(net, result, tmp_path) as agent:
        wait_until(lambda: set(dynamic_wan.sources_of_new_flows(net, 10)) == {ROUTER_WAN[1], ROUTER_WAN[2]}, 15,
                   "new flows over both WANs")
        new_address, new_gateway = dynamic_wan.isp_renumbers(net, 2, 22)
        renumbered = time.monotonic()
        dynamic_wan.renew_with_new_lease(net, "wan2", ROUTER_WAN[2] + "/24", new_address, new_gateway)
        seconds = dynamic_wan.first_flow_from(net, new_address.split("/")[0], timeout=15)
        print("\nrenumbered wan2: the first new flow from its new address %.2f s after the new lease" % seconds)
        assert time.monotonic() - renumbered < 15
        assert agent.wan("wan2")["state"] == "up" and agent.wan("wan2")["transitions"] == 0   # no failover
        assert set(dynamic_wan.sources_of_new_flows(net, 20)) == {ROUTER_WAN[1], new_address.split("/")[0]}
        assert net.spoofed(2) == 0          # nothing left wan2 from its old address after the new lease
        wait_until(lambda: any(event["event"] == "addresses" for event in dynamic_wan.hook_log(tmp_path / "hooks.log")),
                   10, "the hook of the renumbering")
        wait_until(lambda: 'multiwan_pbr_wan_info{wan="wan2",family="ipv4",device="wan2",address="%s",gateway="%s",'
                   'reason="start"} 1' % (new_address, new_gateway) in dynamic_wan.metrics_lines(
                       tmp_path / "metrics" / "multiwan_pbr.prom"), 10, "the metrics of the new lease")
        routes = net.router.ip("route", "show", "table", "all", "proto", "212")
        rules = net.router.ip("rule", "show")
    events = dynamic_wan.hook_log(tmp_path / "hooks.log")
    # the client removes the old lease before it installs the new one: two events, the WAN up throughout
    assert [(event["event"], event["old"], event["new"], event["state"]) for event in events
            if event["event"] == "addresses"] == [("addresses", ROUTER_WAN[2] + "/24", "", "up"),
                                                  ("addresses", "", new_address, "up")]
    assert events[-1]["address"] == new_address.split("/")[0] and events[-1]["gateway"] == new_gateway
    assert "via %s dev wan2" % new_gateway in routes and ISP_GATEWAY[2] not in routes
    assert "from %s lookup" % new_address.split("/")[0] in rules and "from %s " % ROUTER_WAN[2] not in rules
    assert any("-D -f ipv4 --mark %s/0xff00" % mark in line for line in agent.log()), agent.log()
    left = dynamic_wan.conntrack_marked(net, mark)
    assert not any("=%s " % ROUTER_WAN[2] in line for line in left), left      # nothing of the old address


def test_a_point_to_point_wan_routes_by_device_and_masquerades_its_32(net, tmp_path):
    local, peer = "100.64.9.2", "100.64.9.1"
    dynamic_wan.point_to_point(net, 2, local, peer)
    wan2 = dict(WAN2_DHCP, gateway=None)
    result = dynamic_wan.static_layout(net, [WAN1, wan2], **settings(tmp_path))
    with start_agent(net, result, tmp_path):
        wait_until(lambda: set(dynamic_wan.sources_of_new_flows(net, 10)) == {ROUTER_WAN[1], local}, 15,
                   "new flows over wan1 and the point-to-point wan2")
        routes = net.router.ip("route", "show", "table", "all", "proto", "212")
    assert "%s dev wan2 table wan2 scope link src %s" % (peer, local) in routes
    assert "default dev wan2" in routes or "nexthop dev wan2" in routes


def test_a_wan_absent_at_boot_fails_neither_the_restore_nor_the_agent_and_joins_when_it_comes(net, tmp_path):
    net.router.ip("link", "del", "wan2")            # the USB modem is not plugged in yet
    result = dynamic_wan.layout(
        [WAN1, WAN2_DHCP], settings=dict({"failover": True}, **settings(tmp_path)), interfaces=[])
    # the boot-time restore (multiwan-pbr.service: ip -force -batch) has nothing that names wan2's facts
    for family, batch in dynamic_wan.rendered_batches(result).items():
        batch_file = tmp_path / ("restore%s.batch" % family)
        batch_file.write_text(batch)
        net.router.ip(family, "-batch", str(batch_file))        # raises on any refused line
    dynamic_wan.static_layout(net, [WAN1, WAN2_DHCP], **settings(tmp_path))     # the role's run: no failure either
    with start_agent(net, result, tmp_path) as agent:
        assert agent.wait_state("wan2", "down", timeout=10)["detail"] == "wan2 is absent"
        assert set(dynamic_wan.sources_of_new_flows(net, 10)) == {ROUTER_WAN[1]}
        # it comes: the link, then the DHCP client's lease
        net.router.veth("wan2", "cust", net.isp[2])
        net.isp[2].ip("addr", "add", ISP_GATEWAY[2] + "/24", "dev", "cust")
        joined = time.monotonic()
        dynamic_wan.lease(net, "wan2", ROUTER_WAN[2] + "/24", ISP_GATEWAY[2])
        agent.wait_state("wan2", "up", timeout=20)
        wait_until(lambda: ROUTER_WAN[2] in dynamic_wan.sources_of_new_flows(net, 10), 10, "new flows on wan2")
        print("\nwan2 plugged in: new flows on it %.2f s after its lease (hold 1 s)" % (time.monotonic() - joined))
        # and leaves when it goes
        net.router.ip("link", "del", "wan2")
        agent.wait_state("wan2", "down", timeout=10)
        wait_until(lambda: set(dynamic_wan.sources_of_new_flows(net, 10)) == {ROUTER_WAN[1]}, 10, "wan1 only")
        assert "wan2" not in net.router.ip("route", "show", "table", "all", "proto", "212")
