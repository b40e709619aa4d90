"""``/routing/table``: the built-in and foreign tables stay out; ``fib`` is a flag."""

import json
import os

import pytest
from hypothesis import given, settings

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_routing_table as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    DELETE, converge_ops, run_resource, simulate)
from unit.strategies_routeros import PARAMS, table_configs, table_rows

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "routeros")
with open(os.path.join(FIXTURES, "ros7_routing_table_print.json")) as handle:
    FIXTURE_ROWS = json.load(handle)


def params(**overrides):
    return dict(PARAMS, **overrides)


class FakeRunner(object):
    def __init__(self, rows):
        self.rows, self.applied = rows, []

    def dump(self):
        return {engine.PATH: self.rows}

    def apply(self, lines):
        self.applied.extend(command.text for command in lines)


def run(state, config=None, rows=FIXTURE_ROWS, check_mode=False):
    runner = FakeRunner(rows)
    return run_resource(engine.ENGINE, runner, params(state=state, config=config), check_mode, True), runner


def test_main_is_left_out_and_owned_tables_are_tagged():
    tables = engine.parse({engine.PATH: FIXTURE_ROWS}, params(), None)
    assert [(table.name, table.owned, table.fib) for table in tables] == [
        ("vpn", False, True), ("wan1", True, True), ("wan2", True, True), ("lab", True, False)]
    assert engine.to_config(tables[2]) == {"name": "wan2", "fib": True, "disabled": False, "comment": "ISP 2"}


def test_fib_is_written_as_a_flag_and_cleared_with_unset():
    result, runner = run("merged", [{"name": "isp-3", "fib": True}, {"name": "wan1", "fib": False}])
    assert runner.applied == result["commands"] == [
        "/routing table add name=isp-3 fib comment=multiwan.pbr",
        "/routing table unset *2 value-name=fib",
    ]


def test_merged_keeps_what_is_not_given():
    result, runner = run("merged", [{"name": "wan2", "disabled": True}], check_mode=True)
    assert result["commands"] == ["/routing table set *3 disabled=yes"] and runner.applied == []
    assert result["after"][2] == {"name": "wan2", "fib": True, "disabled": True, "comment": "ISP 2"}


def test_overridden_removes_owned_tables_only():
    result, _runner = run("overridden", [{"name": "wan1", "fib": True}], check_mode=True)
    assert result["commands"] == ["/routing table remove *3", "/routing table remove *4"]
    assert "/routing table add name=vpn fib comment=\"made by hand\"" in result["diff"]["after"]


@pytest.mark.parametrize("name, reason", [("main", "built-in"), ("vpn", "without the multiwan.pbr tag")])
def test_foreign_and_builtin_names_are_refused_before_anything_is_sent(name, reason):
    runner = FakeRunner(FIXTURE_ROWS)
    with pytest.raises(InvalidInput) as error:
        run_resource(engine.ENGINE, runner, params(state="merged", config=[{"name": name}]))
    assert error.value.field == "name" and error.value.value == name and reason in str(error.value)
    assert runner.applied == []


def test_rendered_lines():
    result = run_resource(engine.ENGINE, None, params(state="rendered", config=[
        {"name": "wan2", "fib": True, "comment": "ISP 2"}, {"name": "lab", "disabled": True}]))
    assert result["rendered"] == ['/routing table add name=wan2 fib comment="multiwan.pbr ISP 2"',
                                  "/routing table add name=lab disabled=yes comment=multiwan.pbr"]


@settings(max_examples=60)
@given(config=table_configs(), owned=table_configs())
def test_plans_converge_and_never_touch_main_or_foreign_tables(config, owned):
    rows = table_rows([entry["name"] for entry in owned])
    current = engine.parse({engine.PATH: rows}, params(), None)
    facts = engine.parse_facts({engine.PATH: rows}, params())
    wanted = [engine.normalise(item, params(), facts) for item in config if item["name"] != "vpn"]
    for state in ("merged", "replaced", "overridden"):
        ops = converge_ops(engine.ENGINE, wanted, current, state, params(state=state))
        after = simulate(current, ops)
        assert converge_ops(engine.ENGINE, wanted, after, state, params(state=state)) == []
        assert [table for table in after if not table.owned] == [table for table in current if not table.owned]
        assert state != "merged" or not any(op.verb == DELETE for op in ops)


@settings(max_examples=40)
@given(config=table_configs())
def test_to_config_round_trips(config):
    for item in config:
        table = engine.normalise(item, params(), None)
        assert engine.normalise(engine.to_config(table), params(), None) == table


def test_a_foreign_table_with_a_name_this_module_would_refuse_is_still_read():
    rows = FIXTURE_ROWS + [{".id": "*9", "name": "my table", "dynamic": "false", "disabled": "false"}]
    tables = engine.parse({engine.PATH: rows}, params(), None)
    assert tables[-1].name == "my table" and not tables[-1].owned


def test_a_table_still_named_by_rules_routes_or_mangle_is_never_removed():
    """Issue 11, defect 9: removing an owned table left the hand-made rules and routes that used it
    pointing at its dead ``*id``. The plan is refused before anything is sent, naming every referrer."""
    dump = {engine.PATH: FIXTURE_ROWS,
            "/routing/rule": [{".id": "*5", "table": "lab", "action": "lookup", "comment": "office VPN"},
                              {".id": "*6", "routing-mark": "lab", "table": "main"}],
            "/ip/route": [{".id": "*80000003", "gateway": "192.0.2.1@lab", "routing-table": "main"}],
            "/ip/firewall/mangle": [{".id": "*9", "chain": "prerouting", "action": "mark-routing",
                                     "new-routing-mark": "lab"}]}

    class Runner(FakeRunner):
        def dump(self):
            return dump

    runner = Runner(FIXTURE_ROWS)
    keep = [{"name": "wan1", "fib": True}, {"name": "wan2", "fib": True, "comment": "ISP 2"}]
    with pytest.raises(InvalidInput) as error:
        run_resource(engine.ENGINE, runner, params(state="overridden", config=keep))
    assert (error.value.field, error.value.value) == ("name", "lab") and runner.applied == []
    for referrer in ("/routing/rule *5 (office VPN)", "/routing/rule *6", "/ip/route *80000003",
                     "/ip/firewall/mangle *9"):
        assert referrer in error.value.reason
    # a table nothing names still goes
    del dump["/ip/firewall/mangle"], dump["/ip/route"], dump["/routing/rule"]
    result = run_resource(engine.ENGINE, runner, params(state="overridden", config=keep))
    assert result["commands"] == ["/routing table remove *4"]
