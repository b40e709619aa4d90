"""``ros_route`` run for real against the RouterOS API simulator."""

import pytest

from routeros_sim import Behaviour, Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

ROUTES = "/ip/route"
WAN_ROUTES = [
    {"name": "wan2-default", "gateway": "192.0.2.1", "routing_table": "wan2", "check_gateway": "ping"},
    {"name": "wan2-failover", "gateway": "198.51.100.1@main", "routing_table": "wan2", "distance": 10},
    {"name": "rfc1918", "dst_address": "10.1.2.3/8", "blackhole": True, "comment": "no leaks"},
]


@pytest.fixture
def sim():
    """A router with table wan2, an address on ether1 (a connected route) and a hand-made default route."""
    with Simulator() as simulator:
        simulator.state.menu("/routing/table").add({"name": "wan2", "fib": ""})
        simulator.state.menu("/ip/address").add({"address": "192.0.2.2/24", "interface": "ether1"})
        simulator.state.menu(ROUTES).add({"gateway": "192.0.2.1", "comment": "default by hand"})
        simulator.reset_counters()
        yield simulator


def run(sim, check_mode=False, diff=False, **args):
    args = dict(dict(hostname="127.0.0.1", port=sim.port), **args)
    return run_module("ros_route", args, check_mode=check_mode, diff=diff)


def foreign(sim):
    return [row for row in sim.state.menu(ROUTES).rows() if not (row.get("comment") or "").startswith("multiwan")]


def test_merged_then_idempotent_check_mode_writes_nothing(sim):
    before = foreign(sim)
    checked = run(sim, check_mode=True, config=WAN_ROUTES)
    assert checked["changed"] and sim.write_count == 0
    result = run(sim, config=WAN_ROUTES, diff=True)
    assert result["changed"] and not result.get("failed") and not result.get("warnings"), result
    assert result["commands"] == [
        "/ip route add gateway=192.0.2.1 check-gateway=ping routing-table=wan2 comment=multiwan.pbr:wan2-default",
        "/ip route add gateway=198.51.100.1 distance=10 routing-table=wan2 comment=multiwan.pbr:wan2-failover",
        '/ip route add dst-address=10.0.0.0/8 blackhole comment="multiwan.pbr:rfc1918 no leaks"',
    ]
    sim.reset_counters()
    again = run(sim, config=WAN_ROUTES)
    assert not again["changed"] and sim.write_count == 0 and sim.print_counts == {ROUTES: 1}
    assert foreign(sim) == before


def test_a_disabled_route_stays_idempotent_and_is_restored_when_enabled(sim):
    disabled = [dict(WAN_ROUTES[1], disabled=True)]
    assert run(sim, config=disabled)["changed"]
    assert not run(sim, config=disabled)["changed"]        # printed without table or distance
    enabled = run(sim, state="replaced", config=[WAN_ROUTES[1]])
    assert enabled["changed"] and not enabled.get("warnings")
    row = next(row for row in sim.state.menu(ROUTES).rows() if row.get("comment") == "multiwan.pbr:wan2-failover")
    assert (row["routing-table"], row["distance"], row.get("disabled", "false")) == ("wan2", "10", "false")


def route_id(sim, name):
    """The ``.id`` of an owned route (pipelined adds get their ids in the order RouterOS runs them)."""
    return next(row[".id"] for row in sim.state.menu(ROUTES).rows() if (row.get("comment") or "").split()[0:1] == [
        "multiwan.pbr:" + name])


def test_replaced_overridden_deleted_gathered(sim):
    run(sim, config=WAN_ROUTES)
    ids = dict((route["name"], route_id(sim, route["name"])) for route in WAN_ROUTES)
    replaced = run(sim, state="replaced", config=[{"name": "wan2-default", "gateway": "203.0.113.1",
                                                   "routing_table": "wan2"}])
    assert replaced["commands"] == ["/ip route set {0} gateway=203.0.113.1; "
                                    "/ip route unset {0} value-name=check-gateway".format(ids["wan2-default"])]
    overridden = run(sim, state="overridden", config=[{"name": "wan2-default", "gateway": "203.0.113.1",
                                                       "routing_table": "wan2"}])
    assert sorted(overridden["commands"]) == sorted(
        "/ip route remove " + ids[name] for name in ("wan2-failover", "rfc1918"))
    assert run(sim, state="gathered")["gathered"] == [
        {"name": "wan2-default", "dst_address": "0.0.0.0/0", "gateway": "203.0.113.1", "blackhole": False,
         "distance": 1, "scope": 30, "target_scope": 10, "routing_table": "wan2", "disabled": False}]
    assert run(sim, state="deleted", config=[])["changed"]
    assert run(sim, state="gathered")["gathered"] == [] and len(foreign(sim)) == 2   # connected + by hand


def test_a_missing_table_fails_with_routeros_message(sim):
    result = run(sim, config=[{"name": "x", "gateway": "192.0.2.1", "routing_table": "isp9"}])
    assert result["failed"] and result["device_message"] == "input does not match any value of routing-table"
    assert result["command"] == "/ip route add gateway=192.0.2.1 routing-table=isp9 comment=multiwan.pbr:x"


@pytest.mark.parametrize("behaviour", [
    Behaviour(strip_gateway_main=False, host_bits="keep", show_nextid=True, emit_empty=True),
    Behaviour(host_bits="refuse", proplist_keeps_id=True),
], ids=["gateway-main-kept", "host-bits-refused"])
def test_idempotent_whichever_way_the_unverified_behaviours_go(behaviour):
    with Simulator(behaviour=behaviour) as sim:
        sim.state.menu("/routing/table").add({"name": "wan2", "fib": ""})
        first = run(sim, config=WAN_ROUTES)
        assert first["changed"] and not first.get("failed") and not first.get("warnings"), first
        assert not run(sim, config=WAN_ROUTES)["changed"]
