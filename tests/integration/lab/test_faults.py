"""Faults on the ISP side of a WAN (lab/faults.py), each proven by real traffic and undone by clear.

The probe: the router pings inet's address on the far side of the WAN's ISP (its core link),
through that WAN - a /32 route per WAN sends it there, so the path is router -> WAN -> ISP -> inet
and back, and the other WAN's path is the control. The router has no policy routing here.

Needs root and podman, like every lab test; without them these tests fail rather than skip.
"""

import json
import time

import pytest
from lab_support import lab_prefix, lab_running

from lab import faults, traffic
from lab.lab import main as lab_main
from lab.shell import LabError, run_in_netns

pytestmark = pytest.mark.lab

FAMILIES = ("ipv4", "ipv6")


@pytest.fixture(name="lab", scope="module")
def running_lab():
    with lab_running(lab_prefix("fault")) as lab:
        for wan in lab.wans():
            for family in FAMILIES:
                run_in_netns(lab.container("router"), ["ip", "route", "replace", beyond(lab, wan.name, family),
                                                       "via", gateway(lab, wan.name, family), "dev", wan.device])
        yield lab


@pytest.fixture(autouse=True)
def no_fault_left(lab):
    yield
    faults.clear_all(lab)


def beyond(lab, wan, family="ipv4"):
    """inet's address on the ISP's core link: reached through `wan`, the ISP forwarding."""
    isp = lab.wan(wan).isp
    customer_link = lab.interface("router", lab.wan(wan).device).link
    core = next(interface for interface in lab.interfaces(isp) if interface.link != customer_link)
    return lab.peer(isp, core.device).address(family)


def gateway(lab, wan, family="ipv4"):
    return lab.wan(wan).gateway if family == "ipv4" else lab.wan(wan).gateway6


def through(lab, wan, family="ipv4", count=10, interval=0.01, wait=1):
    return traffic.ping_summary(lab, "router", beyond(lab, wan, family), count=count, interval=interval, wait=wait)


def carrier(lab, wan):
    link = json.loads(run_in_netns(lab.container("router"), ["ip", "-json", "link", "show", lab.wan(wan).device]).stdout)
    return "NO-CARRIER" not in link[0]["flags"]


def assert_healthy(lab, wan):
    assert carrier(lab, wan)
    for family in FAMILIES:
        summary = through(lab, wan, family)
        assert summary.received == summary.sent and summary.average_ms < 50, (family, summary)


def test_both_wans_carry_traffic_before_any_fault(lab):
    for wan in lab.wans():
        assert_healthy(lab, wan.name)


def test_link_down_takes_the_carrier_away_and_clear_brings_it_back(lab):
    faults.inject(lab, "wan2", "link-down")
    assert not carrier(lab, "wan2")
    assert through(lab, "wan2").received == 0
    assert through(lab, "wan1").received == 10
    faults.clear(lab, "wan2")
    assert_healthy(lab, "wan2")


def test_gateway_dead_keeps_the_link_up_but_nothing_answers(lab):
    faults.inject(lab, "wan2", "gateway-dead")
    assert carrier(lab, "wan2")
    for family in FAMILIES:
        assert not traffic.ping(lab, "router", gateway(lab, "wan2", family), wait=0.5)
        assert through(lab, "wan2", family).received == 0
    assert through(lab, "wan1").received == 10
    faults.clear(lab, "wan2")
    assert_healthy(lab, "wan2")


def test_blackhole_keeps_the_gateway_answering_and_drops_what_is_beyond(lab):
    faults.inject(lab, "wan1", "blackhole")
    for family in FAMILIES:
        assert traffic.ping(lab, "router", gateway(lab, "wan1", family))
        assert through(lab, "wan1", family).received == 0
    assert through(lab, "wan2").received == 10
    faults.clear(lab, "wan1")
    assert_healthy(lab, "wan1")


def test_loss_drops_about_the_given_share(lab):
    faults.inject(lab, "wan2", "loss", 50)
    # 300 probes at 50 %: one standard deviation is 2.9 points, the bounds are 5 of them away.
    summary = through(lab, "wan2", count=300, interval=0.003)
    assert 35 <= summary.loss_percent <= 65, summary
    assert through(lab, "wan1", count=50).loss_percent == 0
    faults.clear(lab, "wan2")
    assert through(lab, "wan2", count=100).loss_percent == 0


def test_delay_adds_the_given_milliseconds_to_every_round_trip(lab):
    faults.inject(lab, "wan1", "delay", 150)
    for family in FAMILIES:
        summary = through(lab, "wan1", family)
        assert summary.received == summary.sent and 150 <= summary.average_ms < 250, (family, summary)
    assert through(lab, "wan2").average_ms < 50
    faults.clear(lab, "wan1")
    assert_healthy(lab, "wan1")


def test_flap_takes_the_link_down_and_up_with_the_period(lab):
    faults.inject(lab, "wan2", "flap", 3)
    carriers, answers = set(), set()
    # Up to two periods, until both states were seen. The probe after a down phase may wait for ARP,
    # which retries once a second: a 1.5 s up phase leaves it time to answer.
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and not carriers == answers == {True, False}:
        carriers.add(carrier(lab, "wan2"))
        answers.add(through(lab, "wan2", count=1, wait=0.2).received == 1)
    assert carriers == {True, False} and answers == {True, False}
    faults.clear(lab, "wan2")
    assert_healthy(lab, "wan2")
    time.sleep(2)                                # a stopped flapper takes the link down no more
    assert carrier(lab, "wan2")


def test_the_fault_a_wan_carries_is_known_and_one_replaces_another(lab):
    faults.inject(lab, "wan1", "loss", 20)
    faults.inject(lab, "wan1", "blackhole")
    assert faults.active(lab) == {"wan1": faults.Fault("wan1", "blackhole"), "wan2": None}
    assert through(lab, "wan1").received == 0
    faults.clear_all(lab)
    assert faults.active(lab) == {"wan1": None, "wan2": None}
    assert_healthy(lab, "wan1")


def test_bad_input_names_the_field_and_the_value(lab):
    with pytest.raises(LabError, match="value: loss needs percent"):
        faults.inject(lab, "wan1", "loss")
    with pytest.raises(LabError, match="kind: 'meteor'"):
        faults.inject(lab, "wan1", "meteor")
    with pytest.raises(LabError, match="wan: 'wan9'"):
        faults.inject(lab, "wan9", "link-down")


def test_lab_py_fault_and_status(lab, capsys):
    assert lab_main(["--prefix", lab.prefix, "fault", "wan2", "delay", "120"]) == 0
    assert lab_main(["--prefix", lab.prefix, "status"]) == 0
    assert "faults: wan2: delay 120 milliseconds" in capsys.readouterr().out
    assert through(lab, "wan2").average_ms >= 120
    assert lab_main(["--prefix", lab.prefix, "fault", "all", "clear"]) == 0
    assert through(lab, "wan2").average_ms < 50
