"""nft_connmark engine and nft runner: recorded ``nft -j`` listings, the renderer, the normaliser, bad input."""

import json
import os

import pytest
from hypothesis import given, settings as hypothesis_settings

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import ScriptLine, texts
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import nft_connmark as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.nft import Nft, table_comment, with_table_comment
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    ADD, DELETE, REPLACE, Op, plan, run_resource, simulate)
from unit.strategies_nft_connmark import GARBAGE, settings

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "nft")

CONTRACT = {
    "table": "multiwan_pbr",
    "mask": "0xff00",
    "wans": [{"name": "isp_a", "device": "wan0", "mark": "0x100", "masquerade": True},
             {"name": "isp_b", "device": "wan1", "mark": "0x200"}],
    "exclude": {"devices": ["wg0"],
                "destinations": ["192.168.0.0/16", "10.0.0.1", "10.0.1.0/24", "10.0.2.0/24", "fd00::/8"]},
}
ONE_WAN = {"table": "pbr_single", "mask": "0xf0000", "wans": [{"name": "uplink", "device": "eth9", "mark": "0x10000"}]}
MARKER_LINE = 'add table inet multiwan_pbr { comment "%s"; }' % engine.OWNER_COMMENT


def load(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle) if name.endswith(".json") else handle.read()


def marked(dump):
    """A recorded listing as the runner returns it for a table that carries the marker."""
    return with_table_comment(dump, engine.OWNER_COMMENT)


def params(**options):
    module_params = {"table": "multiwan_pbr", "mask": "0xff00", "wans": None, "exclude": None, "state": "present"}
    module_params.update(options)
    return engine.resource_params(module_params)


# ---------------------------------------------------------------------------
# Recorded listings: what nft 1.0.6 lists for hand-written rulesets equals what the engine wants


def test_contract_table_equals_the_recorded_listing():
    wanted = engine.normalise(CONTRACT)
    listed = engine.parse(marked(load("two_wans_exclusions_masquerade.json")), {})
    assert listed == [wanted]
    assert listed[0].config == wanted.config


def test_one_wan_without_exclusions_equals_the_recorded_listing():
    wanted = engine.normalise(ONE_WAN)
    assert engine.parse(marked(load("one_wan_plain.json")), {}) == [wanted]
    assert wanted.config["wans"] == [{"name": "uplink", "device": "eth9", "mark": "0x10000", "masquerade": False}]


def test_normalised_settings_read_back_from_the_listing():
    listed = engine.parse(marked(load("two_wans_exclusions_masquerade.json")), {})[0]
    assert engine.to_config(listed) == {
        "table": "multiwan_pbr",
        "mask": "0xff00",
        "wans": [{"name": "isp_a", "device": "wan0", "mark": "0x100", "masquerade": True},
                 {"name": "isp_b", "device": "wan1", "mark": "0x200", "masquerade": False}],
        "exclude": {"devices": ["wg0"],
                    "destinations": ["10.0.0.1/32", "10.0.1.0/24", "10.0.2.0/24", "192.168.0.0/16", "fd00::/8"]},
    }


def test_hand_edited_table_is_replaced_and_shown_in_the_diff():
    current = engine.parse(marked(load("hand_edited.json")), {})
    wanted = engine.normalise(CONTRACT)
    ops = plan([wanted], current, "replaced", engine.merge)
    assert [op.verb for op in ops] == [REPLACE]
    before = engine.render_state(current, {})
    assert "chain debug_log {" in before and '"tailscale0"' in before
    assert "meta mark set meta mark & 0xffff01ff | 0x00000100 counter" not in before    # counter is its own rule
    assert "\t\tcounter\n" in before
    assert current[0].config["exclude"]["devices"] == ["tailscale0", "wg0"]


def test_counter_values_do_not_make_a_difference():
    dump = load("hand_edited.json")
    for entry in dump["nftables"]:
        for statement in entry.get("rule", {}).get("expr", []):
            if "counter" in statement:
                statement["counter"] = {"packets": 12345, "bytes": 678901}
    assert engine.parse(marked(dump), {}) == engine.parse(marked(load("hand_edited.json")), {})


def test_no_table_in_the_dump_is_no_record():
    assert engine.parse({"nftables": []}, {}) == []
    assert engine.parse(None, {}) == []


# ---------------------------------------------------------------------------
# Rendering


def test_rendered_script_replaces_the_table_in_one_transaction():
    lines = texts(engine.render([Op(ADD, engine.normalise(ONE_WAN))], {}))
    assert lines == [
        "add table inet pbr_single",
        "delete table inet pbr_single",
        'add table inet pbr_single { comment "%s"; }' % engine.OWNER_COMMENT,
        "add chain inet pbr_single classify_uplink",
        "add chain inet pbr_single output { type route hook output priority mangle; policy accept; }",
        "add chain inet pbr_single postrouting { type filter hook postrouting priority mangle; policy accept; }",
        "add chain inet pbr_single prerouting { type filter hook prerouting priority mangle; policy accept; }",
        "add chain inet pbr_single restore_uplink",
        'add map inet pbr_single wan_devices { type ifname : verdict; elements = { "eth9" : goto classify_uplink } }',
        "add map inet pbr_single wan_marks { type mark : verdict; elements = { 0x00010000 : goto restore_uplink } }",
        "add rule inet pbr_single classify_uplink ct state new ct mark & 0x000f0000 == 0x00000000"
        " ct mark set ct mark & 0xfff1ffff | 0x00010000",
        "add rule inet pbr_single output ct mark & 0x000f0000 vmap @wan_marks",
        "add rule inet pbr_single postrouting ct state new oifname vmap @wan_devices",
        "add rule inet pbr_single prerouting iifname vmap @wan_devices",
        "add rule inet pbr_single prerouting ct mark & 0x000f0000 vmap @wan_marks",
        "add rule inet pbr_single restore_uplink meta mark set meta mark & 0xfff1ffff | 0x00010000",
    ]


def test_delete_adds_first_so_a_vanished_table_is_no_error():
    record = engine.normalise(ONE_WAN)
    assert texts(engine.render([Op(DELETE, record)], {})) == ["add table inet pbr_single", "delete table inet pbr_single"]


def test_diff_text_is_the_table_as_nft_lists_it():
    text = engine.render_state([engine.normalise(CONTRACT)], {})
    assert text.startswith('table inet multiwan_pbr {\n\tcomment "%s"\n\tset excluded_devices {\n\t\ttype ifname\n'
                           % engine.OWNER_COMMENT)
    assert "\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n" \
           "\t\tiifname @excluded_devices return\n\t\tip daddr @excluded_ipv4 return\n" \
           "\t\tip6 daddr @excluded_ipv6 return\n\t\tiifname vmap @wan_devices\n" \
           "\t\tct mark & 0x0000ff00 vmap @wan_marks\n\t}" in text
    assert "\tchain nat_postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n" \
           "\t\toifname @masquerade_devices masquerade\n\t}" in text
    assert engine.render_state([], {}) == ""


def test_classification_is_one_map_lookup_whatever_the_number_of_wans():
    wans = [{"name": "isp%d" % index, "device": "wan%d" % index} for index in range(12)]
    body = json.loads(engine.normalise({"mask": "0xff00", "wans": wans}).body)
    hooks = dict((chain["name"], chain["rules"]) for chain in body["chains"] if "hook" in chain)
    assert [len(hooks[name]) for name in ("prerouting", "output", "postrouting")] == [2, 1, 1]
    assert len(body["maps"][0]["elem"]) == 12


def test_no_masquerade_no_nat_chain_and_no_exclusions_no_sets():
    body = json.loads(engine.normalise(ONE_WAN).body)
    assert body["sets"] == [] and "nat_postrouting" not in [chain["name"] for chain in body["chains"]]


# ---------------------------------------------------------------------------
# Marks and masks


@pytest.mark.parametrize("mask", ["0xff00", "0xf0", "65280", 0xff00, "0x30000000", "0xf0f0"])
def test_a_derived_mark_depends_on_the_name_alone(mask):
    # YAML reads an unquoted 0xff00 as an int; a mask need not be one run of bits
    wans = [{"name": "w%d" % index, "device": "eth%d" % index} for index in range(3)]
    marks = dict((wan["name"], wan["mark"]) for wan in engine.normalise({"mask": mask, "wans": wans[:2]}).config["wans"])
    for others in (wans[1:2], wans[::-1][1:], [wans[2], wans[0]]):
        config = engine.normalise({"mask": mask, "wans": others + [wans[0]] if wans[0] not in others else others})
        derived = dict((wan["name"], wan["mark"]) for wan in config.config["wans"])
        assert all(derived[name] == marks[name] for name in derived if name in marks)
    value = int(str(mask), 0)
    for mark in marks.values():
        assert int(mark, 16) and not int(mark, 16) & ~value


def test_derived_marks_are_the_documented_ones():
    # Pinned: a change here renumbers every WAN without an explicit mark (and resets its connections).
    assert engine.default_mark("isp_a", 0xff00) == engine.default_mark("isp_a", 0xff00)
    assert [hex(engine.default_mark(name, 0xff00)) for name in ("wan1", "wan2", "isp_a", "isp_b")] == \
        PINNED_MARKS


PINNED_MARKS = ["0x%x" % engine.default_mark(name, 0xff00) for name in ("wan1", "wan2", "isp_a", "isp_b")]


def test_colliding_derived_marks_are_refused_never_renumbered():
    # a 2-bit mask has 3 marks: four names must collide; the refusal names a free mark
    wans = [{"name": "w%d" % index, "device": "eth%d" % index} for index in range(4)]
    with pytest.raises(InvalidInput) as raised:
        engine.normalise({"mask": "0x300", "wans": wans})
    assert raised.value.field.endswith(".mark") and "derived from the name" in raised.value.reason
    assert "explicit mark" in raised.value.reason


def test_explicit_and_derived_marks_mix():
    derived = hex(engine.default_mark("b", 0xff00))
    explicit = "0x100" if derived != "0x100" else "0x200"
    wans = [{"name": "a", "device": "eth0", "mark": explicit}, {"name": "b", "device": "eth1"}]
    config = engine.normalise({"mask": "0xff00", "wans": wans}).config
    assert sorted((wan["name"], wan["mark"]) for wan in config["wans"]) == [("a", explicit), ("b", derived)]


@hypothesis_settings(max_examples=100)
@given(settings())
def test_only_bits_inside_the_mask_are_written(options):
    record = engine.normalise(options)
    mask = int(record.config["mask"], 16)
    body = json.loads(record.body)
    for chain in body["chains"]:
        for rule in chain["rules"]:
            for statement in rule:
                if "mangle" in statement:
                    keep, mark = statement["mangle"]["value"]["|"][0]["&"][1], statement["mangle"]["value"]["|"][1]
                    assert keep | mask == engine.ALL_BITS         # every bit outside the mask is kept
                    assert keep & mask == mark and mark & ~mask == 0


@hypothesis_settings(max_examples=100)
@given(settings())
def test_gathered_settings_fed_back_plan_nothing(options):
    record = engine.normalise(options)
    assert engine.normalise(engine.to_config(record)) == record
    assert plan([record], [record], "replaced", engine.merge) == []


@hypothesis_settings(max_examples=100)
@given(settings())
def test_decoding_the_canonical_form_gives_the_normalised_settings(options):
    record = engine.normalise(options)
    assert engine.decode_config(record.name, json.loads(record.body)) == record.config


@hypothesis_settings(max_examples=100)
@given(settings())
def test_present_converges_and_absent_removes(options):
    record = engine.normalise(options)
    stale = engine.normalise({"table": options["table"], "mask": "0x1", "wans": [{"name": "old", "device": "old0"}]})
    ops = plan([record], [stale], "replaced", engine.merge)
    assert simulate([stale], ops) == [record]
    assert simulate([record], plan([], [record], "deleted", engine.merge)) == []


# ---------------------------------------------------------------------------
# Bad input: InvalidInput naming the field and the value


def wans_with(**fields):
    first = dict({"name": "isp_a", "device": "wan0"}, **fields)
    return [first, {"name": "isp_b", "device": "wan1"}]


@pytest.mark.parametrize("options, field, value", [
    ({"mask": "0", "wans": wans_with()}, "mask", "0"),
    ({"mask": "0x1ffffffff", "wans": wans_with()}, "mask", "0x1ffffffff"),
    ({"mask": "ff00", "wans": wans_with()}, "mask", "ff00"),
    ({"mask": True, "wans": wans_with()}, "mask", True),
    ({"wans": wans_with(mark="0x10000")}, "wans[0].mark", "0x10000"),
    ({"wans": wans_with(mark="0x1ff")}, "wans[0].mark", "0x1ff"),
    ({"wans": wans_with(mark="0")}, "wans[0].mark", "0"),
    ({"wans": [{"name": "a", "device": "e0", "mark": "0x200"}, {"name": "b", "device": "e1", "mark": "512"}]},
     "wans[1].mark", "0x200"),                                                  # one mark, two spellings
    ({"wans": wans_with(device="wan1")}, "wans[1].device", "wan1"),
    ({"wans": wans_with(name="isp_b")}, "wans[1].name", "isp_b"),
    ({"wans": wans_with(device="wan 0")}, "wans[0].device", "wan 0"),
    ({"wans": wans_with(device="a" * 16)}, "wans[0].device", "a" * 16),
    ({"wans": wans_with(device='wan"0')}, "wans[0].device", 'wan"0'),
    ({"wans": wans_with(device="wan/0")}, "wans[0].device", "wan/0"),
    ({"wans": wans_with(name="isp-a;drop")}, "wans[0].name", "isp-a;drop"),
    ({"wans": wans_with(name=None)}, "wans[0].name", None),
    ({"wans": []}, "wans", []),
    ({"wans": wans_with(device="wan*")}, "wans[0].device", "wan*"),             # nft reads a trailing * as a wildcard
    ({"wans": wans_with(device="wan#0")}, "wans[0].device", "wan#0"),
    ({"table": "my table", "wans": wans_with()}, "table", "my table"),
    ({"wans": wans_with(), "exclude": {"devices": ["wan1"]}}, "exclude.devices[0]", "wan1"),
    ({"wans": wans_with(), "exclude": {"devices": ["wg0", "bad dev"]}}, "exclude.devices[1]", "bad dev"),
    ({"wans": wans_with(), "exclude": {"destinations": ["192.168.0.0/33"]}}, "exclude.destinations[0]",
     "192.168.0.0/33"),
])
def test_bad_input_names_the_field_and_the_value(options, field, value):
    with pytest.raises(InvalidInput) as raised:
        engine.normalise(options)
    assert (raised.value.field, raised.value.value) == (field, value)
    assert field in str(raised.value)


@given(GARBAGE)
def test_garbage_masks_and_devices_are_refused_or_normalised(text):
    for options, field in (({"mask": text, "wans": wans_with()}, "mask"), ({"wans": wans_with(device=text)}, "wans[0].device")):
        try:
            engine.normalise(options)
        except InvalidInput as error:
            assert error.field == field and error.value == text


def test_bad_input_fails_while_mapping_the_module_params():
    with pytest.raises(InvalidInput):
        params(wans=wans_with(mark="0x7"))


# ---------------------------------------------------------------------------
# The module's states on the shared core, with a fake runner


def test_states_map_onto_the_core():
    assert params(wans=wans_with())["state"] == "replaced"
    assert params(state="absent") == {"state": "deleted", "config": [], "running_config": None, "table": "multiwan_pbr",
                                      "adopt": False}
    assert params(state="gathered")["config"] == []
    assert params(state="rendered", wans=wans_with())["config"][0]["wans"] == wans_with()


class FakeRunner(object):
    """Replays one dump; records what it was asked to apply."""

    def __init__(self, dump):
        self.dumps, self.applied = [dump], []

    def dump(self):
        return self.dumps[-1]

    def apply(self, lines):
        self.applied.append([command.text for command in lines])


def contract_params(state="present"):
    return params(state=state, **dict((key, value) for key, value in CONTRACT.items() if key != "table"))


def test_second_run_against_the_recorded_table_changes_nothing():
    runner = FakeRunner(marked(load("two_wans_exclusions_masquerade.json")))
    result = run_resource(engine.ENGINE, runner, contract_params(), check_mode=False, diff_mode=True)
    assert result["changed"] is False and result["commands"] == [] and runner.applied == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_check_mode_reports_but_applies_nothing():
    runner = FakeRunner({"nftables": []})
    result = run_resource(engine.ENGINE, runner, contract_params(), check_mode=True, diff_mode=True)
    assert result["changed"] and runner.applied == []
    assert result["before"] == [] and result["after"][0]["mask"] == "0xff00"
    assert result["diff"]["before"] == "" and result["diff"]["after"].startswith("table inet multiwan_pbr {")
    assert result["commands"][:3] == ["add table inet multiwan_pbr", "delete table inet multiwan_pbr", MARKER_LINE]
    assert '\tcomment "%s"\n' % engine.OWNER_COMMENT in result["diff"]["after"]


def test_absent_deletes_only_the_owned_table():
    runner = FakeRunner(marked(load("hand_edited.json")))
    result = run_resource(engine.ENGINE, runner, params(state="absent"), check_mode=True)
    assert result["commands"] == ["add table inet multiwan_pbr", "delete table inet multiwan_pbr"]
    assert result["after"] == []


def test_rendered_needs_no_runner():
    result = run_resource(engine.ENGINE, None, contract_params("rendered"))
    assert result["rendered"] == texts(engine.render([Op(ADD, engine.normalise(CONTRACT))], {}))


def test_gathered_returns_the_settings():
    result = run_resource(engine.ENGINE, FakeRunner(marked(load("one_wan_plain.json"))),
                          params(state="gathered", table="pbr_single"))
    assert result == {"changed": False, "gathered": [engine.normalise(ONE_WAN).config]}


# ---------------------------------------------------------------------------
# The nft runner, with a fake module that replays recorded nft output


class FakeModule(object):
    def __init__(self, replies):
        self.replies, self.calls = list(replies), []

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/" + name

    def run_command(self, argv, data=None, binary_data=False, environ_update=None, expand_user_and_vars=True):
        assert isinstance(argv, list) and environ_update == {"LC_ALL": "C"} and expand_user_and_vars is False
        self.calls.append((argv, data))
        return self.replies.pop(0)


def test_runner_treats_a_missing_table_as_an_empty_dump():
    module = FakeModule([(0, json.dumps(load("foreign_tables.json")), "")])
    assert Nft(module, "inet", "multiwan_pbr", writes=False).dump() == {"nftables": []}
    assert module.calls == [(["/usr/sbin/nft", "-j", "list", "tables", "inet"], None)]


def test_runner_lists_only_its_own_table_and_reads_its_comment_from_the_text_listing():
    # nft 1.0.6 leaves a table's comment out of -j (marked_table.json has none); its text listing shows it
    listing = load("marked_table.json")
    assert "comment" not in listing["nftables"][1]["table"]
    module = FakeModule([(0, json.dumps(load("foreign_tables.json")), ""), (0, json.dumps(listing), ""),
                         (0, load("marked_table.txt"), "")])
    dump = Nft(module, "inet", "pbr_single", writes=False).dump()
    assert dump == with_table_comment(listing, engine.OWNER_COMMENT)
    assert [call[0][1:] for call in module.calls[1:]] == [["-j", "list", "table", "inet", "pbr_single"],
                                                          ["list", "table", "inet", "pbr_single"]]
    assert engine.parse(dump, {})[0].owned


def test_runner_takes_the_comment_from_json_when_nft_prints_it_there():
    listing = with_table_comment(load("marked_table.json"), engine.OWNER_COMMENT)
    module = FakeModule([(0, json.dumps(load("foreign_tables.json")), ""), (0, json.dumps(listing), "")])
    assert Nft(module, "inet", "pbr_single", writes=False).dump() == listing
    assert len(module.calls) == 2


def test_only_the_tables_own_header_holds_its_comment():
    assert table_comment(load("marked_table.txt")) == engine.OWNER_COMMENT
    assert table_comment(load("firewall_fw.txt")) is None
    # a comment on a set or chain inside is not the table's
    assert table_comment('table inet t {\n\tset s {\n\t\tcomment "%s"\n\t}\n}\n' % engine.OWNER_COMMENT) is None


def test_runner_checks_then_applies_one_script():
    module = FakeModule([(0, "", ""), (0, "", "")])
    Nft(module, "inet", "t", writes=False).apply([ScriptLine("add table inet t"), ScriptLine("delete table inet t")])
    script = "add table inet t\ndelete table inet t\n"
    assert module.calls == [(["/usr/sbin/nft", "-c", "-f", "-"], script), (["/usr/sbin/nft", "-f", "-"], script)]


def test_runner_names_the_refused_line_and_applies_nothing():
    # nft 1.0.6's own message for a non-constant right-hand side, read from stdin
    stderr = ("/dev/stdin:2:33-68: Error: Right hand side of binary operation (|) must be constant\n"
              "add rule inet t c meta mark set meta mark & 0xff00 | ct mark & 0xff\n")
    module = FakeModule([(1, "", stderr)])
    lines = ["add chain inet t c", "add rule inet t c meta mark set meta mark & 0xff00 | ct mark & 0xff"]
    with pytest.raises(ApplyFailed) as raised:
        Nft(module, "inet", "t", writes=False).apply([ScriptLine(line) for line in lines])
    assert raised.value.command == lines[1] and "must be constant" in raised.value.device_message
    assert len(module.calls) == 1          # ``nft -c`` refused it: ``nft -f`` never ran


# ---------------------------------------------------------------------------
# Ownership: a table is the module's only when it carries the marker (issue 11, defect 8)


def run_against(dump, state="present", check_mode=False, **options):
    runner = FakeRunner(dump)
    module_options = dict((key, value) for key, value in CONTRACT.items() if key != "table")
    module_options.update(options)
    result = run_resource(engine.ENGINE, runner, params(state=state, **module_options), check_mode=check_mode,
                          diff_mode=True)
    return result, runner


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_table_without_the_marker_is_refused_and_never_touched(state, check_mode):
    # a firewall that happens to be called like the module's table: table: fw
    with pytest.raises(InvalidInput) as raised:
        run_against(load("firewall_fw.json"), state=state, check_mode=check_mode, table="fw")
    assert (raised.value.field, raised.value.value) == ("table", "fw")
    assert "marker" in raised.value.reason and "adopt: true" in raised.value.reason


def test_a_table_made_before_the_marker_is_refused_until_adopted():
    legacy = load("two_wans_exclusions_masquerade.json")      # what an earlier version left: no comment
    with pytest.raises(InvalidInput) as raised:
        run_against(legacy)
    assert "earlier multiwan.pbr" in raised.value.reason
    result, runner = run_against(legacy, adopt=True)
    # same content, but the marker is missing: the table is replaced once, with the marker
    assert result["changed"] and runner.applied[0][:3] == ["add table inet multiwan_pbr",
                                                           "delete table inet multiwan_pbr", MARKER_LINE]
    assert "\tcomment" not in result["diff"]["before"] and "\tcomment" in result["diff"]["after"]
    second, runner = run_against(marked(legacy), adopt=True)
    assert not second["changed"] and runner.applied == []


def test_adopt_never_takes_a_table_of_other_content():
    with pytest.raises(InvalidInput) as raised:
        run_against(load("firewall_fw.json"), table="fw", adopt=True)
    assert "takes over only a table whose sets, maps and chains" in raised.value.reason
    hand_edited = load("hand_edited.json")       # an extra chain (debug_log): not the module's layout either
    with pytest.raises(InvalidInput):
        run_against(hand_edited, adopt=True)


def test_absent_adopts_and_deletes_a_legacy_table():
    result, runner = run_against(load("two_wans_exclusions_masquerade.json"), state="absent", adopt=True)
    assert runner.applied == [["add table inet multiwan_pbr", "delete table inet multiwan_pbr"]]


def test_gathered_shows_nothing_of_a_table_that_is_not_ours():
    result = run_resource(engine.ENGINE, FakeRunner(load("firewall_fw.json")), params(state="gathered", table="fw"))
    assert result == {"changed": False, "gathered": []}


def test_the_marker_survives_the_round_trip_through_nft_text():
    # the script line writes exactly what the runner reads back from `nft list table`
    assert MARKER_LINE.replace("multiwan_pbr", "pbr_single").endswith('{ comment "%s"; }' % table_comment(
        load("marked_table.txt")))
