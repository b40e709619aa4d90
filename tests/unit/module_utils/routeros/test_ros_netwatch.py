"""``/tool/netwatch``: identity by name, durations by length, defaults whether print shows them or not."""

import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import converge_ops, run_resource, simulate
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_netwatch as engine
from unit.strategies_routeros import COMMENTS, NAMES, PARAMS

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "routeros")
# The same entries printed with RouterOS's defaults and without them (the simulator's netwatch_print switch).
PRINTS = {}
for _name in ("ros7_netwatch_print", "ros7_netwatch_print_written"):
    with open(os.path.join(FIXTURES, _name + ".json")) as handle:
        PRINTS[_name] = json.load(handle)
FIBER = {"name": "fiber-probe", "host": "198.18.2.2", "type": "icmp", "interval": "30s", "timeout": "00:00:00.5",
         "down_script": ':log warning "fiber: 198.18.2.2 stopped answering"', "up_script": ":log info fiber-up"}
CELL = {"name": "cell-probe", "host": "198.18.3.3", "disabled": True}


def params(**overrides):
    return dict(PARAMS, **overrides)


class FakeRunner(object):
    def __init__(self, rows):
        self.rows, self.applied = rows, []

    def dump(self):
        return {engine.PATH: self.rows}

    def apply(self, commands):
        self.applied.extend(command.text for command in commands)


def run(rows, state, config=None, check_mode=False):
    runner = FakeRunner(rows)
    return run_resource(engine.ENGINE, runner, params(state=state, config=config), check_mode, True), runner


@pytest.mark.parametrize("fixture", sorted(PRINTS))
def test_both_print_shapes_read_the_same_and_plan_nothing(fixture):
    result, runner = run(PRINTS[fixture], "overridden", [FIBER, CELL])
    assert not result["changed"] and runner.applied == [], result.get("commands")
    assert result["before"] == [
        {"name": "fiber-probe", "host": "198.18.2.2", "type": "icmp", "interval": "30s", "timeout": "500ms",
         "up_script": ":log info fiber-up", "down_script": ':log warning "fiber: 198.18.2.2 stopped answering"',
         "disabled": False},
        {"name": "cell-probe", "host": "198.18.3.3", "type": "simple", "interval": "10s", "timeout": "3s",
         "disabled": True}]


def test_the_hand_made_entry_is_foreign_and_never_touched():
    result, runner = run(PRINTS["ros7_netwatch_print"], "overridden", [])
    assert runner.applied == ["/tool netwatch remove *2", "/tool netwatch remove *3"]
    assert "/tool netwatch add host=192.0.2.1 comment=\"gateway watch by hand\"\n" in result["diff"]["after"]


def test_changes_are_sets_of_what_differs_and_cleared_scripts_are_unset():
    result, runner = run(PRINTS["ros7_netwatch_print_written"], "replaced", [
        {"name": "fiber-probe", "host": "198.18.2.2", "type": "icmp", "interval": "1m", "timeout": "500ms"}])
    assert runner.applied == [
        "/tool netwatch set *2 interval=1m; /tool netwatch unset *2 value-name=up-script; "
        "/tool netwatch unset *2 value-name=down-script"]


def test_rendered_writes_only_what_differs_from_routeros_defaults():
    result = run_resource(engine.ENGINE, None, params(state="rendered", config=[
        {"name": "cell-probe", "host": "198.18.3.3", "interval": "10s", "down_script": ":log warning cell-down"}]))
    assert result["rendered"] == [
        '/tool netwatch add host=198.18.3.3 down-script=":log warning cell-down" comment=multiwan.pbr:cell-probe']


@pytest.mark.parametrize("item, field, value", [
    ({"name": "x", "host": "198.18.2.300"}, "host", "198.18.2.300"),
    ({"name": "x", "host": "198.18.2.2", "interval": "500ms"}, "interval", "500ms"),
    ({"name": "x", "host": "198.18.2.2", "timeout": "1.5s"}, "timeout", "1.5s"),
    ({"name": "x", "host": "198.18.2.2", "type": "ping"}, "type", "ping"),
    ({"name": "x y", "host": "198.18.2.2"}, "name", "x y"),
])
def test_bad_entries_are_refused_naming_field_and_value(item, field, value):
    with pytest.raises(InvalidInput) as error:
        engine.normalise(item, params(state="replaced"), None)
    assert (error.value.field, error.value.value) == (field, value)


def test_a_new_entry_needs_a_host_whatever_the_state():
    with pytest.raises(InvalidInput) as error:
        run(PRINTS["ros7_netwatch_print"], "merged", [{"name": "new", "interval": "5s"}], check_mode=True)
    assert (error.value.field, error.value.value) == ("host", None) and "new" in error.value.reason
    result, _runner = run(PRINTS["ros7_netwatch_print"], "merged", [{"name": "fiber-probe", "interval": "5s"}])
    assert result["commands"] == ["/tool netwatch set *2 interval=5s"]


DURATIONS = st.sampled_from(["10s", "90", "1m30s", "00:01:30", "500ms", "1d02:00:00", "1w"])


def netwatch_configs():
    entry = st.fixed_dictionaries({"host": st.sampled_from(["198.18.2.2", "192.0.2.1", "2001:db8::1"])}, optional={
        "type": st.sampled_from(engine.TYPES), "interval": DURATIONS.filter(lambda value: value != "500ms"),
        "timeout": DURATIONS, "up_script": COMMENTS, "down_script": COMMENTS, "disabled": st.booleans(),
        "comment": COMMENTS})
    return st.lists(NAMES, unique=True, max_size=4).flatmap(
        lambda names: st.tuples(*[entry.map(lambda fields, name=name: dict(fields, name=name)) for name in names])
        .map(list))


@settings(max_examples=60)
@given(config=netwatch_configs(), fixture=st.sampled_from(sorted(PRINTS)))
def test_plans_converge_and_spare_the_hand_made_entry(config, fixture):
    current = engine.parse({engine.PATH: PRINTS[fixture]}, params(), None)
    for state in ("merged", "replaced", "overridden"):
        wanted = [engine.normalise(item, params(state=state), None) for item in config]
        ops = converge_ops(engine.ENGINE, wanted, current, state, params(state=state))
        after = simulate(current, ops)
        assert converge_ops(engine.ENGINE, wanted, after, state, params(state=state)) == []
        assert [entry.key for entry in after if not entry.owned] == ["*1"]
        for entry in wanted:
            assert engine.normalise(engine.to_config(entry), params(state=state), None) == entry
