"""The role linux_multiwan's decisions, as data: tables, rules, marks, sysctls, and every refusal."""

import itertools

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import nft_connmark
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.layout import (
    PLACEHOLDER_ADDRESS, derived_table, layout, sysctl_changes)

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
# Static WANs: a gateway address and the WAN's address given (a WAN without either is the agent's: below)
WANS = [{"name": "isp1", "device": "wan1", "gateway": "198.51.100.1", "address": "198.51.100.2/30"},
        {"name": "isp2", "device": "wan2", "gateway": "203.0.113.1", "weight": 3, "address": "203.0.113.2/30"}]
# Derived from the names alone (pinned: a change renumbers every WAN that gives none)
ISP1_TABLE, ISP2_TABLE, ISP1_MARK, ISP2_MARK = 452, 195, "0x6600", "0x1b00"


def rules_at(result, priority):
    return [rule for rule in result["rules"] if rule["priority"] == priority]


def table(result, name):
    return next(t for t in result["tables"] if t["name"] == name)


def wan(result, name):
    return next(w for w in result["wans"] if w["name"] == name)


def test_each_wan_gets_a_table_with_connected_default_and_last_resort_routes():
    result = layout(WANS, interfaces=INTERFACES)
    assert table(result, "isp2") == {"name": "isp2", "id": ISP2_TABLE, "routes": [
        {"dst": "203.0.113.0/30", "dev": "wan2", "scope": "link", "src": "203.0.113.2"},
        {"dst": "0.0.0.0/0", "via": "203.0.113.1", "dev": "wan2"},
        {"dst": "0.0.0.0/0", "type": "unreachable", "metric": 4294967294}]}


def test_connected_destinations_win_then_source_then_mark():
    # isp2 has the lower table id, so rank 1: its rules come first in the band
    result = layout(WANS, interfaces=INTERFACES)
    assert rules_at(result, 1000) == [{"priority": 1000, "family": "ipv4", "table": "main", "suppress_prefixlength": 0}]
    assert rules_at(result, 1011) == [{"priority": 1011, "family": "ipv4", "from": "203.0.113.2", "table": ISP2_TABLE}]
    assert rules_at(result, 1101) == [{"priority": 1101, "family": "ipv4", "fwmark": ISP2_MARK, "fwmask": "0xff00",
                                       "table": ISP2_TABLE}]
    assert rules_at(result, 1102)[0]["fwmark"] == ISP1_MARK and rules_at(result, 1102)[0]["table"] == ISP1_TABLE


def test_weighted_multipath_default_in_main():
    result = layout(WANS, interfaces=INTERFACES)
    # metric 1: the static balance; the failover agent lays its own at multiwan_balance_metric (0) over it
    assert table(result, "main")["routes"] == [{"dst": "0.0.0.0/0", "metric": 1, "nexthops": [
        {"via": "203.0.113.1", "dev": "wan2", "weight": 3}, {"via": "198.51.100.1", "dev": "wan1", "weight": 1}]}]
    assert not any(t["name"] == "main" for t in layout(WANS, settings={"balance": False},
                                                       interfaces=INTERFACES)["tables"])


def test_a_family_one_wan_carries_gets_a_plain_default_in_main():
    # one WAN left (or IPv6 on one WAN only): a multipath route of one hop is refused by pbr_table
    dual_stack = [WANS[0], dict(WANS[1], family="both", gateway=["203.0.113.1", "2001:db8:2::1"],
                                address=["203.0.113.2/30", "2001:db8:2::2/64"])]
    assert table(layout(WANS[:1], interfaces=INTERFACES), "main")["routes"] == [
        {"dst": "0.0.0.0/0", "metric": 1, "via": "198.51.100.1", "dev": "wan1"}]
    assert table(layout(dual_stack, interfaces=INTERFACES), "main")["routes"][1] == {
        "dst": "::/0", "metric": 2, "via": "2001:db8:2::1", "dev": "wan2"}


def test_the_ipv6_balanced_default_never_gets_metric_0():
    # the kernel stores IPv6 metric 0 as 1024, behind a router advertisement's default (1024) or a
    # DHCP client's (100); 1 is the best IPv6 metric there is
    dual_stack = [dict(item, family="both", gateway=[item["gateway"], "2001:db8:%d::1" % index],
                       address=[item["address"], "2001:db8:%d::2/64" % index]) for index, item in enumerate(WANS, 1)]
    routes = table(layout(dual_stack, interfaces=INTERFACES_DUAL_STACK), "main")["routes"]
    assert [(route["dst"], route["metric"]) for route in routes] == [("0.0.0.0/0", 1), ("::/0", 2)]
    routes = table(layout(dual_stack, settings={"balance_metric": 50}, interfaces=INTERFACES_DUAL_STACK),
                   "main")["routes"]
    assert [route["metric"] for route in routes] == [51, 51]
    without_agent = table(layout(dual_stack, settings={"failover": False}, interfaces=INTERFACES_DUAL_STACK),
                          "main")["routes"]
    assert [route["metric"] for route in without_agent] == [0, 1]


def test_a_policy_with_exclusions_gets_a_table_of_throw_routes():
    policies = [{"name": "tcp_out", "wan": "isp2", "ipproto": "tcp", "exclude": ["10.1.2.3/8", "192.168.0.0/16"]}]
    result = layout(WANS, policies, interfaces=INTERFACES)
    policy_table = table(result, "isp2_tcp_out")
    assert policy_table["id"] == derived_table("tcp_out", 1101, "policy table")
    assert 1101 <= policy_table["id"] <= 2099
    assert policy_table["routes"][:2] == [{"dst": "10.0.0.0/8", "type": "throw"},
                                          {"dst": "192.168.0.0/16", "type": "throw"}]
    assert rules_at(result, 2000) == [{"priority": 2000, "family": "ipv4", "ipproto": "tcp", "table": policy_table["id"]}]
    given = layout(WANS, [dict(policies[0], table=5000)], interfaces=INTERFACES)
    assert table(given, "isp2_tcp_out")["id"] == 5000


def test_a_destination_policy_gets_a_table_of_its_own_one_rule_per_prefix():
    # the agent turns the policy table's default to the fallback; the WAN's own table stays as it is
    policies = [{"name": "a", "wan": "isp1", "to": "192.0.2.1/32"},
                {"name": "b", "wan": "isp1", "to": ["100.64.0.20/32", "100.64.0.21/32"], "priority": 2500}]
    result = layout(WANS, policies, interfaces=INTERFACES)
    assert rules_at(result, 2000)[0]["table"] == derived_table("a", 1101, "policy table") != ISP1_TABLE
    assert table(result, "isp1_a")["routes"] == [
        {"dst": "0.0.0.0/0", "via": "198.51.100.1", "dev": "wan1", "metric": 1},
        {"dst": "0.0.0.0/0", "type": "unreachable", "metric": 4294967294}]
    assert [r["to"] for r in result["rules"] if r["priority"] in (2500, 2501)] == ["100.64.0.20/32", "100.64.0.21/32"]


def test_dual_stack_wan_numbers_both_families():
    wans = [{"name": "isp2", "device": "wan2", "family": "both", "gateway": ["203.0.113.1", "2001:db8:2::1"]}]
    result = layout(wans, settings={"failover": False}, interfaces=INTERFACES)
    assert [r["family"] for r in rules_at(result, 1101)] == ["ipv4", "ipv6"]
    # IPv6 routes have no scope but global: pbr_table refuses "link", as the kernel would ignore it
    assert {"dst": "2001:db8:2::/64", "dev": "wan2", "src": "2001:db8:2::2"} in table(result, "isp2")["routes"]
    assert {"dst": "203.0.113.0/30", "dev": "wan2", "scope": "link", "src": "203.0.113.2"} in \
        table(result, "isp2")["routes"]
    assert result["sysctls"]["net.ipv6.conf.all.forwarding"] == "1"


def test_without_the_agent_interfaces_give_the_addresses_and_placeholders_stand_in_before_the_read():
    # without the failover agent, an address the inventory leaves out is read from the router (today's way);
    # the role's first task checks the inventory before the router is read (or has iproute2): placeholders
    unaddressed = [dict((key, value) for key, value in WANS[0].items() if key != "address")]
    result = layout(unaddressed, settings={"failover": False})
    assert table(result, "isp1")["routes"][0] == {"dst": PLACEHOLDER_ADDRESS["ipv4"], "dev": "wan1", "scope": "link",
                                                  "src": PLACEHOLDER_ADDRESS["ipv4"].split("/", maxsplit=1)[0]}
    with pytest.raises(InvalidInput) as raised:
        layout([dict(unaddressed[0], device="wan9")], settings={"failover": False}, interfaces=INTERFACES)
    assert raised.value.field == "multiwan_wans[0].address"


# ---------------------------------------------------------------------------
# Dynamic WANs (issue 13): what depends on run-time facts is the agent's, never the modules'

DHCP_WAN = {"name": "isp2", "device": "wan2", "gateway": "dhcp", "weight": 3}


def agent_wan(result, name):
    return next(entry for entry in result["agent"]["routing"]["wans"] if entry["name"] == name)


@pytest.mark.parametrize("dynamic", [
    DHCP_WAN,                                                           # the gateway the DHCP client learns
    dict(DHCP_WAN, gateway=None),                                       # point-to-point: routed by device
    dict(DHCP_WAN, gateway="203.0.113.1"),                              # the address left to the device
    dict(DHCP_WAN, gateway={"ipv4": "dhcp"}, address="203.0.113.2/30"),
], ids=["dhcp", "point-to-point", "no-address", "dhcp-with-address"])
def test_a_dynamic_wan_keeps_only_what_needs_no_runtime_fact_in_the_static_layout(dynamic):
    result = layout([WANS[0], dynamic], [{"name": "p", "wan": "isp2", "to": "192.0.2.9/32"}], interfaces=INTERFACES)
    assert table(result, "isp2")["routes"] == [{"dst": "0.0.0.0/0", "type": "unreachable", "metric": 4294967294}]
    assert table(result, "isp2_p")["routes"] == [{"dst": "0.0.0.0/0", "type": "unreachable", "metric": 4294967294}]
    # the static balance is the static WANs'; the agent's covers every WAN
    assert table(result, "main")["routes"] == [{"dst": "0.0.0.0/0", "metric": 1, "via": "198.51.100.1", "dev": "wan1"}]
    # no `from` rule for it (rank 1: the lower table id), its fwmark rule stays
    assert rules_at(result, 1011) == [] and rules_at(result, 1101)[0]["fwmark"] == ISP2_MARK
    assert rules_at(result, 1012)[0]["from"] == "198.51.100.2"
    assert agent_wan(result, "isp2")["dynamic"] == ["ipv4"] and agent_wan(result, "isp2")["from_priority"] == 1011
    assert agent_wan(result, "isp1")["dynamic"] == []


def test_a_dynamic_wan_needs_no_address_on_the_router():
    # absent at boot, down, or waiting for its lease: the role neither fails nor reads the device
    result = layout([WANS[0], dict(DHCP_WAN, device="wwan0")], interfaces=INTERFACES)
    assert wan(result, "isp2")["address"] == {"ipv4": None}
    unread = layout([WANS[0], dict(DHCP_WAN, device="wwan0")])
    assert dict(unread, live_sysctls=None) == dict(result, live_sysctls=None)
    # the absent device's kernel settings go into the file (udev applies them when it comes), not to sysctl now
    assert "net.ipv4.conf.wwan0.rp_filter" in result["sysctls"]
    assert "net.ipv4.conf.wwan0.rp_filter" not in result["live_sysctls"]
    assert "net.ipv4.conf.wan1.rp_filter" in result["live_sysctls"] and unread["live_sysctls"] == unread["sysctls"]


def test_gateways_of_a_dual_stack_wan_by_family():
    both = dict(DHCP_WAN, family="both", gateway={"ipv4": "203.0.113.1", "ipv6": "dhcp"},
                address=["203.0.113.2/30", "2001:db8:2::2/64"])
    result = layout([both], interfaces=INTERFACES)
    assert agent_wan(result, "isp2")["gateway"] == {"ipv4": "203.0.113.1", "ipv6": "dhcp"}
    assert agent_wan(result, "isp2")["dynamic"] == ["ipv6"]
    assert [(r["family"], r.get("from")) for r in rules_at(result, 1011)] == [("ipv4", "203.0.113.2")]
    assert {"dst": "0.0.0.0/0", "via": "203.0.113.1", "dev": "wan2"} in table(result, "isp2")["routes"]


@pytest.mark.parametrize("gateway, field, reason", [
    ("dhcp", "multiwan_wans[1].gateway", "needs the failover agent"),
    (None, "multiwan_wans[1].gateway", "needs the failover agent"),
    ({"ipv6": "dhcp"}, "multiwan_wans[1].gateway.ipv6", "the WAN's families are ipv4"),
    ({"ipv4": "dhcp6"}, "multiwan_wans[1].gateway.ipv4", "is not an IPv4 or IPv6 address"),
])
def test_a_gateway_the_layout_cannot_follow_is_refused_by_field(gateway, field, reason):
    settings = {"failover": False} if reason.startswith("needs") else None
    with pytest.raises(InvalidInput) as raised:
        layout([WANS[0], dict(DHCP_WAN, gateway=gateway, address="203.0.113.2/30")], settings=settings,
               interfaces=INTERFACES)
    assert raised.value.field == field and reason in raised.value.reason


# ---------------------------------------------------------------------------
# Identities: a WAN's mark and table depend on its name, never its position (issue 11, defect 13)


def identities(result):
    return dict((item["name"], (item["mark"], item["table"])) for item in result["wans"])


def test_reordering_the_wans_changes_nothing_the_modules_see():
    three = WANS + [{"name": "isp3", "device": "wan3", "gateway": "192.0.2.1", "address": "192.0.2.2/24"}]
    policies = [{"name": "tcp_out", "wan": "isp2", "ipproto": "tcp", "exclude": ["10.0.0.0/8"]}]
    expected = layout(three, policies, interfaces=INTERFACES)
    for order in itertools.permutations(three):
        assert layout(list(order), policies, interfaces=INTERFACES) == expected


def test_adding_or_removing_a_wan_keeps_every_other_wans_mark_and_table():
    three = WANS + [{"name": "isp3", "device": "wan3", "gateway": "192.0.2.1", "address": "192.0.2.2/24"}]
    everyone = identities(layout(three, interfaces=INTERFACES))
    for kept in itertools.combinations(three, 2):
        for name, identity in identities(layout(list(kept), interfaces=INTERFACES)).items():
            assert identity == everyone[name]


NAMES = st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12).map(lambda text: "w" + text)


@hypothesis_settings(max_examples=60)
@given(st.lists(NAMES, min_size=1, max_size=6, unique=True), st.randoms(use_true_random=False))
def test_identities_survive_any_reorder_add_or_remove(names, random):
    wans = [{"name": name, "device": "d%d" % index, "gateway": "192.0.2.1", "address": "192.0.2.2/24"}
            for index, name in enumerate(names)]
    try:
        everyone = identities(layout(wans))
    except InvalidInput as error:           # two derived values collide: refused, tested below
        assert "explicit" in error.reason
        return
    shuffled = random.sample(wans, len(wans))
    subset = shuffled[:random.randint(1, len(wans))]
    for result in (layout(shuffled), layout(subset)):
        assert all(identity == everyone[name] for name, identity in identities(result).items())


def colliding_names(derive):
    """Two names whose derived values collide (found by search; the hash decides which)."""
    seen = {}
    for number in range(100000):
        name = "w%d" % number
        value = derive(name)
        if value in seen:
            return seen[value], name
        seen[value] = name
    raise AssertionError("no collision found")


@pytest.mark.parametrize("key, derive", [
    ("table", lambda name: derived_table(name, 101, "wan table")),
    ("mark", lambda name: nft_connmark.default_mark(name, 0xff00)),
])
def test_a_derived_collision_is_refused_never_renumbered(key, derive):
    first, second = colliding_names(derive)
    wans = [{"name": name, "device": "d%d" % index, "gateway": "192.0.2.1"} for index, name in enumerate((first, second))]
    with pytest.raises(InvalidInput) as raised:
        layout(wans)
    assert raised.value.field == "multiwan_wans[1].%s" % key
    assert "derived from the name %r" % second in raised.value.reason and "explicit %s" % key in raised.value.reason
    # the way out the message names: an explicit value for the WAN that was added; the other keeps its own
    free = raised.value.reason.split("free: ")[1].split(",")[0].rstrip(")")
    result = layout([wans[0], dict(wans[1], **{key: free})])
    kept = derive(first) if key == "table" else "0x%x" % derive(first)
    assert wan(result, first)[key] == kept and str(wan(result, second)[key]) == free


def test_an_explicit_mark_or_table_claims_its_value_first():
    derived = derived_table("isp1", 101, "wan table")
    result = layout([WANS[0], dict(WANS[1], table=7000, mark="0x300")], interfaces=INTERFACES)
    assert (wan(result, "isp1")["table"], wan(result, "isp2")["table"], wan(result, "isp2")["mark"]) == \
        (derived, 7000, "0x300")
    with pytest.raises(InvalidInput) as raised:       # given, but another WAN's derived table
        layout([WANS[0], dict(WANS[1], table=derived)], interfaces=INTERFACES)
    assert raised.value.field == "multiwan_wans[0].table" and "is already the table of multiwan_wans[1]" in \
        raised.value.reason


# ---------------------------------------------------------------------------
# Bad input changes nothing: every refusal names the inventory variable (issue 11, defect 7)

WAN = {"name": "isp1", "device": "wan1", "gateway": "198.51.100.1", "address": "198.51.100.2/30"}
OTHER = {"name": "isp2", "device": "wan2", "gateway": "203.0.113.1", "address": "203.0.113.2/30"}


def with_wan(**changes):
    return {"wans": [dict(WAN, **changes), OTHER]}


def with_policy(**policy):
    policy = dict({"name": "p", "wan": "isp1"}, **policy)
    return {"wans": [WAN, OTHER], "policies": [{"name": "p0", "wan": "isp1"}, policy]}


def with_settings(**settings):
    return {"wans": [WAN, OTHER], "settings": settings}


BAD_INPUTS = [
    # policies: every selector through the kinds pbr_rule uses, ipproto through pbr_rule itself
    (with_policy(dport="0"), "multiwan_policies[1].dport", "0"),
    (with_policy(dport="65535"), "multiwan_policies[1].dport", "65535"),
    (with_policy(dport="443-80"), "multiwan_policies[1].dport", "443-80"),
    (with_policy(sport="http"), "multiwan_policies[1].sport", "http"),
    (with_policy(ipproto="nonsense"), "multiwan_policies[1].ipproto", "nonsense"),
    (with_policy(iif="lan#0"), "multiwan_policies[1].iif", "lan#0"),
    (with_policy(iif="lan0\n"), "multiwan_policies[1].iif", "lan0\n"),
    (with_policy(uidrange="5-1"), "multiwan_policies[1].uidrange", "5-1"),
    (with_policy(to="10.0.0.0/33"), "multiwan_policies[1].to", "10.0.0.0/33"),
    (with_policy(to=["10.0.0.0/8", "nope"]), "multiwan_policies[1].to[1]", "nope"),
    (with_policy(**{"from": "2001:db8::/32"}), "multiwan_policies[1]", "2001:db8::/32"),
    (with_policy(priority=40000), "multiwan_policies[1].priority", 40000),
    (with_policy(priority="soon"), "multiwan_policies[1].priority", "soon"),
    (with_policy(wan="isp9"), "multiwan_policies[1].wan", "isp9"),
    (with_policy(name="p0"), "multiwan_policies[1].name", "p0"),
    (with_policy(exclude=["not-a-prefix"]), "multiwan_policies[1].exclude[0]", "not-a-prefix"),
    (with_policy(exclude="10.0.0.0/8"), "multiwan_policies[1].exclude", "10.0.0.0/8"),
    (with_policy(fallback="nosuch"), "multiwan_policies[1].fallback", "nosuch"),
    (with_policy(fallback="isp1"), "multiwan_policies[1].fallback", "isp1"),
    # the failover agent's part: its own parser, named after the inventory
    (with_wan(track={"targets": ["203.0.113.10"], "interval": 0}), "multiwan_wans[0].track.interval", 0),
    (with_wan(track={"targets": ["2001:db8::1"]}), "multiwan_wans[0].track.targets[0]", "2001:db8::1"),
    (with_wan(track={"targets": ["203.0.113.10"], "method": "tcp"}), "multiwan_wans[0].track.port", None),
    (with_wan(track={"interval": 1}), "multiwan_wans[0].track.targets", None),
    (with_settings(agent_protocol="211"), "multiwan_agent_protocol", "211"),
    (with_settings(agent_protocol="3"), "multiwan_agent_protocol", "3"),
    (with_settings(failover="perhaps"), "multiwan_failover", "perhaps"),
    (with_policy(exclude=["10.0.0.0/8"], table=254), "multiwan_policies[1].table", 254),
    (with_policy(exclude=["10.0.0.0/8"], name="p q"), "multiwan_policies[1].name", "p q"),
    # WANs
    (with_wan(mark="0x1"), "multiwan_wans[0].mark", "0x1"),                           # outside the mask
    (with_wan(mark="0x10000"), "multiwan_wans[0].mark", "0x10000"),
    (with_wan(mark="0"), "multiwan_wans[0].mark", "0"),
    (with_wan(mark="lots"), "multiwan_wans[0].mark", "lots"),
    (with_wan(table=254), "multiwan_wans[0].table", 254),
    (with_wan(table=0), "multiwan_wans[0].table", 0),
    (with_wan(table=2 ** 31), "multiwan_wans[0].table", 2 ** 31),
    (with_wan(name="isp2"), "multiwan_wans[1].name", "isp2"),
    (with_wan(name="main"), "multiwan_wans[0].name", "main"),                        # a table name iproute2 has
    (with_wan(name="isp-1"), "multiwan_wans[0].name", "isp-1"),                      # nft chain names
    (with_wan(name=""), "multiwan_wans[0].name", ""),
    (with_wan(device="wan2"), "multiwan_wans[1].device", "wan2"),
    (with_wan(device="wan#0"), "multiwan_wans[0].device", "wan#0"),
    (with_wan(device="wan 0"), "multiwan_wans[0].device", "wan 0"),
    (with_wan(device="a" * 16), "multiwan_wans[0].device", "a" * 16),
    (with_wan(device="wan*"), "multiwan_wans[0].device", "wan*"),
    (with_wan(gateway="198.51.100.300"), "multiwan_wans[0].gateway", "198.51.100.300"),
    (with_wan(gateway="2001:db8::1"), "multiwan_wans[0].gateway", "2001:db8::1"),
    (with_wan(address="2001:db8::2/64"), "multiwan_wans[0].address", "2001:db8::2/64"),
    (with_wan(weight=0), "multiwan_wans[0].weight", 0),
    (with_wan(weight=257), "multiwan_wans[0].weight", 257),
    (with_wan(family="ipv5"), "multiwan_wans[0].family", "ipv5"),
    (with_wan(masquerade="perhaps"), "multiwan_wans[0].masquerade", "perhaps"),
    ({"wans": [WAN, "isp2"]}, "multiwan_wans[1]", "isp2"),
    ({"wans": WAN}, "multiwan_wans", WAN),
    # settings
    (with_settings(priority_base=-5), "multiwan_priority_base", -5),
    (with_settings(priority_base=0), "multiwan_priority_base", 0),
    (with_settings(priority_base=31000), "multiwan_priority_base", 31000),           # over lookup main (32766)
    (with_settings(priority_base=4294967000), "multiwan_priority_base", 4294967000),
    (with_settings(table_base=-1), "multiwan_table_base", -1),
    (with_settings(table_base=2 ** 31), "multiwan_table_base", 2 ** 31),
    (with_settings(mask="0"), "multiwan_mark_mask", "0"),
    (with_settings(mask="0x1ffffffff"), "multiwan_mark_mask", "0x1ffffffff"),
    (with_settings(mask="ff00"), "multiwan_mark_mask", "ff00"),
    (with_settings(protocol="boot"), "multiwan_protocol", "boot"),
    (with_settings(protocol="3"), "multiwan_protocol", "3"),
    (with_settings(protocol="0"), "multiwan_protocol", "0"),
    (with_settings(protocol="kernel"), "multiwan_protocol", "kernel"),
    (with_settings(protocol="256"), "multiwan_protocol", "256"),
    (with_settings(balance="sometimes"), "multiwan_balance", "sometimes"),
    (with_settings(balance_metric=-1), "multiwan_balance_metric", -1),
    (with_settings(last_resort="drop"), "multiwan_last_resort", "drop"),
    (with_settings(nft_table="my table"), "multiwan_nft_table", "my table"),
    (with_settings(config_dir="etc/multiwan"), "multiwan_config_dir", "etc/multiwan"),
    (with_settings(config_dir="/etc/multi wan"), "multiwan_config_dir", "/etc/multi wan"),
    (with_settings(config_dir="/etc/%n"), "multiwan_config_dir", "/etc/%n"),
    (with_settings(sysctl_file="/etc/sysctl.d/multiwan"), "multiwan_sysctl_file", "/etc/sysctl.d/multiwan"),
    (with_settings(unit_file="/etc/systemd/system/pbr.service"), "multiwan_unit_file",
     "/etc/systemd/system/pbr.service"),
    # the rest of the inventory
    ({"wans": [WAN, OTHER], "lan_networks": ["192.168.1.0/24", "lan"]}, "multiwan_lan_networks[1]", "lan"),
    ({"wans": [WAN, OTHER], "exclude": {"devices": ["wg#0"]}}, "multiwan_exclude_devices[0]", "wg#0"),
    ({"wans": [WAN, OTHER], "exclude": {"devices": ["wan1"]}}, "multiwan_exclude_devices[0]", "wan1"),
    ({"wans": [WAN, OTHER], "exclude": {"devices": "wg0"}}, "multiwan_exclude_devices", "wg0"),
    ({"wans": [WAN, OTHER], "exclude": {"destinations": ["10.0.0.0/8", "10.0.0.300/32"]}},
     "multiwan_exclude_destinations[1]", "10.0.0.300/32"),
]


@pytest.mark.parametrize("inventory, variable, value", BAD_INPUTS, ids=[case[1] for case in BAD_INPUTS])
def test_bad_input_is_refused_naming_the_inventory_variable_and_value(inventory, variable, value):
    for interfaces in (None, INTERFACES):         # before the router is read, and after
        with pytest.raises(InvalidInput) as raised:
            layout(inventory["wans"], inventory.get("policies"), inventory.get("lan_networks"),
                   inventory.get("exclude"), inventory.get("settings"), interfaces=interfaces)
        assert (raised.value.field, raised.value.value) == (variable, value), raised.value
        assert str(raised.value).startswith("%s=%r" % (variable, value))


def test_a_refusal_from_an_engine_still_names_the_inventory():
    # "main" passes the layout's own checks; pbr_table refuses it (table 254 in iproute2's names)
    with pytest.raises(InvalidInput) as raised:
        layout(**dict(with_wan(name="main"), interfaces=INTERFACES))
    assert raised.value.field == "multiwan_wans[0].name" and "another rt_tables file" in raised.value.reason


def test_sysctl_changes_lists_only_what_differs():
    wanted = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.wan1.rp_filter": "2"}
    assert sysctl_changes(wanted, ["1", "0"]) == ["net.ipv4.conf.wan1.rp_filter=2"]
    assert sysctl_changes(wanted, ["1", "2"]) == []


def test_no_wans_means_no_agent_configuration():
    """multiwan_state: absent computes the layout of no WANs: nothing for the agent either."""
    assert layout([], interfaces=INTERFACES)["agent"] is None
