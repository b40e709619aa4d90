"""The shared core: what each state means, for any engine.

A toy engine (records keyed by name, with one value) stands in for the real ones so
the state semantics are pinned down once, independently of iproute2 or RouterOS.
"""

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core import resource
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import ScriptLine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    ADD, DELETE, REPLACE, Op, plan, run_resource, simulate)


@dataclass(frozen=True)
class Item:
    name: str
    value: object = None
    owned: bool = True

    @property
    def key(self):
        return self.name


class ToyEngine:
    """The smallest engine the core accepts."""

    @staticmethod
    def normalise(item, params, facts):
        if not str(item.get("name", "")).isidentifier():
            raise InvalidInput("name", item.get("name"), "is not a name")
        return Item(item["name"], item.get("value"))

    @staticmethod
    def parse(dump, params, facts):
        return [Item(**row) for row in dump]

    @staticmethod
    def merge(current, wanted):
        return current if wanted.value is None else replace(current, value=wanted.value)

    @staticmethod
    def render(ops, params):
        return [ScriptLine("%s %s %s" % (op.verb, op.record.name, op.record.value)) for op in ops]

    @staticmethod
    def render_state(records, params):
        return "".join("%s=%s%s\n" % (r.name, r.value, "" if r.owned else " (foreign)") for r in records)

    @staticmethod
    def to_config(record):
        return {"name": record.name, "value": record.value}

    @staticmethod
    def sort_key(record):
        return record.name


TOY_ENGINE = Engine(
    name="toy", config_spec=None, normalise=ToyEngine.normalise, parse=ToyEngine.parse, merge=ToyEngine.merge,
    render=ToyEngine.render, render_state=ToyEngine.render_state, to_config=ToyEngine.to_config,
    sort_key=ToyEngine.sort_key)


class ToyRunner:
    """A device of Items; `fail_on` makes one command fail after the earlier ones took effect."""

    def __init__(self, rows, fail_on=None):
        self.rows = [dict(row) for row in rows]
        self.fail_on = fail_on
        self.applied = []

    def dump(self):
        return [dict(row) for row in self.rows]

    def apply(self, commands):
        for line in (command.text for command in commands):
            if line == self.fail_on:
                raise ApplyFailed(line, "refused by the toy device")
            self.applied.append(line)
            verb, name, value = line.split(" ")
            value = None if value == "None" else value
            self.rows = [row for row in self.rows if not (row["name"] == name and row.get("owned", True))]
            if verb in (ADD, REPLACE):
                self.rows.append({"name": name, "value": value})


def params(state, config=None):
    return {"state": state, "config": config, "running_config": None}


names = st.sampled_from(["a", "b", "c", "d", "e"])
values = st.sampled_from(["1", "2", "3"])
owned_items = st.builds(Item, names, values)
item_lists = st.lists(owned_items, unique_by=lambda item: item.name, max_size=5)
foreign_items = st.lists(st.builds(Item, names, values, st.just(False)), max_size=3)
CHANGING_STATES = ("merged", "replaced", "overridden", "deleted")


@given(wanted=item_lists, owned_current=item_lists, foreign=foreign_items, state=st.sampled_from(CHANGING_STATES))
def test_a_second_plan_is_empty_and_foreign_records_survive(wanted, owned_current, foreign, state):
    current = foreign + owned_current
    after = simulate(current, plan(wanted, current, state, ToyEngine.merge))
    assert plan(wanted, after, state, ToyEngine.merge) == []
    assert [r for r in after if not r.owned] == foreign


@given(wanted=item_lists, current=item_lists)
def test_overridden_leaves_exactly_the_wanted_records(wanted, current):
    after = simulate(current, plan(wanted, current, "overridden", ToyEngine.merge))
    assert sorted(after, key=ToyEngine.sort_key) == sorted(wanted, key=ToyEngine.sort_key)


@given(wanted=item_lists, current=item_lists)
def test_merged_never_deletes(wanted, current):
    ops = plan(wanted, current, "merged", ToyEngine.merge)
    assert DELETE not in [op.verb for op in ops]


def test_additions_come_before_deletions():
    current = [Item("old", "1")]
    ops = plan([Item("new", "1")], current, "overridden", ToyEngine.merge)
    assert [op.verb for op in ops] == [ADD, DELETE]


def test_merged_keeps_fields_not_given_and_replaced_drops_them():
    current = [Item("a", "1")]
    assert plan([Item("a")], current, "merged", ToyEngine.merge) == []
    assert plan([Item("a")], current, "replaced", ToyEngine.merge) == [Op(REPLACE, Item("a"), old=Item("a", "1"))]


def test_deleted_without_config_removes_only_owned_records():
    current = [Item("mine", "1"), Item("theirs", "1", owned=False)]
    assert plan([], current, "deleted", ToyEngine.merge) == [Op(DELETE, Item("mine", "1"))]


def test_move_and_positioned_add_follow_the_position_key():
    current = [Item("a"), Item("b"), Item("c")]
    after = simulate(current, [Op(resource.MOVE, Item("c"), position="a"), Op(ADD, Item("d"), position="b")])
    assert [r.name for r in after] == ["c", "a", "d", "b"]


def test_rendered_needs_no_device():
    result = run_resource(TOY_ENGINE, None, params("rendered", [{"name": "a", "value": "1"}]))
    assert result == {"changed": False, "rendered": ["add a 1"]}


def test_gathered_returns_owned_records_in_config_shape():
    runner = ToyRunner([{"name": "a", "value": "1"}, {"name": "x", "value": "2", "owned": False}])
    assert run_resource(TOY_ENGINE, runner, params("gathered"))["gathered"] == [{"name": "a", "value": "1"}]


def test_check_mode_reports_the_plan_and_applies_nothing():
    runner = ToyRunner([{"name": "a", "value": "1"}, {"name": "x", "value": "2", "owned": False}])
    result = run_resource(TOY_ENGINE, runner, params("overridden", [{"name": "b", "value": "2"}]),
                          check_mode=True, diff_mode=True)
    assert result["changed"] and runner.applied == []
    assert result["commands"] == ["add b 2", "delete a 1"]
    assert result["after"] == [{"name": "b", "value": "2"}]
    assert "x=2 (foreign)" in result["diff"]["after"]


def test_apply_reads_back_and_a_second_run_changes_nothing():
    runner = ToyRunner([])
    first = run_resource(TOY_ENGINE, runner, params("merged", [{"name": "a", "value": "1"}]))
    assert first["changed"] and first["warnings"] == []
    assert run_resource(TOY_ENGINE, runner, params("merged", [{"name": "a", "value": "1"}]))["changed"] is False


def test_a_failure_mid_apply_restores_the_owned_records():
    runner = ToyRunner([{"name": "a", "value": "1"}], fail_on="add c 3")
    with pytest.raises(ApplyFailed) as failure:
        run_resource(TOY_ENGINE, runner, params("overridden", [{"name": "b", "value": "2"}, {"name": "c", "value": "3"}]))
    assert failure.value.command == "add c 3" and failure.value.rollback_error is None
    assert runner.rows == [{"name": "a", "value": "1"}]


def test_bad_input_fails_before_anything_is_applied():
    runner = ToyRunner([])
    with pytest.raises(InvalidInput) as error:
        run_resource(TOY_ENGINE, runner, params("merged", [{"name": "not a name"}]))
    assert error.value.field == "name" and error.value.value == "not a name"
    assert runner.applied == []


def test_duplicate_keys_in_config_are_refused():
    with pytest.raises(InvalidInput, match="more than once"):
        run_resource(TOY_ENGINE, None, params("rendered", [{"name": "a"}, {"name": "a"}]))


@given(wanted=item_lists, owned_current=item_lists, foreign=foreign_items, state=st.sampled_from(CHANGING_STATES))
def test_simulate_by_position_index_matches_the_list_by_list_walk(wanted, owned_current, foreign, state):
    current = foreign + owned_current + foreign     # equal records twice: the first one goes
    ops = plan(wanted, current, state, ToyEngine.merge)
    ops += [Op(DELETE, record) for record in foreign[:1]]
    assert simulate(current, ops) == resource._simulate_in_order(current, ops)


def test_simulate_deletes_the_first_equal_record_and_replaces_in_place():
    twin = Item("x", "1", owned=False)
    current = [twin, Item("a", "1"), Item("x", "1", owned=False)]
    ops = [Op(DELETE, twin), Op(REPLACE, Item("a", "2"), old=Item("a", "1")), Op(ADD, Item("b"))]
    assert simulate(current, ops) == [Item("a", "2"), Item("x", "1", owned=False), Item("b")]


def test_simulate_refuses_an_op_on_a_record_it_does_not_hold():
    with pytest.raises(ValueError):
        simulate([Item("a", "1")], [Op(DELETE, Item("a", "2"))])


def test_after_comes_only_with_a_change_and_before_always():
    runner = ToyRunner([{"name": "a", "value": "1"}])
    unchanged = run_resource(TOY_ENGINE, runner, params("merged", [{"name": "a", "value": "1"}]))
    assert unchanged == {"changed": False, "commands": [], "before": [{"name": "a", "value": "1"}]}
    changed = run_resource(TOY_ENGINE, runner, params("merged", [{"name": "a", "value": "2"}]))
    assert changed["before"] == [{"name": "a", "value": "1"}] and changed["after"] == [{"name": "a", "value": "2"}]


class RewritingRunner(ToyRunner):
    """A device that stores every value it is given as something else: the read-back must say so."""

    def apply(self, commands):
        super(RewritingRunner, self).apply(commands)
        self.rows = [dict(row, value="rewritten") for row in self.rows]


def test_a_read_back_that_differs_from_the_prediction_warns_and_shows_the_device():
    result = run_resource(TOY_ENGINE, RewritingRunner([]), params("merged", [{"name": "a", "value": "1"}]))
    assert result["after"] == [{"name": "a", "value": "rewritten"}]
    assert len(result["warnings"]) == 1 and "normalisation bug" in result["warnings"][0]


def test_a_runner_that_confirms_each_write_is_read_once():
    class CountingRunner(ToyRunner):
        reads_back = False
        dumps = 0

        def dump(self):
            self.dumps += 1
            return super().dump()

    runner = CountingRunner([])
    result = run_resource(TOY_ENGINE, runner, params("merged", [{"name": "a", "value": "1"}]))
    assert runner.dumps == 1 and runner.applied == ["add a 1"]
    assert result["after"] == [{"name": "a", "value": "1"}]
