"""The audit engine: recorded print replies in, findings out; every finding kind, both ways."""

import copy
import json
import os

import pytest
from hypothesis import given, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_mangle_audit as audit
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "routeros")
MANGLE, RULES, TABLES, ROUTES = audit.PATHS


def load(scenario):
    with open(os.path.join(FIXTURES, "ros7_audit_%s.json" % scenario)) as handle:
        return json.load(handle)


def found(dump, only_in_table=()):
    """``{(code, path, position)}`` of the findings, the shape most assertions need."""
    return {(finding.code, finding.path, finding.position) for finding in audit.audit(dump, only_in_table)}


def codes(dump, only_in_table=()):
    return {finding.code for finding in audit.audit(dump, only_in_table)}


def row_with_comment(dump, path, comment):
    return next(row for row in dump[path] if row.get("comment") == comment)


# ---------------------------------------------------------------------------
# Seed 000: mark-connection / mark-routing in chain=output


def test_seed_000_as_found_gives_two_errors_at_the_marking_rules():
    dump = load("polluted")
    findings = audit.audit(dump)
    assert [(f.severity, f.code, f.position, f.id) for f in findings] == [
        ("error", "output-connmark-unguarded", 1, "*2"),
        ("error", "output-routemark-from-output-connmark", 2, "*3"),
    ]
    assert "cell-wan-mark" in findings[0].explanation and "/routing rule" in findings[0].explanation


def test_prerouting_marks_disabled_rules_and_prerouting_keyed_routing_marks_are_not_pollution():
    dump = load("polluted")
    positions = {finding.position for finding in audit.audit(dump)}
    assert row_with_comment(dump, MANGLE, "forwarded: not output")[".id"] == "*1"
    assert positions.isdisjoint({0, 3, 4})      # prerouting mark, disabled mark, keyed on a prerouting mark


def test_enabling_nothing_but_disabling_the_mark_connection_clears_both_findings():
    dump = load("polluted")
    row_with_comment(dump, MANGLE, "seed 000 step 1")["disabled"] = "true"
    assert codes(dump) == set()


def test_partial_exclusions_turn_the_errors_into_warnings_naming_what_is_missing():
    findings = audit.audit(load("excluded"))
    assert [(f.severity, f.code, f.position) for f in findings] == [
        ("warning", "output-connmark-exclusions-incomplete", 3),
        ("warning", "output-routemark-from-output-connmark-excluded", 4),
    ]
    assert findings[0].explanation.endswith("cover no DNS")
    assert "(#0, #1, #2)" in findings[0].explanation


def test_lan_tunnel_and_dns_exclusions_silence_the_audit_also_through_a_jump():
    assert audit.audit(load("fully_excluded")) == []


def test_a_negated_exclusion_does_not_count_as_excluding_that_kind():
    dump = load("fully_excluded")
    del dump[MANGLE][:3]        # only the `!192.168.0.0/16` return stays before the late mark
    findings = [f for f in audit.audit(dump) if f.id == row_with_comment(dump, MANGLE, "after a negated exclusion only")[".id"]]
    assert [f.code for f in findings] == ["output-connmark-exclusions-incomplete"]
    assert "no LAN and gateway addresses and no tunnel interfaces and no DNS" in findings[0].explanation


def test_an_exclusion_after_the_mark_does_not_guard_it():
    dump = load("excluded")
    mangle = dump[MANGLE]
    dump[MANGLE] = mangle[3:] + mangle[:3]
    assert {(f.code, f.position) for f in audit.audit(dump)} >= {("output-connmark-unguarded", 0)}


def test_a_return_matching_everything_excludes_every_kind():
    dump = load("excluded")
    del dump[MANGLE][:3]
    dump[MANGLE].insert(0, {".id": "*9", "chain": "output", "action": "accept", "passthrough": "true",
                            "bytes": "0", "packets": "0", "dynamic": "false", "invalid": "false"})
    assert codes(dump) == {"output-routemark-from-output-connmark-excluded"}


def test_marks_in_a_user_chain_that_output_jumps_to_are_output_marks():
    assert found(load("jump_unguarded")) == {
        ("output-connmark-unguarded", MANGLE, 1), ("output-routemark-from-output-connmark", MANGLE, 2)}


def test_a_chain_no_rule_jumps_to_is_not_audited():
    dump = load("jump_unguarded")
    dump[MANGLE][0]["disabled"] = "true"
    assert audit.audit(dump) == []


def test_values_cast_by_librouteros_read_the_same():
    dump = load("polluted")
    for row in dump[MANGLE]:
        for key, value in row.items():
            row[key] = {"true": True, "false": False}.get(value, int(value) if value.isdigit() else value)
    assert found(dump) == found(load("polluted"))


# ---------------------------------------------------------------------------
# Tables


def test_table_findings_in_the_recorded_tables_scenario():
    assert found(load("tables")) == {
        ("table-not-in-fib", MANGLE, 0),                 # new-routing-mark=nofib
        ("table-not-in-fib", RULES, 5),                  # table=nofib
        ("missing-table", RULES, 9),                     # table removed: prints its *id
        ("table-not-in-fib", RULES, 10),                 # table=off is disabled
        ("shadowed-rule", RULES, 1),
        ("lookup-may-fall-back-to-main", RULES, 2),
        ("shadowed-rule", RULES, 8),
        ("table-without-default-route", TABLES, 3),      # nodefault: a /8 and a disabled default only
    }


def test_errors_come_first_and_severities_follow_the_codes():
    findings = audit.audit(load("tables"))
    assert [f.severity for f in findings] == sorted((f.severity for f in findings), key=audit.SEVERITIES.index)
    assert all(f.severity == audit.CODES[f.code] for f in findings)
    assert audit.counts(findings) == {"error": 4, "warning": 4, "info": 0}


def test_missing_table_names_the_dangling_id():
    finding = next(f for f in audit.audit(load("tables")) if f.code == "missing-table")
    assert "table=*5" in finding.explanation and "removed" in finding.explanation


def test_a_routing_mark_naming_no_table_is_missing():
    dump = load("clean")
    dump[RULES][0]["routing-mark"] = "nosuch"
    assert ("missing-table", RULES, 0) in found(dump)


def test_builtin_main_and_local_are_never_missing():
    dump = load("clean")
    dump[RULES][0]["table"] = "local"
    dump[RULES][1]["table"] = "main"
    assert not codes(dump) & {"missing-table", "table-not-in-fib"}


def test_a_table_with_a_default_route_in_it_is_fine_and_routes_elsewhere_do_not_count():
    dump = load("clean")
    assert "table-without-default-route" not in codes(dump)
    for row in dump[ROUTES]:
        if row.get("routing-table") == "cell":
            row["routing-table"] = "main"
    assert ("table-without-default-route", TABLES, 1) in found(dump)


# ---------------------------------------------------------------------------
# Routing rules: fallback to main, shadowing


def test_the_clean_way_has_no_findings():
    assert audit.audit(load("clean")) == []


def test_lookup_where_only_in_table_was_asked_for_is_flagged_and_only_in_table_is_not():
    wanted = audit.expectations([{"dst_address": "47.109.74.243", "table": "cell"},
                                 {"dst_address": "203.0.113.0/24"}])
    findings = audit.audit(load("clean"), wanted)
    assert [(f.code, f.position, f.id) for f in findings] == [("only-in-table-falls-back-to-main", 0, "*1")]


def test_an_only_in_table_destination_without_a_rule_is_reported_without_a_position():
    wanted = audit.expectations([{"dst_address": "198.51.100.0/24", "table": "cell"},
                                 {"dst_address": "203.0.113.0/24", "table": "other"}])
    findings = audit.audit(load("clean"), wanted)
    assert [(f.code, f.position, f.id) for f in findings] == [("only-in-table-rule-missing", None, None)] * 2
    assert audit.summary(findings, load("clean"))[1].startswith("WARNING /routing/rule only-in-table-rule-missing")


def test_a_lookup_rule_is_not_a_fallback_when_its_table_has_a_default_route():
    assert "lookup-may-fall-back-to-main" not in codes(load("clean"))


@pytest.mark.parametrize("earlier, later, shadowed", [
    ({"dst-address": "10.0.0.0/8", "action": "drop"}, {"dst-address": "10.1.0.0/16"}, True),
    ({"dst-address": "10.0.0.0/8", "action": "drop"}, {"dst-address": "11.0.0.0/16"}, False),
    ({"dst-address": "10.0.0.0/8", "action": "drop"}, {}, False),                 # later matches more
    ({"action": "unreachable"}, {"dst-address": "2001:db8::/32"}, True),          # no matcher: every family
    ({"dst-address": "0.0.0.0/0", "action": "drop"}, {"dst-address": "2001:db8::/32"}, False),
    ({"dst-address": "10.0.0.0/8", "action": "lookup", "table": "cell"}, {"dst-address": "10.1.0.0/16"}, True),
    ({"dst-address": "10.0.0.0/8", "action": "lookup", "table": "bare"}, {"dst-address": "10.1.0.0/16"}, False),
    ({"dst-address": "10.0.0.0/8", "action": "drop", "min-prefix": "0"}, {"dst-address": "10.1.0.0/16"}, False),
    ({"interface": "ether3", "action": "drop"}, {"interface": "ether3", "src-address": "192.0.2.0/24"}, True),
    ({"interface": "ether3", "action": "drop"}, {"interface": "ether4"}, False),
    ({"routing-mark": "cell", "action": "drop"}, {"routing-mark": "cell", "dst-address": "10.0.0.0/8"}, True),
    ({"dst-address": "10.0.0.0/8", "action": "drop", "disabled": "true"}, {"dst-address": "10.1.0.0/16"}, False),
])
def test_shadowing(earlier, later, shadowed):
    dump = load("clean")
    dump[TABLES].append({".id": "*9", "name": "bare", "fib": "", "dynamic": "false", "invalid": "false"})
    dump[RULES] = [dict({".id": "*1", "table": "main", "action": "lookup"}, **earlier),
                   dict({".id": "*2", "table": "cell", "action": "lookup-only-in-table"}, **later)]
    assert (("shadowed-rule", RULES, 1) in found(dump)) is shadowed


# ---------------------------------------------------------------------------
# Input, summary, robustness


@pytest.mark.parametrize("value", ["not-an-address", "", None, "10.0.0.0/40"])
def test_bad_only_in_table_addresses_are_refused_naming_the_field(value):
    with pytest.raises(InvalidInput) as error:
        audit.expectations([{"dst_address": "192.0.2.0/24"}, {"dst_address": value}])
    assert error.value.field == "only_in_table[1].dst_address" and error.value.value == value


def test_the_summary_counts_then_lists_each_finding_with_its_location():
    dump = load("polluted")
    lines = audit.summary(audit.audit(dump), dump)
    assert lines[0] == "2 errors, 0 warnings, 0 notes in 5 mangle rules, 0 routing rules, 2 routing tables, 3 routes"
    assert lines[1].startswith("ERROR   /ip/firewall/mangle #1 (*2) output-connmark-unguarded: mark-connection")
    assert len(lines) == 3


def test_a_clean_summary_says_so():
    dump = load("clean")
    assert audit.summary([], dump) == [
        "0 errors, 0 warnings, 0 notes in 1 mangle rules, 2 routing rules, 2 routing tables, 3 routes: nothing to report"]


def test_findings_are_plain_data():
    finding = audit.audit(load("polluted"))[0]
    assert json.loads(json.dumps(finding.as_dict())) == {
        "severity": "error", "code": "output-connmark-unguarded", "path": MANGLE, "position": 1, "id": "*2",
        "explanation": finding.explanation}


def test_an_empty_router_has_nothing_to_report():
    assert audit.audit({}) == []


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(0, 99), st.sampled_from(
    ["output", "prerouting", "steer", "mark-connection", "mark-routing", "return", "jump", "lookup", "drop",
     "cell", "*5", "!cell", "10.0.0.0/8", "1.2.3.4-1.2.3.9", "", "true", "main", "0.0.0.0/0"]))
_KEYS = st.sampled_from(["chain", "action", "new-connection-mark", "connection-mark", "new-routing-mark",
                         "routing-mark", "jump-target", "dst-address", "out-interface", "dst-port", "table",
                         "disabled", "min-prefix", "name", "fib", "routing-table", "interface"])
_ROWS = st.lists(st.dictionaries(_KEYS, _VALUES, max_size=6), max_size=5)


@given(st.fixed_dictionaries(dict((path, _ROWS) for path in audit.PATHS)))
def test_any_print_rows_give_findings_with_known_codes_and_real_positions(dump):
    before = copy.deepcopy(dump)
    for finding in audit.audit(dump):
        assert finding.severity == audit.CODES[finding.code]
        assert finding.position is None or 0 <= finding.position < len(dump[finding.path])
    assert dump == before        # the audit never changes what it reads


# ---------------------------------------------------------------------------
# Failover: monitor targets routed through themselves, strict rules while the default is down


def test_a_monitor_target_sent_into_its_own_wan_without_a_host_route_there_is_a_loop():
    dump = load("failover")
    loops = [finding for finding in audit.audit(dump) if finding.code.startswith("monitor-target")]
    looped = row_with_comment(dump, RULES, "cell probe looped")
    assert [(f.severity, f.code, f.id) for f in loops] == [
        ("error", "monitor-target-routed-through-itself", looped[".id"])]
    assert "198.18.3.3" in loops[0].explanation and "table cell" in loops[0].explanation


def test_a_monitor_target_with_a_host_route_in_its_table_is_no_loop():
    """The role's pattern: the strict rule for fiber's target finds the host route, not the default."""
    dump = load("failover")
    pinned = row_with_comment(dump, RULES, "fiber probe pinned")
    assert not [f for f in audit.audit(dump) if f.id == pinned[".id"]]


def test_a_looped_target_under_plain_lookup_is_a_warning():
    dump = load("failover")
    row_with_comment(dump, RULES, "cell probe looped")["action"] = "lookup"
    assert "monitor-target-routed-through-itself-may-fall-back" in codes(dump)
    assert "monitor-target-routed-through-itself" not in codes(dump)


def test_a_host_route_in_the_wans_table_ends_the_loop():
    dump = load("failover")
    dump[ROUTES].append({".id": "*80000009", "dst-address": "198.18.3.3/32", "gateway": "10.254.15.129",
                         "scope": "10", "routing-table": "cell", "active": "true"})
    assert not {code for code in codes(dump) if code.startswith("monitor-target")}


def test_strict_rules_are_reported_while_their_tables_default_is_inactive():
    dump = load("failover")
    findings = [f for f in audit.audit(dump) if f.code == "only-in-table-without-active-default"]
    assert sorted(f.id for f in findings) == sorted(row_with_comment(dump, RULES, comment)[".id"] for comment in (
        "cell probe looped", "strict into cell"))
    assert all(f.severity == "warning" and "are inactive" in f.explanation for f in findings)
    row_with_comment(dump, ROUTES, "cell default")["active"] = "true"      # the target answers again
    assert "only-in-table-without-active-default" not in codes(dump)


def test_a_strict_rule_into_a_table_without_any_default_is_reported_too():
    dump = load("failover")
    dump[ROUTES] = [row for row in dump[ROUTES] if row.get("comment") != "cell default"]
    findings = [f for f in audit.audit(dump) if f.code == "only-in-table-without-active-default"]
    assert findings and all("no enabled default route" in f.explanation for f in findings)


def test_built_in_rules_do_not_hide_the_rule_that_sends_a_target_into_its_wan():
    dump = load("failover")
    dump[RULES].insert(0, {".id": "*40000001", "chain": "local", "action": "lookup", "table": "local",
                           "default": "true", "disabled": "false", "inactive": "false"})
    assert "monitor-target-routed-through-itself" in codes(dump)
