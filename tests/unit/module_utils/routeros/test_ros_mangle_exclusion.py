"""``chain=output`` exclusions: parse a recorded mangle print, plan, place before the first marking rule."""

import json
import os

import pytest
from hypothesis import given, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_mangle_exclusion as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import converge_ops, run_resource, simulate

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "routeros")
PARAMS = {"state": "merged", "encoding": "ASCII"}
WANTED = [{"name": "lan", "dst_address": "192.168.88.0/24"}, {"name": "wg1", "out_interface": "ether5", "comment": "tunnel"},
          {"name": "dns-udp", "protocol": "udp", "dst_port": "53"}]


def load_rows():
    with open(os.path.join(FIXTURES, "ros7_audit_with_exclusions.json")) as handle:
        return json.load(handle)[engine.PATH]


ROWS = load_rows()


class FakeRunner(object):
    """Replays one dump and records what it was asked to apply."""

    def __init__(self, rows):
        self.rows, self.applied = rows, []

    def dump(self):
        return {engine.PATH: self.rows}

    def apply(self, lines):
        self.applied.extend(command.text for command in lines)


def params(**overrides):
    return dict(PARAMS, **overrides)


def current(rows=None):
    return engine.parse({engine.PATH: ROWS if rows is None else rows}, params(), None)


def wanted(config, **overrides):
    return [engine.normalise(item, params(**overrides), None) for item in config]


def run(config, state="overridden", rows=None, **options):
    return run_with_runner(config, state, rows, **options)[0]


def run_with_runner(config, state="overridden", rows=None, **options):
    """``(result, runner)``: the runner records what the plan applied."""
    runner = FakeRunner(ROWS if rows is None else rows)
    result = run_resource(engine.ENGINE, runner, params(state=state, config=config), **options)
    return result, runner


def test_parse_tells_owned_from_foreign_in_device_order_and_reads_every_field():
    rules = current()
    assert [(rule.key, rule.owned) for rule in rules] == [
        ("*1", False), ("lan", True), ("wg1", True), ("dns-udp", True), ("*5", False), ("*6", False),
        ("probe", True), ("*8", False), ("*9", False)]
    assert [engine.to_config(rule) for rule in rules if rule.owned] == [
        {"name": "lan", "action": "return", "dst_address": "192.168.88.0/24", "disabled": False},
        {"name": "wg1", "action": "return", "out_interface": "ether5", "disabled": False, "comment": "tunnel"},
        {"name": "dns-udp", "action": "return", "protocol": "udp", "dst_port": "53", "disabled": False},
        {"name": "probe", "action": "return", "dst_address": "10.254.15.129", "disabled": True}]


def test_foreign_ranges_and_negations_are_kept_as_printed():
    assert [rule.dst_address for rule in current()[-2:]] == ["10.0.0.1-10.0.0.9", "!172.16.0.0/12"]


def test_a_host_is_written_the_way_mangle_prints_it():
    assert wanted([{"name": "probe", "dst_address": "10.254.15.129/32"}])[0].dst_address == "10.254.15.129"
    assert wanted([{"name": "lan", "dst_address": "192.168.88.7/24"}])[0].dst_address == "192.168.88.0/24"


def test_gathered_config_plans_only_the_move_of_the_exclusion_behind_the_marking_rule():
    owned = [engine.to_config(rule) for rule in current() if rule.owned]
    result, runner = run_with_runner(owned)
    assert runner.applied == result["commands"] == ["/ip firewall mangle move *7 destination=*5"]


def test_an_exclusion_after_the_marking_rule_moves_before_it():
    result = run(WANTED + [{"name": "probe", "dst_address": "10.254.15.129"}], check_mode=True)
    assert result["commands"] == ["/ip firewall mangle set *7 disabled=no", "/ip firewall mangle move *7 destination=*5"]
    assert [entry["name"] for entry in result["after"]] == ["lan", "wg1", "dns-udp", "probe"]


def test_new_exclusions_are_added_then_moved_before_the_first_marking_rule_and_stale_ones_removed():
    config = [{"name": "dns-tcp", "protocol": "tcp", "dst_port": "53"}] + WANTED
    result, runner = run_with_runner(config, check_mode=True, diff_mode=True)
    assert result["commands"] == [
        "/ip firewall mangle add chain=output action=return protocol=tcp dst-port=53 comment=multiwan.pbr:dns-tcp",
        "/ip firewall mangle remove *7",
        "/ip firewall mangle move [find comment=multiwan.pbr:dns-tcp] destination=*2",
    ]
    assert runner.applied == []
    after = result["diff"]["after"].splitlines()
    assert after[1] == ("/ip firewall mangle add chain=output action=return protocol=tcp dst-port=53 "
                        "comment=multiwan.pbr:dns-tcp")
    assert after[0].startswith("# *1 (not managed) chain=forward action=change-mss")
    assert after[5].startswith("# *5 (not managed) chain=output action=mark-connection dst-address=47.109.74.243")


def test_without_a_marking_rule_the_block_goes_to_the_end():
    rows = [row for row in ROWS if row["action"] not in ("mark-connection", "mark-routing")]
    result = run(WANTED, rows=rows, check_mode=True)
    # one move of the block, in config order, to the end
    assert result["commands"] == ["/ip firewall mangle remove *7", "/ip firewall mangle move *2,*3,*4"]


def test_a_jump_in_output_is_an_anchor_too():
    rows = [ROWS[0], {".id": "*A", "chain": "output", "action": "jump", "jump-target": "steer"}] + ROWS[1:]
    result = run(WANTED, rows=rows, check_mode=True)
    assert result["commands"][1:] == ["/ip firewall mangle move *2,*3,*4 destination=*A"]


def test_replaced_clears_a_matcher_with_unset():
    result = run([{"name": "lan", "out_interface": "ether4"}], state="replaced", check_mode=True)
    assert result["commands"][0] == ("/ip firewall mangle set *2 out-interface=ether4; "
                                     "/ip firewall mangle unset *2 value-name=dst-address")


def test_deleted_removes_only_owned_rules():
    result, runner = run_with_runner([], state="deleted")
    assert runner.applied == result["commands"] == [
        "/ip firewall mangle remove *2", "/ip firewall mangle remove *3", "/ip firewall mangle remove *4",
        "/ip firewall mangle remove *7"]


def test_rendered_lines_can_be_pasted():
    result = run_resource(engine.ENGINE, None, params(state="rendered", config=[
        {"name": "wg1", "out_interface": "wg1", "action": "accept", "comment": "tunnel to the office"}]))
    assert result["rendered"] == [
        '/ip firewall mangle add chain=output out-interface=wg1 comment="multiwan.pbr:wg1 tunnel to the office"']


@pytest.mark.parametrize("item, field", [
    ({"name": "x", "dst_address": "not-an-address"}, "dst_address"),
    ({"name": "x", "dst_address": "2001:db8::/32"}, "dst_address"),
    ({"name": "x", "dst_port": "53"}, "dst_port"),
    ({"name": "x", "action": "mark-connection", "protocol": "udp"}, "action"),
    ({"name": "x"}, "name"),
    ({"name": "-bad", "protocol": "udp"}, "name"),
])
def test_bad_input_is_refused_naming_the_field(item, field):
    with pytest.raises(InvalidInput) as error:
        wanted([item], state="overridden")
    assert error.value.field == field


@given(st.permutations(WANTED + [{"name": "probe", "dst_address": "10.254.15.129"}]),
       st.sampled_from(["merged", "replaced", "overridden"]))
def test_any_order_converges_before_the_marking_rule_and_replans_nothing(config, state):
    wanted_rules = wanted(config, state=state)
    ops = converge_ops(engine.ENGINE, wanted_rules, current(), state, params(state=state))
    after = simulate(current(), ops)
    keys = [rule.key for rule in after]
    block = [rule.key for rule in wanted_rules]
    assert keys[keys.index(block[0]):keys.index(block[0]) + len(block)] == block
    assert keys.index(block[-1]) + 1 == keys.index("*5")
    assert [rule.key for rule in after if not rule.owned] == [rule.key for rule in current() if not rule.owned]
    assert converge_ops(engine.ENGINE, wanted_rules, after, state, params(state=state)) == []
