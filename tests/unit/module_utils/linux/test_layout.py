"""The role linux_multiwan's decisions, as data: tables, rules, marks, sysctls."""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.layout import (
    derived_mark, layout, sysctl_changes)

# `ip -json address show` as the lab router prints it (trimmed to the fields read)
INTERFACES = [
    {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"}]},
    {"ifname": "wan1", "addr_info": [{"family": "inet", "local": "198.51.100.2", "prefixlen": 30, "scope": "global"},
                                     {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]},
    {"ifname": "wan2", "addr_info": [{"family": "inet", "local": "203.0.113.2", "prefixlen": 30, "scope": "global"},
                                     {"family": "inet6", "local": "2001:db8:2::2", "prefixlen": 64,
                                      "scope": "global"}]},
]
INTERFACES_DUAL_STACK = [
    {"ifname": "wan1", "addr_info": [{"family": "inet", "local": "198.51.100.2", "prefixlen": 30, "scope": "global"},
                                     {"family": "inet6", "local": "2001:db8:1::2", "prefixlen": 64,
                                      "scope": "global"}]},
    INTERFACES[2],
]
WANS = [{"name": "isp1", "device": "wan1", "gateway": "198.51.100.1"},
        {"name": "isp2", "device": "wan2", "gateway": "203.0.113.1", "weight": 3}]


def rules_at(result, priority):
    return [rule for rule in result["rules"] if rule["priority"] == priority]


def table(result, name):
    return next(t for t in result["tables"] if t["name"] == name)


def test_each_wan_gets_a_table_with_connected_default_and_last_resort_routes():
    result = layout(WANS, interfaces=INTERFACES)
    assert table(result, "isp2") == {"name": "isp2", "id": 102, "routes": [
        {"dst": "203.0.113.0/30", "dev": "wan2", "scope": "link", "src": "203.0.113.2"},
        {"dst": "0.0.0.0/0", "via": "203.0.113.1", "dev": "wan2"},
        {"dst": "0.0.0.0/0", "type": "unreachable", "metric": 4294967294}]}


def test_connected_destinations_win_then_source_then_mark():
    result = layout(WANS, interfaces=INTERFACES)
    assert rules_at(result, 1000) == [{"priority": 1000, "family": "ipv4", "table": "main", "suppress_prefixlength": 0}]
    assert rules_at(result, 1012) == [{"priority": 1012, "family": "ipv4", "from": "203.0.113.2", "table": 102}]
    assert rules_at(result, 1102) == [{"priority": 1102, "family": "ipv4", "fwmark": "0x200", "fwmask": "0xff00",
                                       "table": 102}]


def test_weighted_multipath_default_in_main():
    result = layout(WANS, interfaces=INTERFACES)
    assert table(result, "main")["routes"] == [{"dst": "0.0.0.0/0", "metric": 0, "nexthops": [
        {"via": "198.51.100.1", "dev": "wan1", "weight": 1}, {"via": "203.0.113.1", "dev": "wan2", "weight": 3}]}]
    assert not any(t["name"] == "main" for t in layout(WANS, settings={"balance": False},
                                                       interfaces=INTERFACES)["tables"])


def test_a_family_one_wan_carries_gets_a_plain_default_in_main():
    # one WAN left (or IPv6 on one WAN only): a multipath route of one hop is refused by pbr_table
    dual_stack = [WANS[0], dict(WANS[1], family="both", gateway=["203.0.113.1", "2001:db8:2::1"])]
    assert table(layout(WANS[:1], interfaces=INTERFACES), "main")["routes"] == [
        {"dst": "0.0.0.0/0", "metric": 0, "via": "198.51.100.1", "dev": "wan1"}]
    assert table(layout(dual_stack, interfaces=INTERFACES), "main")["routes"][1] == {
        "dst": "::/0", "metric": 1, "via": "2001:db8:2::1", "dev": "wan2"}


def test_the_ipv6_balanced_default_never_gets_metric_0():
    # the kernel stores IPv6 metric 0 as 1024, behind a router advertisement's default (1024) or a
    # DHCP client's (100); 1 is the best IPv6 metric there is
    dual_stack = [dict(wan, family="both", gateway=[wan["gateway"], "2001:db8:%d::1" % index])
                  for index, wan in enumerate(WANS, 1)]
    routes = table(layout(dual_stack, interfaces=INTERFACES_DUAL_STACK), "main")["routes"]
    assert [(route["dst"], route["metric"]) for route in routes] == [("0.0.0.0/0", 0), ("::/0", 1)]
    routes = table(layout(dual_stack, settings={"balance_metric": 50}, interfaces=INTERFACES_DUAL_STACK),
                   "main")["routes"]
    assert [route["metric"] for route in routes] == [50, 50]


def test_a_policy_with_exclusions_gets_a_table_of_throw_routes():
    policies = [{"name": "tcp_out", "wan": "isp2", "ipproto": "tcp", "exclude": ["10.1.2.3/8", "192.168.0.0/16"]}]
    result = layout(WANS, policies, interfaces=INTERFACES)
    assert table(result, "isp2_tcp_out")["id"] == 201
    assert table(result, "isp2_tcp_out")["routes"][:2] == [{"dst": "10.0.0.0/8", "type": "throw"},
                                                           {"dst": "192.168.0.0/16", "type": "throw"}]
    assert rules_at(result, 2000) == [{"priority": 2000, "family": "ipv4", "ipproto": "tcp", "table": 201}]


def test_a_destination_policy_uses_the_wan_table_one_rule_per_prefix():
    policies = [{"name": "a", "wan": "isp1", "to": "192.0.2.1/32"},
                {"name": "b", "wan": "isp1", "to": ["100.64.0.20/32", "100.64.0.21/32"], "priority": 2500}]
    result = layout(WANS, policies, interfaces=INTERFACES)
    assert rules_at(result, 2000)[0]["table"] == 101
    assert [r["to"] for r in result["rules"] if r["priority"] in (2500, 2501)] == ["100.64.0.20/32", "100.64.0.21/32"]


def test_dual_stack_wan_numbers_both_families():
    wans = [{"name": "isp2", "device": "wan2", "family": "both", "gateway": ["203.0.113.1", "2001:db8:2::1"]}]
    result = layout(wans, interfaces=INTERFACES)
    assert [r["family"] for r in rules_at(result, 1101)] == ["ipv4", "ipv6"]
    # IPv6 routes have no scope but global: pbr_table refuses "link", as the kernel would ignore it
    assert {"dst": "2001:db8:2::/64", "dev": "wan2", "src": "2001:db8:2::2"} in table(result, "isp2")["routes"]
    assert {"dst": "203.0.113.0/30", "dev": "wan2", "scope": "link", "src": "203.0.113.2"} in \
        table(result, "isp2")["routes"]
    assert result["sysctls"]["net.ipv6.conf.all.forwarding"] == "1"


def test_marks_derive_from_the_mask():
    assert [derived_mark(i, "0xff00") for i in (1, 2, 255)] == ["0x100", "0x200", "0xff00"]
    assert derived_mark(3, "0x70") == "0x30"
    with pytest.raises(InvalidInput):
        derived_mark(256, "0xff00")


@pytest.mark.parametrize("wans, policies, field", [
    ([{"name": "isp1", "device": "wan1"}], [], "multiwan_wans[0].gateway"),
    ([{"name": "isp1", "device": "wan1", "gateway": "2001:db8::1"}], [], "multiwan_wans[0].gateway"),
    ([{"name": "isp1", "device": "wan9", "gateway": "192.0.2.1"}], [], "multiwan_wans[0].address"),
    (WANS + [{"name": "isp1", "device": "wan2", "gateway": "203.0.113.1"}], [], "multiwan_wans[].name"),
    (WANS, [{"name": "p", "wan": "isp9"}], "multiwan_policies[0].wan"),
    (WANS, [{"name": "p", "wan": "isp1", "priority": 40000}], "multiwan_policies[0].priority"),
    (WANS, [{"name": "p", "wan": "isp1", "to": "2001:db8::/32"}], "multiwan_policies[0]"),
    (WANS, [{"name": "p", "wan": "isp1", "exclude": ["not-a-prefix"]}], "multiwan_policies[0].exclude"),
    ([dict(WANS[0], weight=0)], [], "multiwan_wans[0].weight"),
])
def test_bad_input_names_the_field(wans, policies, field):
    with pytest.raises(InvalidInput) as error:
        layout(wans, policies, interfaces=INTERFACES)
    assert error.value.field == field


def test_sysctl_changes_lists_only_what_differs():
    wanted = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.wan1.rp_filter": "2"}
    assert sysctl_changes(wanted, ["1", "0"]) == ["net.ipv4.conf.wan1.rp_filter=2"]
    assert sysctl_changes(wanted, ["1", "2"]) == []
