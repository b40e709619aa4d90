"""``ros_routing_table`` run for real against the RouterOS API simulator."""

import pytest

from routeros_sim import Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

TABLES = "/routing/table"


@pytest.fixture
def sim():
    """A fresh router with a hand-made table ``vpn``."""
    with Simulator() as simulator:
        simulator.state.menu(TABLES).add({"name": "vpn", "fib": "", "comment": "made by hand"})
        simulator.reset_counters()
        yield simulator


def run(sim, check_mode=False, diff=False, **args):
    args = dict(dict(hostname="127.0.0.1", port=sim.port), **args)
    return run_module("ros_routing_table", args, check_mode=check_mode, diff=diff)


def names(sim):
    return [(row["name"], "fib" in row, row.get("comment")) for row in sim.state.menu(TABLES).rows()]


def test_every_state_converges_and_spares_main_and_foreign_tables(sim):
    config = [{"name": "wan1", "fib": True}, {"name": "wan2", "fib": True, "comment": "ISP 2"}]
    checked = run(sim, check_mode=True, diff=True, config=config)
    assert checked["changed"] and sim.write_count == 0
    assert "/routing table add name=wan2 fib comment=\"multiwan.pbr ISP 2\"" in checked["diff"]["after"]
    merged = run(sim, config=config)
    assert merged["after"] == [{"name": "wan1", "fib": True, "disabled": False},
                               {"name": "wan2", "fib": True, "disabled": False, "comment": "ISP 2"}]
    sim.reset_counters()
    # one print per menu: the tables, and the menus that may name a table (never removed while named)
    assert not run(sim, config=config)["changed"] and sim.write_count == 0 and sim.print_counts == {
        TABLES: 1, "/routing/rule": 1, "/ip/route": 1, "/ip/firewall/mangle": 1}
    ids = dict((row["name"], row[".id"]) for row in sim.state.menu(TABLES).rows())    # as RouterOS ran the adds
    replaced = run(sim, state="replaced", config=[{"name": "wan1"}])
    assert replaced["commands"] == ["/routing table unset %s value-name=fib" % ids["wan1"]]
    overridden = run(sim, state="overridden", config=[{"name": "wan1"}])
    assert overridden["commands"] == ["/routing table remove %s" % ids["wan2"]]
    assert run(sim, state="gathered")["gathered"] == [{"name": "wan1", "fib": False, "disabled": False}]
    assert run(sim, state="deleted", config=[{"name": "wan1"}])["changed"]
    assert names(sim) == [("main", True, None), ("vpn", True, "made by hand")]


def test_a_foreign_table_of_the_same_name_is_refused_before_any_write(sim):
    result = run(sim, config=[{"name": "vpn", "fib": True}])
    assert result["failed"] and result["field"] == "name" and result["value"] == "vpn"
    assert sim.write_count == 0


def test_tables_come_first_so_rules_and_routes_can_use_them(sim):
    assert run(sim, config=[{"name": "wan2", "fib": True}])["changed"]
    rule = run_module("ros_routing_rule", dict(hostname="127.0.0.1", port=sim.port, config=[
        {"name": "dns", "dst_address": "198.51.100.53", "table": "wan2"}]))
    route = run_module("ros_route", dict(hostname="127.0.0.1", port=sim.port, config=[
        {"name": "wan2-default", "gateway": "192.0.2.1", "routing_table": "wan2"}]))
    assert rule["changed"] and route["changed"] and not rule.get("failed") and not route.get("failed")


def test_a_table_hand_made_rules_and_routes_use_is_refused_before_any_write(sim):
    """Issue 11, defect 9: on main the table went and the rule and route were left pointing at its
    dead ``*id``, inactive. Whatever RouterOS does on such a removal (``table_removal``: dangle, refuse,
    cascade), the module sends nothing and names the referrers."""
    assert run(sim, config=[{"name": "wan3", "fib": True}])["changed"]
    rule_id = sim.state.menu("/routing/rule").add({"dst-address": "192.0.2.0/24", "table": "wan3", "comment": "by hand"})
    route_id = sim.state.menu("/ip/route").add({"gateway": "192.0.2.1", "routing-table": "wan3"})
    sim.reset_counters()
    for check_mode in (True, False):
        result = run(sim, check_mode=check_mode, state="overridden", config=[])
        assert result["failed"] and (result["field"], result["value"]) == ("name", "wan3"), result
        assert "/routing/rule %s (by hand)" % rule_id in result["msg"] and "/ip/route %s" % route_id in result["msg"]
    assert sim.write_count == 0 and "wan3" in [name for name, _fib, _comment in names(sim)]
