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
