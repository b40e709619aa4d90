"""The agent against the real kernel: a router namespace with two veth WANs to two ISP namespaces.

The topology is ``support.multiwan_topology`` (targets behind each ISP: the internet host 203.0.113.10 and
the far end of the ISP's uplink, 10.255.N.2), plus ``fwmark 0x100/0xff00 -> table 101`` and
``0x200 -> table 102`` rules with a default route per WAN table: the layout the role installs, so the
agent's marked probes leave by their WAN. Faults are made for real on the ISP side: the customer link
down (carrier), everything beyond the gateway dropped by nft (a dead upstream behind a live gateway),
random loss with ``numgen random mod 100 < 10``. Detection times are printed (``pytest -s``), never
asserted: the deadlines here are generous; the bench measures speed.
"""

import json
import time

import pytest

from support.multiwan_topology import ISP_GATEWAY, UPLINK, Topology

from .agent_process import AgentProcess

pytestmark = pytest.mark.netns
TARGETS = {1: ["203.0.113.10"], 2: ["203.0.113.10", UPLINK[2][1]]}


def wan(number, **track):
    entry = {"name": "wan%d" % number, "device": "wan%d" % number, "mark": "0x%d00" % number,
             "gateway": ISP_GATEWAY[number]}
    if track is not None:
        entry["track"] = dict({"targets": TARGETS[number]}, **track)
    return entry


@pytest.fixture
def net():
    with Topology() as topology:
        topology.pbr_routes()
        yield topology


def blackhole_upstream(net, number):
    """Drop everything the ISP would forward for its customer: the gateway still answers, nothing beyond it."""
    net.isp[number].run("nft", "add", "rule", "ip", "isp", "forward", "iifname", "cust", "drop")


def restore_upstream(net, number):
    net.isp[number].run("nft", "flush", "chain", "ip", "isp", "forward")
    net.isp[number].run("nft", "add", "rule", "ip", "isp", "forward", "iifname", "cust", "counter", "accept")


def detection(entry, fault):
    """Seconds from the fault to the transition the status file records."""
    from ansible_collections.multiwan.pbr.plugins.module_utils.agent.status import parse_iso
    return parse_iso(entry["since"]) - fault


def test_a_dead_upstream_behind_a_live_gateway_is_found_by_probes_and_recovers(net, tmp_path):
    config = {"wans": [wan(1), wan(2, hold=2)]}
    with AgentProcess(net.router, config, tmp_path) as agent:
        assert [w["state"] for w in agent.status()["wans"]] == ["up", "up"]
        time.sleep(1.0)
        fault = time.time()
        blackhole_upstream(net, 2)
        down = agent.wait_state("wan2", "down", timeout=15)
        print("\ndead upstream (2 targets): detected in %.2f s" % detection(down, fault))
        assert down["reason"] == "probes" and "fewer than 1 of 2 targets answered" in down["detail"]
        assert agent.wan("wan1")["state"] == "up" and agent.wan("wan1")["transitions"] == 0
        # the gateway itself still answers ARP: the kernel alone would never have noticed
        assert agent.wan("wan2")["families"][0]["gateway_state"] in ("reachable", "stale", "delay", "probe")
        repaired = time.time()
        restore_upstream(net, 2)
        up = agent.wait_state("wan2", "up", timeout=30)
        print("recovered %.2f s after the repair (hold 2 s)" % detection(up, repaired))
        assert up["reason"] == "recovered" and detection(up, repaired) >= 2.0
    log = agent.log()
    assert any(line == "INFO wan2 ipv4 up -> down: probes (fewer than 1 of 2 targets answered 5 rounds in a row)"
               for line in log), log
    assert "INFO apply up ipv4=[wan1] after 1 change(s)" in log


def test_carrier_loss_is_seen_at_once_through_netlink(net, tmp_path):
    config = {"wans": [wan(1), {"name": "wan2", "device": "wan2", "mark": "0x200", "gateway": ISP_GATEWAY[2]}]}
    with AgentProcess(net.router, config, tmp_path) as agent:
        time.sleep(0.5)
        for number in (1, 2):           # wan1 is probed, wan2 is judged by link and neighbour only
            fault = time.time()
            net.isp[number].ip("link", "set", "cust", "down")
            down = agent.wait_state("wan%d" % number, "down", timeout=10)
            print("\ncarrier loss on wan%d: detected in %.3f s" % (number, detection(down, fault)))
            assert down["reason"] == "carrier" and "no carrier" in down["detail"]
            net.isp[number].ip("link", "set", "cust", "up")
        assert agent.wait_state("wan2", "up", timeout=30)["reason"] == "recovered"


def test_a_gateway_that_stops_answering_arp_fails_the_wan(net, tmp_path):
    # wan2's configured gateway is an address nobody answers for: the first packet through it fails
    config = {"wans": [wan(1), {"name": "wan2", "device": "wan2", "mark": "0x200", "gateway": "100.64.2.77"}]}
    with AgentProcess(net.router, config, tmp_path) as agent:
        net.router.run("ping", "-c1", "-W1", "100.64.2.77", check=False)
        down = agent.wait_state("wan2", "down", timeout=15)
        assert down["reason"] == "gateway" and "100.64.2.77" in down["detail"]
        assert down["families"][0]["gateway_state"] == "failed"


def test_ten_percent_random_loss_causes_no_transition(net, tmp_path):
    config = {"wans": [wan(1), wan(2)]}             # one target and two targets, every default
    for number in (1, 2):
        net.isp[number].run("nft", "add", "rule", "ip", "isp", "forward", "iifname", "cust",
                            "numgen", "random", "mod", "100", "<", "10", "counter", "drop")
    with AgentProcess(net.router, config, tmp_path) as agent:
        time.sleep(60)
        final = agent.status()
    print("\n10 %% loss for 60 s: %s" % json.dumps(
        [(w["name"], w["transitions"], w["loss"], w["families"][0]["probes"]) for w in final["wans"]]))
    assert [(w["state"], w["transitions"]) for w in final["wans"]] == [("up", 0), ("up", 0)]
    losses = [target["loss"] for w in final["wans"] for target in w["families"][0]["targets"]]
    assert all(0 < loss < 30 for loss in losses)     # the loss was real and is reported


def test_dhcp_gateways_addresses_and_absent_devices_follow_netlink(net, tmp_path):
    net.router.ip("route", "del", "default")         # the topology's main default via wan1
    config = {"wans": [wan(1, hold=1), dict(wan(2, hold=1), gateway="dhcp")]}
    with AgentProcess(net.router, config, tmp_path) as agent:
        down = agent.wait_state("wan2", "down", timeout=10)
        assert (down["reason"], down["detail"]) == ("gateway", "no ipv4 default route learned on wan2")
        # the host's DHCP client installs a default route: the WAN joins with that gateway
        net.router.ip("route", "add", "default", "via", ISP_GATEWAY[2], "dev", "wan2", "proto", "dhcp", "metric", "100")
        up = agent.wait_state("wan2", "up", timeout=20)
        assert up["families"][0]["gateway"] == ISP_GATEWAY[2]
        # the address goes (lease lost): down, by the address check once its 3 s grace for a lease change is
        # over, or by the probes (which no longer leave) if they notice first
        net.router.ip("addr", "flush", "dev", "wan1")
        assert agent.wait_state("wan1", "down", timeout=10)["reason"] in ("address", "probes")
        # the device goes away entirely
        net.router.ip("link", "del", "wan2")
        agent.wait_for(lambda status: status["wans"][1]["detail"] == "wan2 is absent", timeout=10, what="wan2 absent")
        assert agent.wan("wan2")["reason"] == "carrier"
    log = agent.log()
    assert any("wan2 ipv4 gateway: None -> %s" % ISP_GATEWAY[2] in line for line in log), log


def test_sighup_reloads_keeps_unchanged_wans_and_refuses_a_bad_file(net, tmp_path):
    config = {"wans": [wan(1), wan(2)]}
    with AgentProcess(net.router, config, tmp_path) as agent:
        before = agent.wan("wan1")
        changed = {"wans": [wan(1), wan(2, targets=[UPLINK[2][1]])]}
        agent.write_config(changed)
        agent.reload()
        agent.wait_for(lambda status: len(status["wans"][1]["families"][0]["targets"]) == 1, timeout=10,
                       what="the reloaded targets")
        assert agent.wan("wan1")["since"] == before["since"]     # unchanged: the same tracker
        agent.write_config({"wans": [wan(1), wan(2, interval=0)]})
        agent.reload()
        time.sleep(1.0)
        assert agent.process.poll() is None
        assert len(agent.wan("wan2")["families"][0]["targets"]) == 1     # still the working configuration
    log = agent.log()
    assert any("reloaded %s: kept [wan1], changed [wan2], added [], removed []" % agent.config_path in line
               for line in log), log
    assert any("reload refused, the running configuration stays: wans[1].track.interval=0: must be > 0" in line
               for line in log), log
    assert agent.process.returncode == 0 and log[-1] == "INFO stopped"
