"""``/routing/rule``: parse a recorded print, render exact CLI lines, order the block, properties."""

import dataclasses
import json
import os

import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import texts
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_routing_rule as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    ADD, DELETE, MOVE, REPLACE, Op, converge_ops, run_resource, simulate)
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ordering
from unit.strategies_routeros import PARAMS, placements, rule_configs, rule_rows

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "routeros")


def load_rows(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


def params(**overrides):
    return dict(PARAMS, **overrides)


def dump_of(rows):
    return {engine.PATH: rows}


def current_rules(rows):
    return engine.parse(dump_of(rows), params(), None)


def wanted_rules(config, **overrides):
    return [engine.normalise(item, params(**overrides), None) for item in config]


class FakeRunner(object):
    """Replays one dump and records what it was asked to apply."""

    def __init__(self, rows):
        self.rows = rows
        self.applied = []

    def dump(self):
        return dump_of(self.rows)

    def apply(self, lines):
        self.applied.extend(command.text for command in lines)


FIXTURE_ROWS = load_rows("ros7_routing_rule_print.json")


# -- parse ------------------------------------------------------------------------------------


def test_parse_tells_owned_from_foreign_and_keeps_device_order():
    rules = current_rules(FIXTURE_ROWS)
    assert [(rule.key, rule.owned) for rule in rules] == [
        ("*1", False), ("dns-via-wan2", True), ("lan-wan1", True), ("*4", False), ("*5", False)]


def test_parse_reads_every_field_and_splits_the_tag_from_the_comment():
    dns, lan = current_rules(FIXTURE_ROWS)[1:3]
    assert engine.to_config(dns) == {"name": "dns-via-wan2", "dst_address": "198.51.100.53/32",
                                     "action": "lookup", "table": "wan2", "disabled": False,
                                     "comment": "resolvers of ISP 2"}
    assert engine.to_config(lan) == {"name": "lan-wan1", "src_address": "192.168.88.0/24",
                                     "routing_mark": "wan1", "interface": "ether3",
                                     "action": "lookup-only-in-table", "table": "wan1", "min_prefix": 0,
                                     "disabled": False}


def test_a_rule_tagged_without_a_name_stays_foreign():
    tagged_without_name = current_rules(FIXTURE_ROWS)[4]
    assert not tagged_without_name.owned and tagged_without_name.comment == "multiwan.pbr no name here"


def test_parse_accepts_values_cast_by_librouteros():
    rows = [{".id": "*7", "action": "lookup", "table": "wan2", "disabled": False, "min-prefix": 0,
             "comment": "multiwan.pbr:x"}]
    assert engine.to_config(current_rules(rows)[0])["min_prefix"] == 0


def test_parsed_state_reads_a_saved_print():
    result = run_resource(engine.ENGINE, None, params(state="parsed", running_config=json.dumps(FIXTURE_ROWS)))
    assert [entry["name"] for entry in result["parsed"]] == ["dns-via-wan2", "lan-wan1"]


def test_parsed_state_refuses_text_that_is_no_print():
    with pytest.raises(InvalidInput) as error:
        run_resource(engine.ENGINE, None, params(state="parsed", running_config="/routing rule add"))
    assert error.value.field == "running_config"


# -- render -----------------------------------------------------------------------------------


def test_rendered_lines_can_be_pasted():
    config = [{"name": "dns-via-wan2", "dst_address": "198.51.100.53", "table": "wan2",
               "comment": "resolvers of ISP 2"},
              {"name": "block", "src_address": "10.0.0.7/8", "action": "unreachable", "disabled": True}]
    result = run_resource(engine.ENGINE, None, params(state="rendered", config=config))
    assert result["rendered"] == [
        '/routing rule add dst-address=198.51.100.53/32 table=wan2 comment="multiwan.pbr:dns-via-wan2 resolvers of ISP 2"',
        "/routing rule add src-address=10.0.0.0/8 action=unreachable disabled=yes comment=multiwan.pbr:block",
    ]


def test_a_changed_rule_is_set_in_place_and_cleared_fields_are_unset():
    result = run_resource(engine.ENGINE, FakeRunner(FIXTURE_ROWS), params(state="replaced", config=[
        {"name": "lan-wan1", "src_address": "192.168.88.0/24", "table": "wan2", "comment": "now wan2"}]),
        check_mode=True)
    assert result["commands"] == [
        '/routing rule set *3 action=lookup table=wan2 comment="multiwan.pbr:lan-wan1 now wan2"; '
        "/routing rule unset *3 value-name=routing-mark; /routing rule unset *3 value-name=interface; "
        "/routing rule unset *3 value-name=min-prefix",
        "/routing rule move *3",        # placement defaults to bottom
    ]


def test_deleted_removes_only_owned_rules_by_id():
    runner = FakeRunner(FIXTURE_ROWS)
    result = run_resource(engine.ENGINE, runner, params(state="deleted", config=[]))
    assert runner.applied == result["commands"] == ["/routing rule remove *2", "/routing rule remove *3"]


def test_diff_shows_add_lines_in_device_order():
    result = run_resource(engine.ENGINE, FakeRunner(FIXTURE_ROWS), params(state="merged", config=[
        {"name": "new", "dst_address": "192.0.2.0/24", "table": "wan1"}]), check_mode=True, diff_mode=True)
    after = result["diff"]["after"].splitlines()
    assert after[0] == '/routing rule add dst-address=10.8.0.0/16 table=vpn comment="office VPN"'
    assert after[-1] == "/routing rule add dst-address=192.0.2.0/24 table=wan1 comment=multiwan.pbr:new"
    assert len(after) == len(result["diff"]["before"].splitlines()) + 1


def test_the_runner_gets_the_values_themselves_not_their_quoting():
    rule = wanted_rules([{"name": "q", "comment": 'say "hi" for $5? \\ tab\there'}])[0]
    (command,) = engine.render([Op(ADD, rule)], params())
    assert command.sentence() == ["/routing/rule/add", '=comment=multiwan.pbr:q say "hi" for $5? \\ tab\there']


# -- placement --------------------------------------------------------------------------------


def plan_for(config, placement, rows=FIXTURE_ROWS, state="merged"):
    run_params = params(state=state, config=config, placement=placement)
    current = current_rules(rows)
    return converge_ops(engine.ENGINE, wanted_rules(config, state=state), current, state, run_params), current


def test_top_puts_the_block_before_every_rule_in_config_order():
    config = [{"name": "lan-wan1"}, {"name": "new", "dst_address": "192.0.2.0/24"}, {"name": "dns-via-wan2"}]
    ops, current = plan_for(config, {"position": "top"})
    after = simulate(current, ops)
    assert [rule.key for rule in after] == ["lan-wan1", "new", "dns-via-wan2", "*1", "*4", "*5"]
    assert texts(engine.render(ops, params())) == [
        "/routing rule add dst-address=192.0.2.0/24 comment=multiwan.pbr:new",
        # one move of the block, in config order (RouterOS moves a list as a block)
        "/routing rule move *3,[find comment=multiwan.pbr:new],*2 destination=*1",
    ]


def test_bottom_moves_to_the_end_only_what_is_out_of_place():
    ops, current = plan_for([{"name": "dns-via-wan2"}, {"name": "lan-wan1"}], {"position": "bottom"})
    assert [op.verb for op in ops] == [MOVE, MOVE]
    assert [rule.key for rule in simulate(current, ops)] == ["*1", "*4", "*5", "dns-via-wan2", "lan-wan1"]


def test_before_an_anchor_named_by_comment_or_by_id():
    for anchor in ("office VPN", "*1"):
        ops, current = plan_for([{"name": "dns-via-wan2"}], {"position": "before", "anchor": anchor})
        assert texts(engine.render(ops, params())) == ["/routing rule move *2 destination=*1"]


def test_an_anchor_must_match_exactly_one_unmanaged_rule():
    for anchor in ("nothing like this", "*2", None):
        with pytest.raises(InvalidInput) as error:
            plan_for([{"name": "dns-via-wan2"}], {"position": "before", "anchor": anchor})
        assert error.value.field == "placement.anchor" and error.value.value == anchor


def test_a_block_already_in_place_needs_no_move():
    ops, _current = plan_for([{"name": "dns-via-wan2"}, {"name": "lan-wan1"}], {"position": "before", "anchor": "*4"})
    assert ops == []


def test_deleted_plans_no_moves():
    ops, _current = plan_for([{"name": "lan-wan1"}], {"position": "top"}, state="deleted")
    assert [op.verb for op in ops] == [DELETE]


# -- properties -------------------------------------------------------------------------------


def _keys(rules, owned):
    return [rule.key for rule in rules if rule.owned == owned]


@settings(max_examples=80)
@given(config=rule_configs(), rows=rule_rows(), placement=placements(),
       state=st.sampled_from(["merged", "replaced", "overridden"]))
@example(config=[{"name": "dns"}],
         rows=[{".id": "*1", "action": "lookup", "table": "main", "disabled": "false", "comment": "multiwan.pbr:dns"},
               {".id": "*2", "action": "lookup", "table": "main", "disabled": "false"}],
         placement={"position": "bottom"}, state="merged")
def test_one_plan_converges_and_spares_foreign_rules_and_their_order(config, rows, placement, state):
    run_params = params(state=state, placement=placement)
    current = current_rules(rows)
    wanted = wanted_rules(config, state=state)
    ops = converge_ops(engine.ENGINE, wanted, current, state, run_params)
    after = simulate(current, ops)
    assert converge_ops(engine.ENGINE, wanted, after, state, run_params) == []
    assert _keys(after, owned=False) == _keys(current, owned=False)
    owned_after = _keys(after, owned=True)
    block = [rule.key for rule in wanted]
    positions = [owned_after.index(key) for key in block]
    assert positions == sorted(positions)
    if state == "overridden":
        assert owned_after == block
    if state == "merged":
        assert not any(op.verb == DELETE for op in ops)
        assert set(_keys(current, owned=True)) <= set(owned_after)


def landed(current, ops, add_order):
    """What the router holds after ``ops`` when its adds ran in ``add_order`` (RouterOS may run
    pipelined commands in any order; the writer only holds moves back until the adds are answered)."""
    records = list(current)
    for op in ops:
        if op.verb == DELETE:
            records.remove(op.record)
        elif op.verb == REPLACE:
            records[records.index(op.old)] = op.record
    adds = [op.record for op in ops if op.verb == ADD]
    records += [adds[index] for index in add_order]
    for op in ops:
        if op.verb == MOVE:
            records.remove(op.record)
            keys = [record.key for record in records]
            records.insert(keys.index(op.position) if op.position is not None else len(records), op.record)
    return records


def read_again(records):
    """``records`` as a fresh print would give them: every entry with an ``.id``, owned ones with their place."""
    fresh = [record if record.device_id else dataclasses.replace(record, device_id="*%X" % (0x100 + number))
             for number, record in enumerate(records)]
    return ordering.with_places(fresh)


@settings(max_examples=100)
@given(config=rule_configs(), rows=rule_rows(), placement=placements(),
       state=st.sampled_from(["merged", "replaced", "overridden"]), data=st.data())
def test_whatever_order_adds_land_in_the_moves_put_every_rule_in_place_and_the_undo_puts_it_back(
        config, rows, placement, state, data):
    """Issue 14 item 2 and issue 11 defect 6, as a property: the plan's moves give the planned order
    whatever order RouterOS ran the adds in; converging back to what was read (the core's undo) gives
    the exact order read before, foreign and owned entries alike, again whatever order its adds land in."""
    run_params = params(state=state, placement=placement)
    current = current_rules(rows)
    ops = converge_ops(engine.ENGINE, wanted_rules(config, state=state), current, state, run_params)
    adds = sum(1 for op in ops if op.verb == ADD)
    after = landed(current, ops, data.draw(st.permutations(range(adds))))
    assert [rule.key for rule in after] == [rule.key for rule in simulate(current, ops)]
    after = read_again(after)
    owned_before = [rule for rule in current if rule.owned]
    undo = converge_ops(engine.ENGINE, owned_before, after, "overridden", run_params)
    undo_adds = sum(1 for op in undo if op.verb == ADD)
    restored = read_again(landed(after, undo, data.draw(st.permutations(range(undo_adds)))))
    assert [rule.key for rule in restored] == [rule.key for rule in current]
    assert [rule for rule in restored if rule.owned] == owned_before       # fields and places


@settings(max_examples=50)
@given(config=rule_configs())
def test_to_config_round_trips_through_normalise(config):
    for rule in wanted_rules(config):
        assert engine.normalise(engine.to_config(rule), params(), None) == rule


@settings(max_examples=50)
@given(rows=rule_rows())
def test_gathered_fed_back_as_config_plans_nothing(rows):
    gathered = run_resource(engine.ENGINE, FakeRunner(rows), params(state="gathered"))["gathered"]
    result = run_resource(engine.ENGINE, FakeRunner(rows), params(state="replaced", config=gathered), check_mode=True)
    # Content is already right; only the placement (bottom by default) may still move the block.
    assert all(" move " in line for line in result["commands"])


@settings(max_examples=50)
@given(value=st.text(min_size=1, max_size=12).filter(lambda text: "/" not in text and not text.isdigit()))
def test_garbage_addresses_are_refused_naming_field_and_value(value):
    with pytest.raises(InvalidInput) as error:
        wanted_rules([{"name": "x", "dst_address": value}])
    assert error.value.field == "dst_address" and error.value.value == value


@pytest.mark.parametrize("item, field", [
    ({"name": "has space"}, "name"),
    ({"name": "*5"}, "name"),
    ({"name": "x", "min_prefix": 4294967296}, "min_prefix"),
    ({"name": "x", "action": "accept"}, "action"),
    ({"name": "x", "table": "two words"}, "table"),
    ({"name": "x", "comment": "caf\u00e9"}, "comment"),
])
def test_bad_entries_are_refused_naming_the_field(item, field):
    with pytest.raises(InvalidInput) as error:
        wanted_rules([item])
    assert error.value.field == field and error.value.value == item.get(field)


def test_a_rule_of_two_address_families_is_refused_naming_both():
    """Issue 11, defect 16: an IPv4 ``dst_address`` with an IPv6 ``src_address`` was accepted (and
    RouterOS would refuse it half-way through a run, or match nothing)."""
    with pytest.raises(InvalidInput) as error:
        wanted_rules([{"name": "x", "dst_address": "192.0.2.0/24", "src_address": "2001:db8::/32"}])
    assert (error.value.field, error.value.value) == ("src_address", "2001:db8::/32")
    assert "dst_address=192.0.2.0/24" in error.value.reason
    # merged: an IPv6 source given to a rule whose destination on the router is IPv4
    with pytest.raises(InvalidInput) as error:
        run_resource(engine.ENGINE, FakeRunner(FIXTURE_ROWS), params(state="merged", config=[
            {"name": "dns-via-wan2", "src_address": "2001:db8::1"}]), check_mode=True)
    assert error.value.field == "src_address" and "dst_address=198.51.100.53/32" in error.value.reason


def test_utf8_comments_pass_when_the_connection_says_so():
    (rule,) = wanted_rules([{"name": "x", "comment": "caf\u00e9"}], encoding="UTF-8")
    assert rule.comment == "caf\u00e9"


def test_a_copy_of_an_owned_rule_is_left_alone():
    copy = dict(FIXTURE_ROWS[1], **{".id": "*9"})
    rules = current_rules(FIXTURE_ROWS + [copy])
    assert [rule.key for rule in rules if rule.owned] == ["dns-via-wan2", "lan-wan1"]
    assert rules[-1].comment == "multiwan.pbr:dns-via-wan2 resolvers of ISP 2" and not rules[-1].owned
    ops, _current = plan_for([], None, rows=FIXTURE_ROWS + [copy], state="overridden")
    assert texts(engine.render(ops, params())) == ["/routing rule remove *2", "/routing rule remove *3"]


# RouterOS 7.22's built-in rules (default=true; tests/routeros_sim/README.md, builtin_rules=present): first and last.
BUILTIN_LOCAL = {".id": "*40000001", "chain": "local", "action": "lookup", "table": "local", "disabled": "false",
                 "inactive": "false", "default": "true"}
BUILTIN_MAIN = {".id": "*40000002", "chain": "main", "action": "lookup", "table": "main", "disabled": "false",
                "inactive": "false", "default": "true"}


@pytest.mark.parametrize("position, with_foreign, move", [
    ("top", True, "/routing rule move [find comment=multiwan.pbr:new] destination=*1"),
    ("top", False, None),
    ("bottom", True, None),
])
def test_placement_never_names_or_counts_a_built_in_rule(position, with_foreign, move):
    foreign = [{".id": "*1", "dst-address": "10.8.0.0/16", "action": "lookup", "table": "main", "disabled": "false",
                "inactive": "false", "default": "false", "comment": "office VPN"}] if with_foreign else []
    runner = FakeRunner([BUILTIN_LOCAL] + foreign + [BUILTIN_MAIN])
    result = run_resource(engine.ENGINE, runner, params(state="merged", placement={"position": position},
                                                        config=[{"name": "new", "dst_address": "192.0.2.9"}]),
                          diff_mode=True)
    assert runner.applied[0] == "/routing rule add dst-address=192.0.2.9/32 comment=multiwan.pbr:new"
    assert runner.applied[1:] == ([move] if move else [])
    assert "*4000000" not in " ".join(runner.applied) and "chain=local" not in result["diff"]["before"]
