"""The routes the failover agent lays over the static layout, for every combination of WANs up."""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.config_entries import validated_entries
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import failover, pbr_rule, pbr_table

WAN1 = {"name": "wan1", "device": "wan1", "table": 101, "weight": 1, "families": ["ipv4", "ipv6"],
        "gateway": {"ipv4": "192.0.2.1", "ipv6": "2001:db8:a::1"}}
WAN2 = {"name": "wan2", "device": "wan2", "table": 102, "weight": 3, "families": ["ipv4"],
        "gateway": {"ipv4": "198.51.100.1"}}
WAN3 = {"name": "lte", "device": "wwan0", "table": 103, "weight": 1, "families": ["ipv4"], "gateway": {}}


def routing(*policies):
    return {"protocol": "212", "metric": 0, "mask": "0xff00", "wans": [WAN1, WAN2, WAN3], "policies": list(policies)}


def policy(fallback, wan="wan2"):
    return {"name": "https", "wan": wan, "table": 201, "families": ["ipv4"], "fallback": fallback}


ALL_UP = {"ipv4": ["wan1", "wan2", "lte"], "ipv6": ["wan1"]}
WAN2_DOWN = {"ipv4": ["wan1", "lte"], "ipv6": ["wan1"]}


def routes_of(tables, name):
    return [table["routes"] for table in tables if table["name"] == name][0]


def hops(route):
    return [(hop["dev"], hop["weight"]) for hop in route["nexthops"]] if "nexthops" in route else [(route["dev"], None)]


def test_every_wan_up_balances_over_all_of_them_by_weight():
    main = routes_of(failover.runtime_tables(routing(), ALL_UP), "main")
    assert [route["family"] for route in main] == ["ipv4", "ipv6"]
    assert hops(main[0]) == [("wan1", 1), ("wan2", 3), ("wwan0", 1)]
    assert main[0]["nexthops"][2] == {"dev": "wwan0", "weight": 1}          # point to point: by device
    assert main[1] == {"dst": "default", "family": "ipv6", "metric": 1, "via": "2001:db8:a::1", "dev": "wan1"}


def test_a_down_wan_leaves_the_balance():
    main = routes_of(failover.runtime_tables(routing(), WAN2_DOWN), "main")
    assert hops(main[0]) == [("wan1", 1), ("wwan0", 1)]


def test_a_family_with_no_wan_up_keeps_every_wan():
    main = routes_of(failover.runtime_tables(routing(), {"ipv4": [], "ipv6": []}), "main")
    assert hops(main[0]) == [("wan1", 1), ("wan2", 3), ("wwan0", 1)] and hops(main[1]) == [("wan1", None)]


@pytest.mark.parametrize("fallback, expected", [
    ("balance", [("wan1", 1), ("wwan0", 1)]),
    ("none", [("wan2", None)]),                 # strict: its traffic never leaks to another WAN
    ("lte", [("wwan0", None)]),
    ("wan1", [("wan1", None)]),
])
def test_a_policy_follows_its_fallback_when_its_wan_is_down(fallback, expected):
    tables = failover.runtime_tables(routing(policy(fallback)), WAN2_DOWN)
    assert [hops(route) for route in routes_of(tables, "201")] == [expected]
    assert [hops(route) for route in routes_of(failover.runtime_tables(routing(policy(fallback)), ALL_UP), "201")] \
        == [[("wan2", None)]]


def test_a_fallback_wan_that_is_down_too_leaves_the_policy_on_its_own_wan():
    tables = failover.runtime_tables(routing(policy("lte")), {"ipv4": ["wan1"], "ipv6": ["wan1"]})
    assert [hops(route) for route in routes_of(tables, "201")] == [[("wan2", None)]]


def facts_of(by_wan):
    """``facts`` for runtime_tables: ``{"wan2": ("198.51.100.9/24", "198.51.100.1")}`` per IPv4 WAN."""
    found = {}
    for name, (address, gateway) in by_wan.items():
        found[name] = {"ipv4": {"address": address, "gateway": gateway, "peer": None}}
    return found


EVERY_ADDRESS = dict(wan1=("192.0.2.2/24", "192.0.2.1"), wan2=("198.51.100.2/24", "198.51.100.1"),
                     lte=("100.64.9.2/32", None))


def test_learned_gateways_replace_the_configured_ones():
    facts = facts_of(dict(EVERY_ADDRESS, wan2=("198.51.100.2/24", "198.51.100.9")))
    tables = failover.runtime_tables(routing(), ALL_UP, facts)
    assert routes_of(tables, "main")[0]["nexthops"][1]["via"] == "198.51.100.9"


def test_a_wan_without_its_address_or_learned_gateway_is_left_out_even_when_up():
    # a DHCP client renumbering: the address or the default route is briefly missing
    for missing in ((None, "198.51.100.1"), ("198.51.100.2/24", None)):
        facts = facts_of(dict(EVERY_ADDRESS, wan2=missing))
        assert hops(routes_of(failover.runtime_tables(routing(), ALL_UP, facts), "main")[0]) == [
            ("wan1", 1), ("wwan0", 1)]
    # a point-to-point WAN needs no gateway, only its address
    facts = facts_of(dict(EVERY_ADDRESS, lte=(None, None)))
    assert ("wwan0", 1) not in hops(routes_of(failover.runtime_tables(routing(), ALL_UP, facts), "main")[0])


def test_a_family_with_no_usable_wan_gets_no_route_from_the_agent():
    facts = facts_of(dict(wan1=(None, None), wan2=(None, None), lte=(None, None)))
    tables = failover.runtime_tables(routing(policy("none")), ALL_UP, facts)
    assert [route["family"] for route in routes_of(tables, "main")] == []        # the static routes carry on
    assert routes_of(tables, "201") == []           # strict: the last resort (unreachable), never another WAN


DYNAMIC = dict(WAN2, gateway={"ipv4": "dhcp"}, dynamic=["ipv4"], from_priority=1012)
P2P = dict(WAN3, dynamic=["ipv4"], from_priority=1013)


def dynamic_routing(*policies):
    return dict(routing(*policies), wans=[WAN1, DYNAMIC, P2P])


def test_the_agent_keeps_the_wan_tables_and_from_rules_of_dynamic_families():
    facts = facts_of(EVERY_ADDRESS)
    facts["lte"]["ipv4"]["peer"] = "100.64.9.1"
    tables = failover.runtime_tables(dynamic_routing(), WAN2_DOWN, facts)
    assert routes_of(tables, "102") == [
        {"dst": "198.51.100.0/24", "dev": "wan2", "src": "198.51.100.2", "scope": "link"},
        {"dst": "default", "family": "ipv4", "via": "198.51.100.1", "dev": "wan2"}]      # down: probes use it
    assert routes_of(tables, "103") == [
        {"dst": "100.64.9.1/32", "dev": "wwan0", "src": "100.64.9.2", "scope": "link"},
        {"dst": "default", "family": "ipv4", "dev": "wwan0"}]
    assert "101" not in [table["name"] for table in tables]         # static: the modules' table
    assert failover.runtime_rules(dynamic_routing(), facts) == [
        {"priority": 1012, "family": "ipv4", "from": "198.51.100.2", "table": 102},
        {"priority": 1013, "family": "ipv4", "from": "100.64.9.2", "table": 103}]


def test_a_dynamic_wan_without_its_facts_gets_nothing_and_keeps_nothing():
    facts = facts_of(dict(EVERY_ADDRESS, wan2=(None, None), lte=("100.64.9.2/32", None)))
    tables = failover.runtime_tables(dynamic_routing(), ALL_UP, facts)
    assert "102" not in [table["name"] for table in tables]       # overridden removes what the agent laid there
    assert failover.runtime_rules(dynamic_routing(), facts) == [
        {"priority": 1013, "family": "ipv4", "from": "100.64.9.2", "table": 103}]
    # an address without a learned gateway: the connected route only (nothing to route by yet)
    facts = facts_of(dict(EVERY_ADDRESS, wan2=("198.51.100.2/24", None)))
    assert routes_of(failover.runtime_tables(dynamic_routing(), ALL_UP, facts), "102") == [
        {"dst": "198.51.100.0/24", "dev": "wan2", "src": "198.51.100.2", "scope": "link"}]


def test_ipv6_dynamic_tables_route_through_the_link_local_router():
    wan = {"name": "wan6", "device": "wan6", "table": 106, "weight": 1, "families": ["ipv6"],
           "gateway": {"ipv6": "dhcp"}, "dynamic": ["ipv6"], "from_priority": 1016}
    facts = {"wan6": {"ipv6": {"address": "2001:db8:6::2/64", "gateway": "fe80::1", "peer": None}}}
    tables = failover.runtime_tables(dict(routing(), wans=[wan]), {"ipv6": ["wan6"]}, facts)
    assert routes_of(tables, "106") == [
        {"dst": "2001:db8:6::/64", "dev": "wan6", "src": "2001:db8:6::2"},
        {"dst": "default", "family": "ipv6", "metric": 1, "via": "fe80::1", "dev": "wan6"}]


@pytest.mark.parametrize("up", [ALL_UP, WAN2_DOWN, {"ipv4": ["lte"], "ipv6": []}])
@pytest.mark.parametrize("fallback", ["balance", "none", "wan1"])
def test_the_entries_are_what_pbr_table_and_pbr_rule_accept_as_they_are(up, fallback):
    """The agent skips the option-spec check (it needs ansible-core): the entries must already pass it."""
    facts = facts_of(EVERY_ADDRESS)
    tables = failover.runtime_tables(dynamic_routing(policy(fallback)), up, facts)
    params = {"state": "overridden", "protocol": "212"}
    checked = validated_entries(pbr_table.CONFIG_SPEC, tables)
    assert [pbr_table.normalise(entry, params, None) for entry in tables] == \
        [pbr_table.normalise(entry, params, None) for entry in checked]
    rules = failover.runtime_rules(dynamic_routing(), facts)
    checked = validated_entries(pbr_rule.CONFIG_SPEC, rules)
    assert [pbr_rule.normalise(entry, params, None) for entry in rules] == \
        [pbr_rule.normalise(entry, params, None) for entry in checked]


@pytest.mark.parametrize("change, field", [
    ({"protocol": "boot"}, "routing.protocol"),
    ({"wans": []}, "routing.wans"),
    ({"wans": [dict(WAN1, device="wan#1")]}, "routing.wans[0].device"),
    ({"policies": [policy("nosuch")]}, "routing.policies[0].fallback"),
    ({"policies": [policy("none", wan="nosuch")]}, "routing.policies[0].wan"),
    ({"wans": [dict(WAN1, dynamic=["ipv6", "ipv4"])]}, "routing.wans[0].from_priority"),
    ({"wans": [dict(WAN2, dynamic=["ipv6"])]}, "routing.wans[0].dynamic"),
    ({"wans": [dict(WAN2, gateway={"ipv6": "dhcp"})]}, "routing.wans[0].gateway"),
])
def test_a_routing_document_the_agent_cannot_use_is_refused_by_field(change, field):
    with pytest.raises(InvalidInput) as error:
        failover.check_routing(dict(routing(), **change))
    assert error.value.field == field
