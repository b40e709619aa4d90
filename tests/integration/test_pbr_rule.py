"""pbr_rule against the real kernel, in network namespaces made by each test.

The module runs as Ansible runs it (a process, JSON in and out) inside the namespace,
so it sees that namespace's rules and its own /etc/iproute2 (``ip netns exec``
bind-mounts /etc/netns/<ns>/iproute2).
"""

import pytest

from support.modules import run_module
from support.netns import Netns

pytestmark = pytest.mark.netns

CONTRACT = [
    {"priority": 1000, "fwmark": "0x100", "fwmask": "0xff00", "table": "isp_a"},
    {"priority": 1020, "ipproto": "tcp", "dport": "443", "table": 102},
    {"priority": 1021, "to": "10.0.0.0/8", "sport": "1000-2000", "ipproto": "udp", "action": "unreachable"},
    {"priority": 1050, "to": "2001:db8:99::/48", "table": "isp_a"},
]
# Rules other tools own, as they add them: tailscale (protocol boot) and wg-quick (no protocol, here static).
FOREIGN = [
    ("-4", "pref", "5210", "fwmark", "0x80000/0xff0000", "lookup", "main", "protocol", "boot"),
    ("-4", "pref", "5270", "lookup", "52", "protocol", "boot"),
    ("-6", "pref", "5210", "fwmark", "0x80000/0xff0000", "lookup", "main", "protocol", "boot"),
    ("-4", "not", "fwmark", "51820", "table", "51820", "protocol", "static"),
    ("-4", "table", "main", "suppress_prefixlength", "0", "protocol", "static"),
    ("-4", "pref", "1000", "lookup", "main", "protocol", "boot"),        # a foreign twin of an owned priority
]


@pytest.fixture
def ns():
    with Netns() as netns:
        netns.run("sh", "-c", "printf '100\\tisp_a\\n0x66 isp_b\\n' > /etc/iproute2/rt_tables.d/isps.conf")
        for rule in FOREIGN:
            netns.ip(rule[0], "rule", "add", *rule[1:])
        yield netns


def rules(ns):
    """Every rule of both families, as the kernel reports them."""
    return {"ipv4": ns.ip_json("-4", "rule", "show"), "ipv6": ns.ip_json("-6", "rule", "show")}


def foreign(ns):
    return dict((family, [r for r in found if r.get("protocol") != "211"]) for family, found in rules(ns).items())


def owned(ns):
    return dict((family, [r for r in found if r.get("protocol") == "211"]) for family, found in rules(ns).items())


def pbr_rule(ns, **args):
    check_mode, diff = args.pop("check_mode", False), args.pop("diff", False)
    return run_module("pbr_rule", args, netns=ns.name, check_mode=check_mode, diff=diff)


def test_every_state_converges_and_spares_foreign_rules(ns):
    before_foreign = foreign(ns)
    merged = pbr_rule(ns, config=CONTRACT, state="merged")
    assert merged["changed"] and not merged.get("failed") and merged.get("warnings", []) == []
    assert [(r["priority"], r.get("table")) for r in owned(ns)["ipv4"]] == [(1000, "isp_a"), (1020, "isp_b"),
                                                                            (1021, None)]
    assert [(r["priority"], r["dst"], r["table"]) for r in owned(ns)["ipv6"]] == [(1050, "2001:db8:99::", "isp_a")]
    assert pbr_rule(ns, config=CONTRACT, state="merged")["changed"] is False

    gathered = pbr_rule(ns, state="gathered")["gathered"]
    assert [r["priority"] for r in gathered] == [1000, 1020, 1021, 1050] and gathered[0]["table"] == 100

    replaced = pbr_rule(ns, config=[{"priority": 1020, "ipproto": "tcp", "dport": "80-443", "table": "isp_b"}],
                        state="replaced")
    assert replaced["changed"] and [r.get("dport_end") for r in owned(ns)["ipv4"] if r["priority"] == 1020] == [443]
    assert pbr_rule(ns, config=gathered, state="overridden")["changed"]
    assert pbr_rule(ns, config=gathered, state="overridden")["changed"] is False

    overridden = pbr_rule(ns, config=[{"priority": 1000, "iif": "lan0", "table": "isp_b"}], state="overridden")
    assert overridden["changed"] and overridden["after"] == [
        {"priority": 1000, "family": "ipv4", "iif": "lan0", "action": "lookup", "table": 102}]
    assert [r["priority"] for r in owned(ns)["ipv4"]] == [1000] and owned(ns)["ipv6"] == []
    assert foreign(ns) == before_foreign

    assert pbr_rule(ns, config=[{"priority": 1000}], state="deleted")["changed"]
    assert owned(ns) == {"ipv4": [], "ipv6": []} and foreign(ns) == before_foreign
    assert pbr_rule(ns, config=[{"priority": 1000}], state="deleted")["changed"] is False


def test_deleted_without_config_removes_every_owned_rule(ns):
    before_foreign = foreign(ns)
    pbr_rule(ns, config=CONTRACT, state="merged")
    result = pbr_rule(ns, state="deleted")
    assert result["changed"] and result["after"] == []
    assert owned(ns) == {"ipv4": [], "ipv6": []} and foreign(ns) == before_foreign


def test_check_mode_changes_nothing_and_diffs_like_ip(ns):
    pbr_rule(ns, config=CONTRACT[:2], state="merged")
    before = rules(ns)
    result = pbr_rule(ns, config=CONTRACT[2:], state="overridden", check_mode=True, diff=True)
    assert result["changed"] and rules(ns) == before
    assert "5210:\tfrom all fwmark 0x80000/0xff0000 lookup main proto boot" in result["diff"]["after"]
    assert "1000:\tfrom all fwmark 0x100/0xff00 lookup isp_a proto 211" in result["diff"]["before"]
    assert "1000:\tfrom all fwmark 0x100/0xff00 lookup isp_a proto 211" not in result["diff"]["after"]


def test_a_line_the_kernel_refuses_leaves_the_namespace_as_it_was(ns):
    pbr_rule(ns, config=CONTRACT, state="merged")
    before = rules(ns)
    # IPv4 rules match only the legacy TOS bits: the kernel refuses DSCP EF (0xb8), which passes validation.
    config = [
        {"priority": 1000, "fwmark": "0x200", "fwmask": "0xff00", "table": "isp_a"},        # a replacement
        {"priority": 2000, "fwmark": "0x1", "table": 100},
        {"priority": 2001, "tos": "0xb8", "table": 100},
        {"priority": 2002, "fwmark": "0x2", "table": 100},
    ]
    result = pbr_rule(ns, config=config, state="overridden")
    assert result["failed"] and result["rolled_back"] is True
    assert result["command"] == "ip -4 rule add priority 2001 tos 0xb8 lookup isp_a protocol 211"
    assert "Invalid tos" in result["device_message"] and result["command"] in result["msg"]
    assert rules(ns) == before


def test_bad_input_changes_nothing(ns):
    pbr_rule(ns, config=CONTRACT, state="merged")
    before = rules(ns)
    for config, field in (([{"priority": 7, "table": "isp_z"}], "config[priority=7].table"),
                          ([{"priority": 7, "from": "192.0.2.0/24", "to": "2001:db8::/32", "table": 5}],
                           "config[priority=7].to"),
                          ([{"priority": 7, "fwmark": "0x1ff", "fwmask": "0xff", "table": 5}],
                           "config[priority=7].fwmark")):
        result = pbr_rule(ns, config=CONTRACT[:1] + config, state="overridden")
        assert result["failed"] and result["field"] == field
    result = pbr_rule(ns, config=[{"priority": 4294967296, "table": 5}], state="merged")
    assert result["failed"] and "4294967296" in result["msg"]
    assert rules(ns) == before


def test_ten_thousand_rules_apply_in_one_run(ns):
    config = [{"priority": 10000 + index, "fwmark": str(index + 1), "table": "isp_a"} for index in range(10000)]
    result = pbr_rule(ns, config=config, state="merged")
    assert result["changed"] and not result.get("failed")
    assert len(owned(ns)["ipv4"]) == 10000
    assert pbr_rule(ns, config=config, state="merged")["changed"] is False


def test_rendered_needs_no_namespace():
    result = run_module("pbr_rule", {"config": CONTRACT, "state": "rendered"})
    assert result["rendered"] == [
        "ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup isp_a protocol 211",
        "ip -4 rule add priority 1020 ipproto tcp dport 443 lookup 102 protocol 211",
        "ip -4 rule add priority 1021 to 10.0.0.0/8 ipproto udp sport 1000-2000 unreachable protocol 211",
        "ip -6 rule add priority 1050 to 2001:db8:99::/48 lookup isp_a protocol 211",
    ]


# ---------------------------------------------------------------------------
# Issue 11: each defect against the real kernel


@pytest.mark.parametrize("option", ["iif", "oif"])
def test_an_interface_with_a_hash_changes_nothing(ns, option):
    """Defect 1: 'iif wan0#x' reached ip -batch, which cut the line at '#'."""
    before = rules(ns)
    result = pbr_rule(ns, config=[{"priority": 1100, option: "wan0#x", "table": "isp_a"}], state="merged")
    assert result["failed"] and result["field"] == "config[priority=1100].%s" % option
    assert rules(ns) == before


@pytest.mark.parametrize("tag", ["boot", "0"])
def test_a_tag_others_use_is_refused_and_their_rules_stay(ns, tag):
    """Defect 2: protocol boot owned tailscale's rules, protocol 0 the kernel's lookup local/main/default."""
    before = rules(ns)
    for state in ("overridden", "deleted"):
        result = pbr_rule(ns, config=[], state=state, protocol=tag)
        assert result["failed"] and result["field"] == "protocol"
    assert rules(ns) == before
    assert ns.run("ping", "-c", "1", "-W", "1", "127.0.0.1", check=False)


def test_merged_into_another_table_looks_the_new_table_up(ns):
    """Defect 3: merged rendered the old table's name; the run failed or kept the old WAN."""
    pbr_rule(ns, config=[{"priority": 1000, "fwmark": "0x100", "fwmask": "0xff00", "table": "isp_a"}], state="merged")
    result = pbr_rule(ns, config=[{"priority": 1000, "table": "isp_b"}], state="merged")
    assert result["changed"] and not result.get("failed")
    assert [(r["priority"], r["table"], r["fwmark"]) for r in owned(ns)["ipv4"]] == [(1000, "isp_b", "0x100")]
    assert pbr_rule(ns, config=[{"priority": 1000, "table": "isp_b"}], state="merged")["changed"] is False


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden", "deleted"])
def test_a_run_converges_from_two_owned_rules_at_one_priority(ns, state):
    """Defect 5: what a run killed between a replacement's add and del leaves behind."""
    ns.ip("-4", "rule", "add", "priority", "1000", "fwmark", "0x100", "lookup", "isp_a", "protocol", "211")
    ns.ip("-4", "rule", "add", "priority", "1000", "fwmark", "0x200", "lookup", "isp_a", "protocol", "211")
    wanted = {"priority": 1000, "fwmark": "0x200", "table": "isp_a"}
    result = pbr_rule(ns, config=[wanted] if state != "deleted" else [{"priority": 1000}], state=state)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    expected = [] if state == "deleted" else [(1000, "0x200")]
    assert [(r["priority"], r["fwmark"]) for r in owned(ns)["ipv4"]] == expected
    again = pbr_rule(ns, config=[wanted] if state != "deleted" else [{"priority": 1000}], state=state)
    assert again["changed"] is False


def test_replacing_a_rule_by_one_without_its_prefix_works(ns):
    """Defect 10: the kernel refused the general rule beside the specific one ('File exists')."""
    pbr_rule(ns, config=[{"priority": 1100, "from": "192.0.2.0/24", "table": "isp_a"}], state="merged")
    result = pbr_rule(ns, config=[{"priority": 1100, "table": "isp_a"}], state="replaced")
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert [(r["priority"], r["src"]) for r in owned(ns)["ipv4"]] == [(1100, "all")]
