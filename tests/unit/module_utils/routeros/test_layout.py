"""The role routeros_dst_routing's decisions: inventory variables in, module configs out."""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.layout import layout

WANS = [{"name": "fiber", "gateway": "192.0.2.1"},
        {"name": "cell", "gateway": "10.254.15.129", "distance": 2, "check_gateway": "ping"}]


def test_each_wan_is_a_fib_table_with_a_default_route():
    result = layout(WANS)
    assert result["tables"] == [{"name": "fiber", "fib": True}, {"name": "cell", "fib": True}]
    assert result["routes"] == [
        {"name": "fiber-default", "dst_address": "0.0.0.0/0", "gateway": "192.0.2.1", "distance": 1,
         "routing_table": "fiber"},
        {"name": "cell-default", "dst_address": "0.0.0.0/0", "gateway": "10.254.15.129", "distance": 2,
         "routing_table": "cell", "check_gateway": "ping"}]
    assert result["rules"] == result["exclusions"] == result["only_in_table"] == []


def test_destinations_become_rules_in_order_and_a_list_numbers_them():
    result = layout(WANS, [
        {"name": "host", "dst_address": "47.109.74.243", "wan": "cell"},
        {"name": "nets", "dst_address": ["203.0.113.0/24"], "wan": "cell", "action": "lookup-only-in-table"},
        {"name": "dns", "dst_address": ["192.0.2.53", "192.0.2.54"], "wan": "fiber"}])
    assert result["rules"] == [
        {"name": "host", "dst_address": "47.109.74.243", "table": "cell", "action": "lookup"},
        {"name": "nets.1", "dst_address": "203.0.113.0/24", "table": "cell", "action": "lookup-only-in-table"},
        {"name": "dns.1", "dst_address": "192.0.2.53", "table": "fiber", "action": "lookup"},
        {"name": "dns.2", "dst_address": "192.0.2.54", "table": "fiber", "action": "lookup"}]
    assert result["only_in_table"] == [{"dst_address": "203.0.113.0/24", "table": "cell"}]


def test_output_exclusions_cover_lan_tunnels_dns_and_probes_in_that_order():
    result = layout(WANS, [], {"lan_prefixes": ["192.168.88.0/24"], "interfaces": ["wg1"], "dns": True,
                               "gateway_probes": ["10.254.15.129"]})
    assert result["exclusions"] == [
        {"name": "exclude-lan-192.168.88.0/24", "dst_address": "192.168.88.0/24"},
        {"name": "exclude-if-wg1", "out_interface": "wg1"},
        {"name": "exclude-dns-udp", "protocol": "udp", "dst_port": "53"},
        {"name": "exclude-dns-tcp", "protocol": "tcp", "dst_port": "53"},
        {"name": "exclude-probe-10.254.15.129", "dst_address": "10.254.15.129"}]


@pytest.mark.parametrize("wans, destinations, exclusions, field", [
    ([{"name": "fiber"}], [], {}, "routeros_pbr_wans[0].gateway"),
    (["fiber"], [], {}, "routeros_pbr_wans[0]"),
    (WANS + [WANS[0]], [], {}, "routeros_pbr_wans[].name"),
    (WANS, [{"name": "x", "dst_address": "192.0.2.9", "wan": "dsl"}], {}, "routeros_pbr_destinations[0].wan"),
    (WANS, [{"name": "x", "dst_address": "192.0.2.9", "wan": "cell", "action": "drop"}], {},
     "routeros_pbr_destinations[0].action"),
    (WANS, [{"name": "x", "dst_address": [], "wan": "cell"}], {}, "routeros_pbr_destinations[0].dst_address"),
    (WANS, [{"dst_address": "192.0.2.9", "wan": "cell"}], {}, "routeros_pbr_destinations[0].name"),
    (WANS, [{"name": "x", "dst_address": "192.0.2.9", "wan": "cell"}] * 2, {}, "routeros_pbr_destinations[].name"),
    (WANS, [], {"lan": ["192.168.88.0/24"]}, "routeros_pbr_output_exclusions"),
    (WANS, [], {"interfaces": "wg1"}, "routeros_pbr_output_exclusions.interfaces"),
])
def test_inconsistent_inventory_is_refused_naming_the_variable(wans, destinations, exclusions, field):
    with pytest.raises(InvalidInput) as error:
        layout(wans, destinations, exclusions)
    assert error.value.field == field


# Every config goes through the engine of the module that gets it, offline; refusals name the inventory
# (issue 11 defects 7 and 16: nothing is corrected on the way, distance 0 is not turned into 1)
@pytest.mark.parametrize("wans, destinations, exclusions, placement, field, value", [
    ([dict(WANS[0], distance=0)], [], {}, None, "routeros_pbr_wans[0].distance", 0),
    ([dict(WANS[0], distance=256)], [], {}, None, "routeros_pbr_wans[0].distance", 256),
    ([dict(WANS[0], distance="near")], [], {}, None, "routeros_pbr_wans[0].distance", "near"),
    ([dict(WANS[0], check_gateway="bfd")], [], {}, None, "routeros_pbr_wans[0].check_gateway", "bfd"),
    ([dict(WANS[0], gateway="192.0.2.1 192.0.2.2")], [], {}, None, "routeros_pbr_wans[0].gateway",
     "192.0.2.1 192.0.2.2"),
    ([dict(WANS[0], name="my wan")], [], {}, None, "routeros_pbr_wans[0].name", "my wan"),
    ([dict(WANS[0], name="fibre\u00e9")], [], {}, None, "routeros_pbr_wans[0].name", "fibre\u00e9"),
    (WANS, [{"name": "x", "dst_address": "192.0.2.300", "wan": "cell"}], {}, None,
     "routeros_pbr_destinations[0].dst_address", "192.0.2.300"),
    (WANS, [{"name": "x", "dst_address": ["192.0.2.9", "nowhere"], "wan": "cell"}], {}, None,
     "routeros_pbr_destinations[0].dst_address[1]", "nowhere"),
    (WANS, [{"name": "x y", "dst_address": "192.0.2.9", "wan": "cell"}], {}, None,
     "routeros_pbr_destinations[0].name", "x y"),
    (WANS, [], {"lan_prefixes": ["192.168.88.0/33"]}, None, "routeros_pbr_output_exclusions.lan_prefixes[0]",
     "192.168.88.0/33"),
    (WANS, [], {"interfaces": ["wg 1"]}, None, "routeros_pbr_output_exclusions.interfaces[0]", "wg 1"),
    (WANS, [], {}, {"position": "before"}, "routeros_pbr_rule_placement.anchor", None),
    (WANS, [], {}, {"position": "middle"}, "routeros_pbr_rule_placement.position", "middle"),
])
def test_the_modules_own_checks_refuse_naming_the_inventory(wans, destinations, exclusions, placement, field, value):
    with pytest.raises(InvalidInput) as error:
        layout(wans, destinations, exclusions, placement)
    assert (error.value.field, error.value.value) == (field, value), error.value


def test_distance_is_passed_as_given_and_defaults_to_1():
    result = layout([dict(WANS[0], distance=5), WANS[1]])
    assert [route["distance"] for route in result["routes"]] == [5, 2]
    assert layout(WANS[:1])["routes"][0]["distance"] == 1


# ---------------------------------------------------------------------------
# Failover (issue 14): monitor targets, distance and fallback, strict destinations, netwatch

MONITORED = [{"name": "fiber", "gateway": "192.0.2.1", "monitor": ["198.18.2.2", "198.18.2.3"]},
             {"name": "cell", "gateway": "10.254.15.129%ether2", "distance": 2, "check_gateway": "arp",
              "monitor": ["198.18.3.3"]},
             {"name": "dsl", "gateway": "203.0.113.1", "distance": 3}]


def routes_by_name(result):
    return dict((route["name"], route) for route in result["routes"])


def test_monitor_targets_get_host_routes_and_the_default_resolves_through_them_in_the_wans_table():
    routes = routes_by_name(layout(MONITORED))
    assert routes["fiber-monitor-198.18.2.2"] == {
        "name": "fiber-monitor-198.18.2.2", "dst_address": "198.18.2.2", "gateway": "192.0.2.1", "scope": 10,
        "routing_table": "fiber"}
    assert routes["fiber-default"] == {
        "name": "fiber-default", "dst_address": "0.0.0.0/0", "distance": 1, "routing_table": "fiber",
        "gateway": "198.18.2.2@fiber,198.18.2.3@fiber", "target_scope": 11, "check_gateway": "ping"}
    # check_gateway checks the WAN's own gateway: the host routes'
    assert routes["cell-monitor-198.18.3.3"]["check_gateway"] == "arp"
    assert routes["cell-monitor-198.18.3.3"]["gateway"] == "10.254.15.129%ether2"
    assert routes["dsl-default"]["gateway"] == "203.0.113.1" and "target_scope" not in routes["dsl-default"]


def test_each_monitor_target_gets_a_strict_rule_first_in_the_block():
    result = layout(MONITORED, [{"name": "office", "dst_address": "203.0.113.0/24", "wan": "dsl"}])
    assert result["rules"] == [
        {"name": "fiber-monitor-198.18.2.2", "dst_address": "198.18.2.2", "table": "fiber",
         "action": "lookup-only-in-table"},
        {"name": "fiber-monitor-198.18.2.3", "dst_address": "198.18.2.3", "table": "fiber",
         "action": "lookup-only-in-table"},
        {"name": "cell-monitor-198.18.3.3", "dst_address": "198.18.3.3", "table": "cell",
         "action": "lookup-only-in-table"},
        {"name": "office", "dst_address": "203.0.113.0/24", "table": "dsl", "action": "lookup"}]
    assert result["only_in_table"] == []      # the audit is told of strict destinations only


def test_fallback_wans_adds_backups_through_the_others_in_distance_order():
    wans = [dict(MONITORED[2], fallback="wans", distance=1), dict(MONITORED[0], distance=5), MONITORED[1]]
    routes = routes_by_name(layout(wans))
    assert [(name, route["distance"], route["gateway"]) for name, route in routes.items()
            if route["routing_table"] == "dsl"] == [
        ("dsl-default", 1, "203.0.113.1"),
        ("dsl-via-cell", 2, "198.18.3.3@cell"),
        ("dsl-via-fiber", 3, "198.18.2.2@fiber,198.18.2.3@fiber")]
    assert routes["dsl-via-cell"]["check_gateway"] == "ping" and routes["dsl-via-cell"]["target_scope"] == 11
    assert not any(name.startswith(("fiber-via", "cell-via")) for name in routes)     # fallback: main


@pytest.mark.parametrize("destination, expected", [
    ({}, "lookup"), ({"strict": False}, "lookup"), ({"strict": True}, "lookup-only-in-table"),
    ({"action": "lookup-only-in-table"}, "lookup-only-in-table"),
    ({"strict": True, "action": "lookup-only-in-table"}, "lookup-only-in-table"),
])
def test_strict_names_the_rule_action(destination, expected):
    rules = layout(WANS, [dict({"name": "x", "dst_address": "192.0.2.9", "wan": "cell"}, **destination)])["rules"]
    assert rules[0]["action"] == expected


def test_netwatch_makes_an_entry_per_monitor_target():
    wans = [dict(MONITORED[0], netwatch={"down_script": ":log warning down", "interval": "30s"})] + MONITORED[1:]
    assert layout(wans)["netwatch"] == [
        {"name": "fiber-monitor-198.18.2.2", "host": "198.18.2.2", "down_script": ":log warning down",
         "interval": "30s"},
        {"name": "fiber-monitor-198.18.2.3", "host": "198.18.2.3", "down_script": ":log warning down",
         "interval": "30s"}]
    assert layout(MONITORED)["netwatch"] == []


DESTINATION = {"name": "x", "dst_address": "192.0.2.9", "wan": "cell"}


@pytest.mark.parametrize("wans, destinations, field, value", [
    ([dict(MONITORED[0], monitor="198.18.2.2")], [], "routeros_pbr_wans[0].monitor", "198.18.2.2"),
    ([dict(MONITORED[0], monitor=["198.18.2.300"])], [], "routeros_pbr_wans[0].monitor[0]", "198.18.2.300"),
    ([dict(MONITORED[0], monitor=["2001:db8::1"])], [], "routeros_pbr_wans[0].monitor[0]", "2001:db8::1"),
    ([dict(MONITORED[0], monitor=["198.18.2.2", "198.18.2.2"])], [], "routeros_pbr_wans[0].monitor[1]",
     "198.18.2.2"),
    ([MONITORED[0], dict(MONITORED[1], monitor=["198.18.2.3"])], [], "routeros_pbr_wans[1].monitor[0]",
     "198.18.2.3"),
    (MONITORED, [dict(DESTINATION, dst_address=["192.0.2.9", "198.18.3.3"])],
     "routeros_pbr_destinations[0].dst_address[1]", "198.18.3.3"),
    ([dict(MONITORED[0], fallback="dsl")] + MONITORED[1:], [], "routeros_pbr_wans[0].fallback", "dsl"),
    ([MONITORED[0], dict(MONITORED[1], fallback="wans")] + MONITORED[2:], [dict(DESTINATION, strict=True)],
     "routeros_pbr_destinations[0].strict", True),
    ([dict(MONITORED[0], distance=254, fallback="wans")] + MONITORED[1:], [], "routeros_pbr_wans[0].distance", 254),
    ([dict(MONITORED[0], fallback="wans"), dict(MONITORED[1], distance="near")], [],
     "routeros_pbr_wans[1].distance", "near"),
    (MONITORED, [dict(DESTINATION, strict="yes")], "routeros_pbr_destinations[0].strict", "yes"),
    (MONITORED, [dict(DESTINATION, strict=True, action="lookup")], "routeros_pbr_destinations[0].action", "lookup"),
    ([dict(MONITORED[2], netwatch={"down_script": "x"})], [], "routeros_pbr_wans[0].netwatch", {"down_script": "x"}),
    ([dict(MONITORED[0], netwatch={"script": "x"})], [], "routeros_pbr_wans[0].netwatch", "script"),
    ([dict(MONITORED[0], netwatch={"interval": "soon"})], [], "routeros_pbr_wans[0].netwatch.interval", "soon"),
])
def test_failover_input_is_refused_naming_the_variable(wans, destinations, field, value):
    with pytest.raises(InvalidInput) as error:
        layout(wans, destinations)
    assert (error.value.field, error.value.value) == (field, value), error.value
