"""The pbr_table shell: the core with a fake runner, the module's argument spec, the names-file runner."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import Command, FileEdit
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_table as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.config_entries import validated_entries
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import run_resource
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import reported_as_failure
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables_file import (
    HEADER, TablesFileRunner, edited_text)
from ansible_collections.multiwan.pbr.plugins.module_utils.core import fields
from ansible_collections.multiwan.pbr.plugins.modules import pbr_table as module
from ansible_collections.multiwan.pbr.plugins.modules.pbr_table import ARGUMENT_SPEC
from unit.module_utils.linux.test_pbr_table import recorded_dump
from unit.strategies_routes import params

WAN2_TABLE = {"name": "isp_c", "id": 103, "routes": [{"dst": "default", "via": "203.0.113.1", "dev": "wan1"}]}
DHCP_ROUTE_LINE = "172.16.0.0/12 via 198.51.100.1 dev wan0 table 254 proto 16\n"
STATIC_ROUTE_LINE = "192.0.2.7/32 via 198.51.100.1 dev wan0 table 101 metric 5 proto 4\n"


class FakeRunner:
    """Replays one dump and records what it was asked to apply; ``refuse`` fails the first apply."""

    def __init__(self, dump, refuse=None):
        self.dumped, self.applied, self.refuse = dump, [], refuse

    def dump(self):
        return self.dumped

    def apply(self, lines):
        self.applied.append([command.text for command in lines])
        if self.refuse:
            failure, self.refuse = self.refuse, None
            raise failure


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_documentation_of_config_is_the_field_table():
    """DOCUMENTATION's ``config`` suboptions are exactly what the engine's field table documents, and
    the option spec the core checks entries against comes from the same table (issue 11: each field
    declared once; tools/field_docs.py writes the text)."""
    documented = yaml.safe_load(module.DOCUMENTATION)["options"]["config"]["suboptions"]
    assert documented == fields.documentation(engine.CONFIG_FIELDS)
    assert engine.CONFIG_SPEC["options"] == fields.options_spec(engine.CONFIG_FIELDS)


def test_field_docs_tool_finds_the_module_text_up_to_date():
    tool = os.path.join(ROOT, "tools", "field_docs.py")
    completed = subprocess.run([sys.executable, tool, "pbr_table", "--check"], capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 0, completed.stderr


def test_check_mode_reports_but_applies_nothing():
    runner = FakeRunner(recorded_dump())
    result = run_resource(engine.ENGINE, runner, params("overridden", [WAN2_TABLE]), check_mode=True, diff_mode=True)
    assert result["changed"] and runner.applied == []
    assert result["commands"][:2] == [
        "rt_tables add 103 isp_c # %s" % engine.DEFAULT_TABLES_FILE,
        "ip -4 route add default via 203.0.113.1 dev wan1 table 103 proto 211"]
    assert result["after"] == [WAN2_TABLE]
    for foreign_line in (DHCP_ROUTE_LINE, STATIC_ROUTE_LINE):     # foreign routes survive, in the diff too
        assert foreign_line in result["diff"]["before"] and foreign_line in result["diff"]["after"]
    assert "101\tisp_a" in result["diff"]["before"] and "101\tisp_a" not in result["diff"]["after"]


def test_rendered_needs_no_runner():
    result = run_resource(engine.ENGINE, None, params("rendered", [WAN2_TABLE]))
    assert result == {"changed": False, "rendered": [
        "rt_tables add 103 isp_c # %s" % engine.DEFAULT_TABLES_FILE,
        "ip -4 route add default via 203.0.113.1 dev wan1 table 103 proto 211"]}


def test_gathered_fed_back_as_config_plans_nothing():
    runner = FakeRunner(recorded_dump())
    gathered = run_resource(engine.ENGINE, runner, params("gathered"))["gathered"]
    assert [entry["name"] for entry in gathered] == ["isp_a", "isp_b", "103", "main"]
    for state in ("merged", "replaced", "overridden"):
        result = run_resource(engine.ENGINE, runner, params(state, gathered))
        assert (result["changed"], result["commands"]) == (False, [])
    assert runner.applied == []


def test_gathered_output_passes_the_config_spec():
    gathered = run_resource(engine.ENGINE, FakeRunner(recorded_dump()), params("gathered"))["gathered"]
    validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate({"config": gathered, "state": "merged"})
    assert validation.error_messages == []
    # what the core validates it into (defaults filled in) plans nothing either
    assert validated_entries(engine.CONFIG_SPEC, gathered)
    module_params = dict(validation.validated_parameters, state="overridden")
    result = run_resource(engine.ENGINE, FakeRunner(recorded_dump()), module_params)
    assert result["commands"] == []


def test_parsed_reads_a_saved_dump_offline():
    result = run_resource(engine.ENGINE, None, params("parsed", running_config=json.dumps(recorded_dump())))
    assert result["parsed"] == run_resource(engine.ENGINE, FakeRunner(recorded_dump()), params("gathered"))["gathered"]


class FailingModule:
    def fail_json(self, **result):
        raise SystemExit(result)


def test_a_refused_line_fails_with_that_line_and_the_message():
    line = "ip -4 route add default via 203.0.113.1 dev wan1 table 103 proto 211"
    runner = FakeRunner(recorded_dump(), refuse=ApplyFailed(line, "Error: Nexthop has invalid gateway."))
    with pytest.raises(SystemExit) as exit_info:
        with reported_as_failure(FailingModule()):
            run_resource(engine.ENGINE, runner, params("merged", [WAN2_TABLE]))
    result = exit_info.value.args[0]
    assert (result["command"], result["device_message"], result["rolled_back"]) == (
        line, "Error: Nexthop has invalid gateway.", True)
    assert len(runner.applied) == 1         # the replayed dump is unchanged: nothing to undo


def without_table_102(dump):
    """The recorded host after ``deleted`` took table 102 (isp_b): its owned routes and its name gone."""
    return dict(dump, routes4=[entry for entry in dump["routes4"] if entry.get("table") != "102"],
                routes6=[entry for entry in dump["routes6"] if entry.get("table") != "102"],
                rt_tables_d=dict(dump["rt_tables_d"], **{"multiwan_pbr.conf": "101\tisp_a\n"}))


def test_deleting_a_table_again_changes_nothing():
    """Issue 11 defect 14: ``state: deleted`` with ``{name: isp_b}`` failed on its second run ("is not a
    table name iproute2 knows"), because the first had taken isp_b out of the names file."""
    first = run_resource(engine.ENGINE, FakeRunner(recorded_dump()), params("deleted", [{"name": "isp_b"}]))
    assert first["changed"] and first["commands"][-1] == "rt_tables del 102 isp_b # %s" % engine.DEFAULT_TABLES_FILE
    runner = FakeRunner(without_table_102(recorded_dump()))
    second = run_resource(engine.ENGINE, runner, params("deleted", [{"name": "isp_b"}]))
    assert (second["changed"], second["commands"], runner.applied) == (False, [], [])


def test_a_gone_table_still_gets_its_routes_checked():
    runner = FakeRunner(without_table_102(recorded_dump()))
    with pytest.raises(SystemExit) as exit_info:
        with reported_as_failure(FailingModule()):
            run_resource(engine.ENGINE, runner, params("deleted", [
                {"name": "isp_b", "routes": [{"dst": "10.0.0.300/8", "dev": "wan0"}]}]))
    assert (exit_info.value.args[0]["field"], exit_info.value.args[0]["value"]) == ("routes.dst", "10.0.0.300/8")
    with pytest.raises(SystemExit):
        with reported_as_failure(FailingModule()):              # merged still needs a known name or an id
            run_resource(engine.ENGINE, runner, params("merged", [{"name": "isp_b"}]))


def test_bad_input_fails_before_the_runner_is_used():
    runner = FakeRunner(recorded_dump())
    with pytest.raises(SystemExit) as exit_info:
        with reported_as_failure(FailingModule()):
            run_resource(engine.ENGINE, runner, params("merged", [{"name": "isp_x", "id": 254}]))
    assert (exit_info.value.args[0]["field"], exit_info.value.args[0]["value"]) == ("id", 254)
    assert runner.applied == []


# ---------------------------------------------------------------------------
# The names-file runner, with a fake `ip` and a real file


class FakeModule:
    def __init__(self, batch_results=()):
        self.batches, self.batch_results = [], list(batch_results)

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/" + name

    def run_command(self, argv, data=None, **options):
        """Records ``(argv without the batch file, the batch file's text)``, as ``ip`` would read it."""
        with open(argv[-1]) as batch_file:
            self.batches.append((argv[:-1], batch_file.read()))
        return self.batch_results.pop(0) if self.batch_results else (0, "", "")

    def atomic_move(self, source, destination):
        os.rename(source, destination)


def file_runner(tmp_path, module):
    return TablesFileRunner(module, engine.SHOW_COMMANDS, str(tmp_path / "multiwan_pbr.conf"), writes=False)


def name_edit(verb, name, number):
    return FileEdit("rt_tables", "f", verb, name, number)


def route_command(family_option, *words):
    return Command("ip", (family_option,), ("route",) + words)


def test_edited_text_adds_replaces_and_deletes_by_name():
    text = edited_text(None, name_edit("add", "isp_a", 101))
    assert text == HEADER + "101\tisp_a\n"
    text = edited_text(text + "102 isp_b # a comment\n", name_edit("replace", "isp_a", 111))
    assert text == HEADER + "102 isp_b # a comment\n111\tisp_a\n"
    assert edited_text(text, name_edit("del", "isp_b", 102)) == HEADER + "111\tisp_a\n"


def test_edited_text_keeps_the_names_in_id_order():
    text = HEADER + "101\tisp_a\n102\tisp_b\n103\tisp_c\n"
    text = edited_text(text, name_edit("replace", "isp_b", 102))       # the same id again
    text = edited_text(text, name_edit("replace", "isp_a", 104))       # a new id for a name
    text = edited_text(text, name_edit("add", "first", 100))
    assert text == HEADER + "100\tfirst\n102\tisp_b\n103\tisp_c\n104\tisp_a\n"


def test_file_edits_go_to_the_file_and_ip_commands_to_ip_batch(tmp_path):
    module = FakeModule()
    file_runner(tmp_path, module).apply([
        name_edit("add", "isp_a", 101), route_command("-4", "add", "default", "dev", "wan0", "table", "101"),
        route_command("-6", "add", "default", "dev", "wan0", "table", "101", "metric", "1024"),
        name_edit("add", "isp_b", 102)])
    assert (tmp_path / "multiwan_pbr.conf").read_text() == HEADER + "101\tisp_a\n102\tisp_b\n"
    assert oct((tmp_path / "multiwan_pbr.conf").stat().st_mode & 0o777) == oct(0o644)
    assert module.batches == [
        (["/usr/sbin/ip", "-4", "-batch"], "route add default dev wan0 table 101\n"),
        (["/usr/sbin/ip", "-6", "-batch"], "route add default dev wan0 table 101 metric 1024\n")]


@pytest.mark.parametrize("before", [None, HEADER + "101  isp_a   # typed by hand\n"])
def test_a_failed_batch_puts_the_file_back_byte_for_byte(tmp_path, before):
    path = tmp_path / "multiwan_pbr.conf"
    if before is not None:
        path.write_text(before)
    module = FakeModule(batch_results=[(2, "", "Error: Nexthop has invalid gateway.\nCommand failed /tmp/b:1\n")])
    with pytest.raises(ApplyFailed) as error:
        file_runner(tmp_path, module).apply([
            name_edit("add", "isp_b", 102),
            route_command("-4", "add", "default", "via", "192.0.2.1", "dev", "wan0", "table", "102", "proto", "211")])
    assert error.value.command == "ip -4 route add default via 192.0.2.1 dev wan0 table 102 proto 211"
    assert "invalid gateway" in error.value.device_message
    assert (path.read_text() if path.exists() else None) == before
    assert [name for name in os.listdir(str(tmp_path)) if name != "multiwan_pbr.conf"] == []
