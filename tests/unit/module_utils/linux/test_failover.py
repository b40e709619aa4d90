"""The routes the failover agent lays over the static layout, for every combination of WANs up."""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.config_entries import validated_entries
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import failover, pbr_table

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


def test_learned_gateways_replace_the_configured_ones():
    tables = failover.runtime_tables(routing(), ALL_UP, {"wan2": {"ipv4": "198.51.100.9"}, "lte": {"ipv4": None}})
    assert routes_of(tables, "main")[0]["nexthops"][1]["via"] == "198.51.100.9"


@pytest.mark.parametrize("up", [ALL_UP, WAN2_DOWN, {"ipv4": ["lte"], "ipv6": []}])
@pytest.mark.parametrize("fallback", ["balance", "none", "wan1"])
def test_the_entries_are_what_pbr_table_accepts_as_they_are(up, fallback):
    """The agent skips the option-spec check (it needs ansible-core): the entries must already pass it."""
    tables = failover.runtime_tables(routing(policy(fallback)), up)
    checked = validated_entries(pbr_table.CONFIG_SPEC, tables)
    params = {"state": "overridden", "protocol": "212"}
    assert [pbr_table.normalise(entry, params, None) for entry in tables] == \
        [pbr_table.normalise(entry, params, None) for entry in checked]


@pytest.mark.parametrize("change, field", [
    ({"protocol": "boot"}, "routing.protocol"),
    ({"wans": []}, "routing.wans"),
    ({"wans": [dict(WAN1, device="wan#1")]}, "routing.wans[0].device"),
    ({"policies": [policy("nosuch")]}, "routing.policies[0].fallback"),
    ({"policies": [policy("none", wan="nosuch")]}, "routing.policies[0].wan"),
])
def test_a_routing_document_the_agent_cannot_use_is_refused_by_field(change, field):
    with pytest.raises(InvalidInput) as error:
        failover.check_routing(dict(routing(), **change))
    assert error.value.field == field
