"""The ``ip rule`` engine: parse recorded ``ip -json`` output, normalise input, plan, render."""

import json
import os
from dataclasses import replace

import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import texts
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_rule as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    ADD, DELETE, REPLACE, Op, converge_ops, plan, simulate)
from unit.strategies_rules import PARAMS, garbage_text, invalid_text, rule_configs, rule_lists

# Lists of rules cost ~30 ms an example to draw; 60 keeps the file within its time budget.
LISTS = settings(max_examples=60)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "iproute2")
STATES = ("merged", "replaced", "overridden", "deleted")


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def recorded_dump():
    """What Iproute2.dump() returned in the recording namespace (rules + the name files ip read)."""
    return {
        "rules4": json.loads(fixture_text("ip4_rules_every_selector.json")),
        "rules6": json.loads(fixture_text("ip6_rules_every_selector.json")),
        "rt_tables_d": {"multiwan.conf": fixture_text("rules_rt_tables.conf")},
        "rt_dsfield": fixture_text("rules_rt_dsfield.txt"),
    }


FACTS = engine.parse_facts(recorded_dump(), PARAMS)
CURRENT = engine.parse(recorded_dump(), PARAMS, FACTS)


def rule(**item):
    return engine.normalise(item, PARAMS, FACTS)


def by_key(records, family, priority, owned=True):
    found = [r for r in records if r.key == (family, priority) and r.owned == owned]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------
# Parsing the recorded dumps


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_every_recorded_selector_parses(family):
    def get(priority):
        return by_key(CURRENT, family, priority)

    assert (get(1000).fwmark, get(1000).fwmask, get(1000).table) == (0x100, 0xFF00, 100)  # "isp_a" in the dump
    assert (get(1003).iif, get(1003).oif) == ("veth0", "veth1")
    assert (get(1004).ipproto, get(1004).dport) == (6, (443, 443))
    assert (get(1005).ipproto, get(1005).sport, get(1005).action) == (17, (1000, 2000), "unreachable")
    assert (get(1006).uidrange, get(1006).action) == ((1000, 2000), "prohibit")
    assert (get(1007).l3mdev, get(1007).action, get(1007).table) == (True, "lookup", None)
    assert (get(1008).invert, get(1008).fwmask) == (True, 0xFFFFFFFF)     # ip omits a full mask
    assert (get(1009).table, get(1009).suppress_prefixlength) == (254, 0)
    assert get(1010).suppress_ifgroup == 5
    assert (get(1011).action, get(1011).goto, get(1012).action, get(1013).action) == ("goto", 1013, "nop", "blackhole")
    assert get(1014).table == 4000000000
    assert (get(1015).ipproto, get(1015).sport, get(1015).dport) == (47, (22, 22), (100, 200))
    assert (get(1016).fwmark, get(1016).fwmask, get(1016).iif) == (0, 0xFF, "nosuch0")   # "fwmark": "0"
    assert (get(1017).goto, get(1017).src) == (3000, None)                 # unresolved goto


def test_prefixes_and_tos_parse_per_family():
    v4, v6 = by_key(CURRENT, "ipv4", 1001), by_key(CURRENT, "ipv6", 1001)
    assert (v4.src, v4.dst, v4.tos, v4.table) == ("192.0.2.0/24", "198.51.100.0/24", 0x10, 254)
    assert (v6.src, v6.dst, v6.tos) == ("2001:db8:1::/48", "2001:db8:99::/48", 0xB8)    # "tos": "EF"


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_foreign_rules_are_parsed_and_not_owned(family):
    foreign = dict((r.priority, r) for r in CURRENT if r.family == family and not r.owned)
    tailscale = foreign[5210]
    assert (tailscale.fwmark, tailscale.fwmask, tailscale.table, tailscale.protocol) == (0x80000, 0xFF0000, 254, 3)
    assert foreign[5250].action == "unreachable" and foreign[5270].table == 52
    wg_quick = foreign[999]
    assert (wg_quick.invert, wg_quick.fwmark, wg_quick.table, wg_quick.protocol) == (True, 51820, 51820, 4)
    assert (foreign[998].suppress_prefixlength, foreign[998].table) == (0, 254)
    assert foreign[0].table == 255 and foreign[32766].table == 254 and foreign[1018].protocol == 0
    assert (32767 in foreign) == (family == "ipv4")         # IPv6 has no default-table rule


def test_owned_rules_are_exactly_the_protocol_211_ones():
    owned_priorities = [1000, 1001] + list(range(1003, 1018))       # 1002 was never recorded
    for family in ("ipv4", "ipv6"):
        assert [r.priority for r in CURRENT if r.owned and r.family == family] == owned_priorities
    other_tag = engine.parse(recorded_dump(), {"protocol": "212"}, FACTS)
    assert [r for r in other_tag if r.owned] == []


@pytest.mark.parametrize("tag", ["0", "unspec", "boot", "3", "kernel", "static", "dhcp", "186"])
def test_a_tag_others_put_on_their_rules_is_refused(tag):
    # issue 11, defect 2: with protocol boot, overridden deleted tailscale's rules (5210-5270, proto boot);
    # with 0/unspec the kernel's lookup local/main/default (ip -json omits protocol 0)
    with pytest.raises(InvalidInput) as error:
        engine.parse(recorded_dump(), {"protocol": tag}, FACTS)
    assert (error.value.field, error.value.value) == ("protocol", tag)


# ---------------------------------------------------------------------------
# Normalising input


def test_contract_examples_normalise():
    assert rule(priority=1000, fwmark="0x100", fwmask="0xff00", table="isp_a").table == 100
    assert rule(priority=1020, ipproto="tcp", dport="443", table="102").dport == (443, 443)
    assert rule(priority=1021, to="10.0.0.0/8", sport="1000-2000", ipproto="udp", action="unreachable").action == \
        "unreachable"
    assert rule(priority=1050, to="2001:db8:99::/48", table="isp_a").family == "ipv6"


def test_equivalent_spellings_are_one_record():
    assert rule(priority=5, **{"from": "192.0.2.7/24"}, table="main") == rule(priority=5, **{"from": "192.0.2.0/24"}, table="254")
    assert rule(priority=5, **{"from": "0.0.0.0/0"}, table="main") == rule(priority=5, table="main")
    assert rule(priority=5, to="::ffff:192.0.2.1/128", table=7).dst == "192.0.2.1/32"
    assert rule(priority=5, fwmark="5", table=7) == rule(priority=5, fwmark="0x5", fwmask="0xffffffff", table=7)
    assert rule(priority=5, dscp=46, table=7, family="ipv6") == rule(priority=5, tos="EF", table=7, family="ipv6")
    assert rule(priority=5, ipproto="tcp", table=7) == rule(priority=5, ipproto="6", table=7)
    assert rule(priority=5, goto=9) == rule(priority=5, goto=9, action="goto")


@pytest.mark.parametrize("item, field, value", [
    ({"from": "192.0.2.300/24", "table": 5}, "from", "192.0.2.300/24"),
    ({"from": "192.0.2.0/24", "to": "2001:db8::/32", "table": 5}, "to", "2001:db8::/32"),
    ({"family": "ipv4", "to": "2001:db8::/32", "table": 5}, "to", "2001:db8::/32"),
    ({"fwmark": "0x1ff", "fwmask": "0xff", "table": 5}, "fwmark", "0x1ff"),
    ({"fwmask": "0xff", "table": 5}, "fwmask", "0xff"),
    ({"fwmark": "0x100000000", "table": 5}, "fwmark", "0x100000000"),
    ({"ipproto": "tcp", "dport": "2000-1000", "table": 5}, "dport", "2000-1000"),
    ({"sport": "70000", "table": 5}, "sport", "70000"),
    ({"uidrange": "10-2", "table": 5}, "uidrange", "10-2"),
    ({"table": "isp_z"}, "table", "isp_z"),
    ({"table": "0"}, "table", "0"),
    ({"tos": "0x03", "table": 5}, "tos", "0x03"),
    ({"dscp": 64, "table": 5}, "dscp", 64),
    ({"ipproto": "tcpx", "table": 5}, "ipproto", "tcpx"),
    ({"iif": "a-name-far-too-long", "table": 5}, "iif", "a-name-far-too-long"),
    ({"goto": 10}, "goto", 10),
    ({"action": "blackhole", "table": 5}, "table", 5),
    ({"action": "goto", "goto": 20, "suppress_prefixlength": 0}, "suppress_prefixlength", 0),
    ({"l3mdev": True, "table": 5}, "table", 5),
    ({"table": 5, "suppress_prefixlength": 33}, "suppress_prefixlength", 33),
    ({"table": 5, "suppress_ifgroup": "nosuchgroup"}, "suppress_ifgroup", "nosuchgroup"),
])
def test_bad_input_names_the_field_and_the_value(item, field, value):
    with pytest.raises(InvalidInput) as error:
        engine.normalise(dict(item, priority=10), PARAMS, FACTS)
    assert error.value.field == "config[priority=10].%s" % field
    assert error.value.value == value


@pytest.mark.parametrize("priority", [-1, 4294967296, "high", True])
def test_priority_out_of_range_is_refused(priority):
    with pytest.raises(InvalidInput) as error:
        engine.normalise({"priority": priority, "table": 5}, PARAMS, FACTS)
    assert (error.value.field, error.value.value) == ("priority", priority)


def test_an_entry_without_an_action_is_refused():
    with pytest.raises(InvalidInput, match="needs table, goto, l3mdev or action"):
        engine.normalise({"priority": 7, "fwmark": "1"}, PARAMS, FACTS)


def test_offline_rendering_keeps_table_names():
    offline = engine.normalise({"priority": 1, "table": "isp_a"}, PARAMS, None)
    assert offline.table == "isp_a"
    assert engine.normalise({"priority": 1, "table": "main"}, PARAMS, None).table == 254
    assert texts(engine.render([Op(ADD, offline)], PARAMS)) == ["ip -4 rule add priority 1 lookup isp_a protocol 211"]


FIELDS = ("from", "to", "tos", "fwmark", "fwmask", "iif", "oif", "ipproto", "sport", "dport", "uidrange", "table",
          "suppress_ifgroup", "suppress_prefixlength", "goto", "dscp", "family", "action")


@given(field=st.sampled_from(FIELDS), text=garbage_text)
@example(field="from", text="\x00")
def test_garbage_is_refused_or_accepted_never_crashes(field, text):
    item = {"priority": 10, "fwmark": "1", "table": "5", field: text}
    try:
        engine.normalise(item, PARAMS, FACTS)
    except InvalidInput as error:
        assert error.value in (text, item.get("to"), item.get("table")) or field in ("action",)


@given(field=st.sampled_from(FIELDS), text=invalid_text)
@example(field="ipproto", text="q /\x00")
def test_invalid_text_is_refused_naming_field_and_value(field, text):
    extra = {"action": "goto", "goto": 20} if field in ("suppress_ifgroup", "suppress_prefixlength") else {}
    item = dict({"priority": 10, "fwmark": "1", "table": "5", field: text}, **extra)
    if field == "goto":
        del item["table"]
    with pytest.raises(InvalidInput) as error:
        engine.normalise(item, PARAMS, FACTS)
    if not extra:
        assert error.value.field.endswith("." + field) or error.value.field == field
        assert error.value.value == text


# ---------------------------------------------------------------------------
# Rendering


def test_every_selector_renders_as_ip_takes_it():
    lines = texts(engine.render([Op(ADD, r) for r in CURRENT if r.owned and r.family == "ipv4"], PARAMS))
    assert lines[:3] == [
        "ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup isp_a protocol 211",
        "ip -4 rule add priority 1001 from 192.0.2.0/24 to 198.51.100.0/24 tos 0x10 lookup main protocol 211",
        "ip -4 rule add priority 1003 iif veth0 oif veth1 lookup isp_a protocol 211",
    ]
    assert "ip -4 rule add priority 1005 to 10.0.0.0/8 ipproto udp sport 1000-2000 unreachable protocol 211" in lines
    assert "ip -4 rule add priority 1006 uidrange 1000-2000 prohibit protocol 211" in lines
    assert "ip -4 rule add priority 1007 l3mdev protocol 211" in lines
    assert "ip -4 rule add priority 1008 not fwmark 0x3 lookup 103 protocol 211" in lines
    assert "ip -4 rule add priority 1009 lookup main suppress_prefixlength 0 protocol 211" in lines
    assert "ip -4 rule add priority 1010 lookup main suppress_ifgroup 5 protocol 211" in lines
    assert "ip -4 rule add priority 1011 goto 1013 protocol 211" in lines
    assert "ip -4 rule add priority 1012 nop protocol 211" in lines
    assert "ip -4 rule add priority 1015 ipproto gre sport 22 dport 100-200 lookup 5 protocol 211" in lines


def test_replace_adds_the_new_rule_before_deleting_the_old_one():
    old = by_key(CURRENT, "ipv6", 1000)
    new = rule(priority=1000, family="ipv6", fwmark="0x200", fwmask="0xff00", table="isp_b")
    gone = by_key(CURRENT, "ipv4", 1012)
    ops = [Op(REPLACE, new, old=old), Op(DELETE, gone), Op(ADD, rule(priority=7, table=5))]
    assert texts(engine.render(ops, PARAMS)) == [
        "ip -4 rule add priority 7 lookup 5 protocol 211",
        "ip -6 rule add priority 1000 fwmark 0x200/0xff00 lookup isp_b protocol 211",
        "ip -4 rule del priority 1012 nop protocol 211",
        "ip -6 rule del priority 1000 fwmark 0x100/0xff00 lookup isp_a protocol 211",
    ]


def test_render_state_reads_like_ip_rule_show():
    text = engine.render_state(sorted(CURRENT, key=engine.sort_key), PARAMS)
    lines = text.splitlines()
    assert lines[0] == "# ip -4 rule show" and "# ip -6 rule show" in lines
    assert "5210:\tfrom all fwmark 0x80000/0xff0000 lookup main proto boot" in lines
    assert "999:\tnot from all fwmark 0xca6c lookup 51820 proto static" in lines
    assert "32767:\tfrom all lookup default" in lines


# ---------------------------------------------------------------------------
# Plans and their properties


def test_recorded_state_gathered_and_fed_back_plans_nothing():
    gathered = [engine.to_config(r) for r in CURRENT if r.owned]
    wanted = [engine.normalise(item, PARAMS, FACTS) for item in gathered]
    for state in ("merged", "replaced", "overridden"):
        assert plan(wanted, CURRENT, state, engine.merge) == []


def test_deleted_without_config_removes_every_owned_rule_only():
    after = simulate(CURRENT, plan([], CURRENT, "deleted", engine.merge))
    assert [r for r in after if r.owned] == [] and after == [r for r in CURRENT if not r.owned]


def test_merged_keeps_selectors_the_entry_does_not_give():
    current = rule(priority=9, fwmark="0x1", iif="lan0", table=5, suppress_prefixlength=0)
    merged = engine.merge(current, rule(priority=9, iif="lan1", table=6))
    assert (merged.fwmark, merged.iif, merged.table, merged.suppress_prefixlength) == (1, "lan1", 6, 0)
    assert engine.merge(current, rule(priority=9, action="unreachable")).suppress_prefixlength is None
    assert engine.merge(rule(priority=9, l3mdev=True), rule(priority=9, table=6)).l3mdev is False


def test_to_config_round_trips_the_recorded_rules():
    for record in CURRENT:
        if record.owned:
            assert engine.normalise(engine.to_config(record), PARAMS, FACTS) == record


@given(entry=rule_configs())
def test_normalise_to_config_round_trips(entry):
    record = engine.normalise(entry, PARAMS, FACTS)
    assert engine.normalise(engine.to_config(record), PARAMS, FACTS) == record


@LISTS
@given(wanted=rule_lists(FACTS, owned=True), current=rule_lists(FACTS), state=st.sampled_from(STATES))
def test_applying_the_plan_converges_and_spares_foreign_rules(wanted, current, state):
    ops = plan(wanted, current, state, engine.merge)
    after = simulate(current, ops)
    assert plan(wanted, after, state, engine.merge) == []
    assert [r for r in after if not r.owned] == [r for r in current if not r.owned]
    if state == "overridden":
        assert set(r.key for r in after if r.owned) == set(r.key for r in wanted)


@LISTS
@given(wanted=rule_lists(FACTS, owned=True), current=rule_lists(FACTS))
def test_merged_never_deletes(wanted, current):
    ops = plan(wanted, current, "merged", engine.merge)
    assert all(op.verb != DELETE for op in ops)
    assert set(r.key for r in current if r.owned) <= set(r.key for r in simulate(current, ops) if r.owned)
    assert not [line for line in texts(engine.render(ops, PARAMS)) if " rule del " in line and
                not any(op.verb == REPLACE for op in ops)]


@LISTS
@given(current=rule_lists(FACTS))
def test_gathered_fed_back_as_config_plans_nothing(current):
    gathered = [engine.to_config(r) for r in current if r.owned]
    wanted = [engine.normalise(item, PARAMS, FACTS) for item in gathered]
    for state in ("merged", "replaced", "overridden"):
        assert plan(wanted, current, state, engine.merge) == []


@LISTS
@given(records=rule_lists(FACTS, owned=True))
def test_rendered_lines_carry_the_tag_and_one_family_option(records):
    for line in texts(engine.render([Op(ADD, r) for r in records], PARAMS)):
        words = line.split()
        assert words[:4] in (["ip", "-4", "rule", "add"], ["ip", "-6", "rule", "add"])
        assert words[-2:] == ["protocol", "211"]


def test_foreign_rule_at_an_owned_priority_survives_overridden():
    foreign_twin = replace(rule(priority=1000, table=5), protocol=3, owned=False)
    current = [foreign_twin, rule(priority=1000, table=6)]
    after = simulate(current, plan([], current, "overridden", engine.merge))
    assert after == [foreign_twin]


def test_deleted_needs_only_the_identity():
    deleting = dict(PARAMS, state="deleted")
    wanted = [engine.normalise({"priority": 1012}, deleting, FACTS),
              engine.normalise({"priority": 1013, "family": "ipv6"}, deleting, FACTS)]
    ops = plan(wanted, CURRENT, "deleted", engine.merge)
    assert texts(engine.render(ops, PARAMS)) == ["ip -4 rule del priority 1012 nop protocol 211",
                                                 "ip -6 rule del priority 1013 blackhole protocol 211"]


def test_an_interrupted_replace_is_undone_from_what_the_kernel_shows():
    # make-before-break added the new rule beside the old one, then the batch stopped
    old, new = rule(priority=1000, fwmark="0x100", table=5), rule(priority=1000, fwmark="0x200", table=5)
    dump = {"rules4": [{"priority": 1000, "src": "all", "fwmark": "0x100", "table": "5", "protocol": "211"},
                       {"priority": 1000, "src": "all", "fwmark": "0x200", "table": "5", "protocol": "211"}]}
    current = engine.parse(dump, PARAMS, FACTS)
    assert [r.duplicate for r in current] == [0, 1] and current[0] == old
    ops = plan([old], current, "overridden", engine.merge)
    assert texts(engine.render(ops, PARAMS)) == ["ip -4 rule del priority 1000 fwmark 0x200 lookup 5 protocol 211"]
    assert simulate(current, ops) == [old] and new.key == old.key


# ---------------------------------------------------------------------------
# Issue 11: the defects the field table and the revised plan make impossible


@pytest.mark.parametrize("option", ["iif", "oif"])
@pytest.mark.parametrize("name", ["wan0#x", "wan0\n", "wan 0", 'wan"0', "wan0\\", "wan\t0", "wän0"])
def test_an_interface_ip_batch_would_misread_is_refused(option, name):
    """Defect 1: '#' starts a comment in an ip -batch line, so 'iif wan0#x lookup 5' ran as 'iif wan0';
    a trailing newline passed the old $-anchored pattern."""
    with pytest.raises(InvalidInput) as error:
        rule(priority=10, table=5, **{option: name})
    assert (error.value.field, error.value.value) == ("config[priority=10].%s" % option, name)


@pytest.mark.parametrize("option", ["dport", "sport"])
@pytest.mark.parametrize("value", ["0", "65535", "0-10", "100-65535"])
def test_a_port_the_kernel_refuses_is_refused_here(option, value):
    """Defect 16: the kernel takes ports 1..65534 (fib_rule_port_range_valid); 0 and 65535 reached it."""
    with pytest.raises(InvalidInput) as error:
        rule(priority=10, table=5, ipproto="tcp", **{option: value})
    assert (error.value.field, error.value.value) == ("config[priority=10].%s" % option, value)


def test_merged_into_another_table_renders_the_new_tables_name():
    """Defect 3: the merged record kept the old table's name, so the add named the wrong WAN."""
    current = rule(priority=1000, fwmark="0x100", fwmask="0xff00", table="isp_a")
    merged = engine.merge(current, rule(priority=1000, table="isp_b"))
    ops = plan([rule(priority=1000, table="isp_b")], [current], "merged", engine.merge)
    assert merged.table == 102 and merged.table.name == "isp_b"
    assert texts(engine.render(ops, PARAMS))[0] == \
        "ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup isp_b protocol 211"


def test_dropping_a_prefix_deletes_the_old_rule_before_adding_the_new_one():
    """Defect 10: the kernel takes 'priority 5 lookup 5' for the rule 'priority 5 from X lookup 5' that is
    still there (rule_exists ignores prefixes the new rule leaves unset): the add failed with File exists."""
    specific, general = rule(priority=5, **{"from": "192.0.2.0/24"}, table=5), rule(priority=5, table=5)
    assert engine.kernel_takes_for_existing(general, specific)
    assert not engine.kernel_takes_for_existing(specific, general)
    old, new = specific, general
    ops = plan([new], [old], "replaced", engine.merge)
    assert texts(engine.render(ops, PARAMS)) == ["ip -4 rule del priority 5 from 192.0.2.0/24 lookup 5 protocol 211",
                                                 "ip -4 rule add priority 5 lookup 5 protocol 211"]


def leftover_dump(*rules_at_1000):
    return {"rules4": [dict(priority=1000, src="all", table="5", protocol="211", **extra) for extra in rules_at_1000]}


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden"])
def test_a_run_converges_from_two_owned_rules_at_one_priority(state):
    """Defect 5: a run stopped between a replacement's add and its del leaves two owned rules at one priority;
    every later run failed with File exists. Now the priority is rebuilt, deleting first to last."""
    current = engine.parse(leftover_dump({"fwmark": "0x100"}, {"fwmark": "0x200"}), PARAMS, FACTS)
    wanted = [rule(priority=1000, fwmark="0x200", table=5)]
    ops = converge_ops(engine.ENGINE, wanted, current, state, dict(PARAMS, state=state))
    assert texts(engine.render(ops, PARAMS)) == ["ip -4 rule del priority 1000 fwmark 0x100 lookup 5 protocol 211",
                                                 "ip -4 rule del priority 1000 fwmark 0x200 lookup 5 protocol 211",
                                                 "ip -4 rule add priority 1000 fwmark 0x200 lookup 5 protocol 211"]
    after = simulate(current, ops)
    assert [r for r in after if r.owned] == wanted
    assert converge_ops(engine.ENGINE, wanted, after, state, dict(PARAMS, state=state)) == []


def test_deleted_removes_every_owned_rule_of_a_priority_with_leftovers():
    current = engine.parse(leftover_dump({"iif": "lan0"}, {}), PARAMS, FACTS)
    deleting = dict(PARAMS, state="deleted")
    ops = converge_ops(engine.ENGINE, [engine.normalise({"priority": 1000}, deleting, FACTS)], current, "deleted",
                       deleting)
    assert [r for r in simulate(current, ops) if r.owned] == []
    # first to last: the general rule's delete would otherwise hit the specific one listed before it
    assert texts(engine.render(ops, PARAMS)) == ["ip -4 rule del priority 1000 iif lan0 lookup 5 protocol 211",
                                                 "ip -4 rule del priority 1000 lookup 5 protocol 211"]


def test_a_foreign_rules_odd_interface_is_read_not_refused():
    """What another tool made is read as it is, whatever the collection itself would refuse to write."""
    dump = {"rules4": [{"priority": 7, "src": "all", "iif": "wan0#x", "table": "5", "protocol": "boot"}]}
    assert engine.parse(dump, PARAMS, FACTS)[0].iif == "wan0#x"
