"""Route activity and the routing decision of the simulator, on a RouterState (no sockets).

The router: WAN1 on ether1 (192.0.2.2/24, gateway 192.0.2.1), WAN2 on ether2
(198.51.100.2/24, gateway 198.51.100.1), a table per WAN; WAN2's default route checks a
monitor target beyond its gateway (the recursive pattern of issue 14).
"""

import pytest

from routeros_sim.state import Behaviour, RouterState

WAN1_GATEWAY, WAN2_GATEWAY = "192.0.2.1", "198.51.100.1"
MONITOR = "198.18.2.2"
FALLBACK_DESTINATION, STRICT_DESTINATION = "203.0.113.7", "47.109.74.243"


def router(behaviour=None, fib=True):
    state = RouterState(behaviour=behaviour or Behaviour())
    state.menu("/ip/address").add({"address": "192.0.2.2/24", "interface": "ether1"})
    state.menu("/ip/address").add({"address": "198.51.100.2/24", "interface": "ether2"})
    for name in ("wan1", "wan2"):
        state.menu("/routing/table").add(dict({"name": name}, **({"fib": ""} if fib else {})))
    return state


def add_route(state, **values):
    return state.menu("/ip/route").add(values)


def printed(state, route_id):
    """The route as print shows it."""
    return next(row for row in state.menu("/ip/route").rows() if row[".id"] == route_id)


def monitored_wan2(state):
    """WAN1 is main's default; WAN2's table has a default checked through MONITOR; one rule
    falls back to main, one is strict."""
    add_route(state, gateway=WAN1_GATEWAY)
    add_route(state, **{"dst-address": f"{MONITOR}/32", "gateway": WAN2_GATEWAY, "scope": "10"})
    wan2_default = add_route(state, **{"gateway": MONITOR, "target-scope": "11", "check-gateway": "ping",
                                       "routing-table": "wan2"})
    rules = state.menu("/routing/rule")
    rules.add({"dst-address": "203.0.113.0/24", "action": "lookup", "table": "wan2"})
    rules.add({"dst-address": STRICT_DESTINATION, "action": "lookup-only-in-table", "table": "wan2"})
    return wan2_default


# -- the failover story -------------------------------------------------------------------------


def test_a_dark_monitor_target_moves_lookup_rules_to_main_and_strands_strict_ones():
    state = router()
    wan2_default = monitored_wan2(state)
    route = printed(state, wan2_default)
    assert route["active"] == "true" and route["immediate-gw"] == f"{WAN2_GATEWAY}%ether2"
    assert state.route_state(wan2_default).hops[0].via is not None          # resolved recursively
    for destination in (FALLBACK_DESTINATION, STRICT_DESTINATION):
        decision = state.lookup(destination)
        assert (decision.action, decision.table, decision.gateway) == ("forward", "wan2", f"{WAN2_GATEWAY}%ether2")

    state.set_reachable(MONITOR, False)
    route = printed(state, wan2_default)
    assert route["inactive"] == "true" and "active" not in route and route["immediate-gw"] == ""
    fallback = state.lookup(FALLBACK_DESTINATION)
    assert (fallback.action, fallback.table, fallback.gateway) == ("forward", "main", f"{WAN1_GATEWAY}%ether1")
    strict = state.lookup(STRICT_DESTINATION)
    assert strict.action == "unreachable" and strict.rule["action"] == "lookup-only-in-table"
    assert state.lookup(MONITOR).gateway == f"{WAN2_GATEWAY}%ether2"     # the host route stays

    state.set_reachable(MONITOR, True)
    assert printed(state, wan2_default)["active"] == "true"
    assert state.lookup(FALLBACK_DESTINATION).table == "wan2"
    assert state.lookup(STRICT_DESTINATION).table == "wan2"


def test_a_gateway_resolves_only_through_routes_within_its_target_scope():
    state = router()
    add_route(state, **{"dst-address": f"{MONITOR}/32", "gateway": WAN2_GATEWAY})          # scope 30
    narrow = add_route(state, **{"dst-address": "10.1.0.0/16", "gateway": MONITOR})        # target-scope 10
    wide = add_route(state, **{"dst-address": "10.2.0.0/16", "gateway": MONITOR, "target-scope": "30"})
    assert printed(state, narrow)["inactive"] == "true"
    assert "does not resolve" in state.route_state(narrow).hops[0].reason
    assert printed(state, wide)["immediate-gw"] == f"{WAN2_GATEWAY}%ether2"


def test_a_route_resolving_through_itself_is_inactive_not_an_endless_loop():
    state = router()
    first = add_route(state, **{"dst-address": "10.0.0.1/32", "gateway": "10.0.0.2", "target-scope": "30"})
    second = add_route(state, **{"dst-address": "10.0.0.2/32", "gateway": "10.0.0.1", "target-scope": "30"})
    assert printed(state, first)["inactive"] == printed(state, second)["inactive"] == "true"


def test_check_gateway_on_a_direct_gateway_and_without_check_gateway():
    state = router()
    checked = add_route(state, **{"dst-address": "10.1.0.0/16", "gateway": WAN1_GATEWAY, "check-gateway": "arp"})
    unchecked = add_route(state, **{"dst-address": "10.2.0.0/16", "gateway": WAN1_GATEWAY})
    state.set_reachable(WAN1_GATEWAY, False)
    assert printed(state, checked)["inactive"] == "true"
    assert printed(state, unchecked)["active"] == "true"      # nothing tells RouterOS it is dead


# -- selection: distance, ECMP -------------------------------------------------------------------


def test_the_lowest_distance_is_active_and_the_next_takes_over_when_it_fails():
    state = router()
    primary = add_route(state, gateway=WAN1_GATEWAY, **{"check-gateway": "ping"})
    backup = add_route(state, gateway=WAN2_GATEWAY, distance="2")
    assert printed(state, primary)["active"] == "true"
    assert printed(state, backup)["inactive"] == "false" and "active" not in printed(state, backup)
    state.set_reachable(WAN1_GATEWAY, False)
    assert printed(state, backup)["active"] == "true"
    assert state.lookup("8.8.8.8").gateway == f"{WAN2_GATEWAY}%ether2"


def test_ecmp_gateways_each_have_their_own_state():
    state = router()
    both = add_route(state, gateway=f"{WAN1_GATEWAY},{WAN2_GATEWAY}", **{"check-gateway": "ping"})
    route = printed(state, both)
    assert route["ecmp"] == "true" and route["immediate-gw"] == f"{WAN1_GATEWAY}%ether1,{WAN2_GATEWAY}%ether2"
    state.set_reachable(WAN2_GATEWAY, False)
    route = printed(state, both)
    assert route["active"] == "true" and "ecmp" not in route and route["immediate-gw"] == f"{WAN1_GATEWAY}%ether1"
    assert [hop.up for hop in state.route_state(both).hops] == [True, False]
    state.set_reachable(WAN1_GATEWAY, False)
    assert printed(state, both)["inactive"] == "true"


def test_equal_distance_routes_are_both_active_and_flagged_ecmp():
    state = router()
    first = add_route(state, gateway=WAN1_GATEWAY)
    second = add_route(state, gateway=WAN2_GATEWAY)
    assert all(printed(state, route)["ecmp"] == "true" for route in (first, second))


# -- fib, where gateways resolve -----------------------------------------------------------------


@pytest.mark.parametrize("shown", ["inactive", "active"])
def test_a_table_without_fib_is_never_used_whatever_print_shows(shown):
    state = router(Behaviour(fibless_route_print=shown), fib=False)
    route = add_route(state, gateway=WAN2_GATEWAY, **{"routing-table": "wan2"})
    state.menu("/routing/rule").add({"dst-address": "203.0.113.0/24", "table": "wan2"})
    assert printed(state, route)["inactive"] == ("true" if shown == "inactive" else "false")
    assert state.lookup(FALLBACK_DESTINATION).action == "unreachable"      # main has no default


@pytest.mark.parametrize("resolution, active", [("main", True), ("own-table", False)])
def test_where_a_gateway_of_another_table_resolves(resolution, active):
    state = router(Behaviour(gateway_resolution=resolution))
    plain = add_route(state, gateway=WAN2_GATEWAY, **{"routing-table": "wan2"})
    at_main = add_route(state, gateway=f"{WAN2_GATEWAY}@main", **{"routing-table": "wan2", "distance": "2"})
    assert ("active" in printed(state, plain)) is active
    assert printed(state, at_main)["inactive"] == "false"


# -- the routing decision ------------------------------------------------------------------------


def test_rules_apply_in_list_order_with_their_actions_and_matchers():
    state = router()
    add_route(state, gateway=WAN1_GATEWAY)
    add_route(state, gateway=WAN2_GATEWAY, **{"routing-table": "wan2"})
    add_route(state, blackhole="", **{"dst-address": "10.66.0.0/16", "routing-table": "wan2"})
    rules = state.menu("/routing/rule")
    rules.add({"src-address": "192.168.88.0/24", "dst-address": "10.0.0.0/8", "action": "drop"})
    rules.add({"interface": "ether5", "action": "unreachable"})
    rules.add({"routing-mark": "wan1", "table": "wan2"})
    rules.add({"dst-address": "10.66.0.0/16", "table": "wan2", "disabled": "yes"})
    rules.add({"src-address": "192.168.89.0/24", "table": "wan2", "min-prefix": "0"})
    rules.add({"dst-address": "10.66.0.0/16", "table": "wan2"})
    assert state.lookup("192.0.2.2").action == "local"
    assert state.lookup("10.1.1.1", src="192.168.88.5").action == "drop"
    assert state.lookup("8.8.8.8", interface="ether5").action == "unreachable"
    by_mark_rule = state.lookup("8.8.8.8", routing_mark="wan1")        # wan1 has no route: the rules
    assert by_mark_rule.table == "wan2" and by_mark_rule.rule["routing-mark"] == "wan1"
    marked = state.lookup("8.8.8.8", routing_mark="wan2")
    assert marked.table == "wan2" and marked.rule is None                # the mark's own table first
    assert state.lookup("8.8.8.8", src="192.168.89.1").table == "main"   # min-prefix hides the default
    assert state.lookup("10.66.1.1").action == "blackhole"
    assert state.lookup("8.8.8.8").table == "main"


def test_a_rule_whose_table_was_removed_is_skipped():
    state = router()
    add_route(state, gateway=WAN1_GATEWAY)
    add_route(state, gateway=WAN2_GATEWAY, **{"routing-table": "wan2"})
    state.menu("/routing/rule").add({"table": "wan2", "action": "lookup-only-in-table"})
    assert state.lookup("8.8.8.8").table == "wan2"
    state.menu("/routing/table").remove({".id": "wan2"})
    decision = state.lookup("8.8.8.8")
    assert decision.table == "main" and decision.trace[-1].startswith("table main")
