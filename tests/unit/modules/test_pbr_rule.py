"""The pbr_rule shell: the module's argument spec and run_resource over a fake runner.

The fake runner replays the recorded namespace dump and records what it is asked to
apply; nothing here touches a device.
"""

import copy
import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_rule as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import run_resource
from ansible_collections.multiwan.pbr.plugins.modules import pbr_rule as module
from unit.module_utils.linux.test_pbr_rule import recorded_dump

TAILSCALE_LINE = "5210:\tfrom all fwmark 0x80000/0xff0000 lookup main proto boot"
WG_QUICK_LINE = "999:\tnot from all fwmark 0xca6c lookup 51820 proto static"
KERNEL_LINE = "32766:\tfrom all lookup main"
NEW_RULE = {"priority": 1100, "ipproto": "tcp", "dport": "443", "table": "isp_b"}


class FakeRunner(object):
    """Replays one dump; records the lines it is asked to apply (or refuses them)."""

    def __init__(self, dump, refuse=None):
        self.recorded, self.refuse, self.applied = dump, refuse, []

    def dump(self):
        return copy.deepcopy(self.recorded)

    def apply(self, lines):
        if self.refuse:
            raise ApplyFailed(lines[0].text, self.refuse)
        self.applied.extend(command.text for command in lines)


def params(**given):
    """Module parameters as AnsibleModule would pass them (validated against the real spec)."""
    result = ArgumentSpecValidator(module.ARGUMENT_SPEC).validate(given)
    assert result.error_messages == []
    return result.validated_parameters


def run(runner, check_mode=False, diff_mode=True, **given):
    return run_resource(engine.ENGINE, runner, params(**given), check_mode=check_mode, diff_mode=diff_mode)


def test_check_mode_reports_the_plan_and_applies_nothing():
    runner = FakeRunner(recorded_dump())
    result = run(runner, check_mode=True, state="overridden", config=[NEW_RULE])
    assert result["changed"] and runner.applied == []
    assert result["commands"][0] == "ip -4 rule add priority 1100 ipproto tcp dport 443 lookup isp_b protocol 211"
    assert len(result["commands"]) == 1 + 34       # one addition, every owned rule of both families deleted
    assert result["after"] == [dict(priority=1100, family="ipv4", ipproto="tcp", dport="443", action="lookup",
                                    table=102)]


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden", "deleted"])
def test_diff_after_keeps_foreign_rules(state):
    result = run(FakeRunner(recorded_dump()), check_mode=True, state=state, config=[NEW_RULE])
    after = result["diff"]["after"].splitlines()
    for line in (TAILSCALE_LINE, WG_QUICK_LINE, KERNEL_LINE):
        assert line in after and line in result["diff"]["before"].splitlines()


def test_deleted_without_config_removes_every_owned_rule_and_nothing_else():
    result = run(FakeRunner(recorded_dump()), check_mode=True, state="deleted")
    assert all(" rule del " in line and line.endswith("protocol 211") for line in result["commands"])
    assert len(result["commands"]) == 34 and result["after"] == []
    assert "proto 211" not in result["diff"]["after"]


def test_applying_sends_every_line_once_in_make_before_break_order():
    runner = FakeRunner(recorded_dump())
    replaced = {"priority": 1000, "fwmark": "0x200", "fwmask": "0xff00", "table": "isp_a"}
    result = run(runner, state="merged", config=[NEW_RULE, replaced])
    assert runner.applied == result["commands"] == [
        "ip -4 rule add priority 1100 ipproto tcp dport 443 lookup isp_b protocol 211",
        "ip -4 rule add priority 1000 fwmark 0x200/0xff00 lookup isp_a protocol 211",
        "ip -4 rule del priority 1000 fwmark 0x100/0xff00 lookup isp_a protocol 211",
    ]


def test_second_run_over_the_same_state_changes_nothing():
    gathered = run(FakeRunner(recorded_dump()), state="gathered")["gathered"]
    runner = FakeRunner(recorded_dump())
    result = run(runner, state="overridden", config=gathered)
    assert not result["changed"] and result["commands"] == [] and runner.applied == []


def test_gathered_output_passes_the_module_argument_spec():
    gathered = run(FakeRunner(recorded_dump()), state="gathered")["gathered"]
    assert len(gathered) == 34
    params(state="merged", config=gathered)


def test_rendered_needs_no_runner():
    ipv6_rule = {"priority": 1050, "to": "2001:db8:99::/48", "table": "isp_a"}
    result = run(None, state="rendered", config=[NEW_RULE, ipv6_rule])
    assert result == {"changed": False, "rendered": [
        "ip -4 rule add priority 1100 ipproto tcp dport 443 lookup isp_b protocol 211",
        "ip -6 rule add priority 1050 to 2001:db8:99::/48 lookup isp_a protocol 211",
    ]}


def test_parsed_reads_a_saved_dump():
    saved = json.dumps({"rules4": recorded_dump()["rules4"], "rules6": []})
    result = run(None, state="parsed", running_config=saved)
    assert [rule["priority"] for rule in result["parsed"]][:3] == [1000, 1001, 1003]
    assert all(rule["family"] == "ipv4" for rule in result["parsed"])


def test_bad_input_fails_before_the_device_is_written():
    runner = FakeRunner(recorded_dump())
    with pytest.raises(InvalidInput) as error:
        run(runner, state="merged", config=[NEW_RULE, {"priority": 7, "table": "isp_z"}])
    assert (error.value.field, error.value.value) == ("config[priority=7].table", "isp_z")
    assert runner.applied == []


def test_a_refused_batch_is_reported_with_its_line():
    runner = FakeRunner(recorded_dump(), refuse="Error: Invalid tos.")
    with pytest.raises(ApplyFailed) as error:
        run(runner, state="merged", config=[{"priority": 7, "tos": "0xb8", "table": 5}])
    assert error.value.command == "ip -4 rule add priority 7 tos 0xb8 lookup 5 protocol 211"
    assert error.value.device_message == "Error: Invalid tos."


def test_config_entries_are_refused_by_their_spec_naming_the_entry():
    for config in ([{"priority": 1, "table": 5, "goto": 9}], [{"priority": 1, "tos": "0x10", "dscp": 4, "table": 5}],
                   [{"priority": 1, "fwmask": "0xff", "table": 5}], [{"priority": 1, "action": "goto"}],
                   [{"table": 5}], [{"priority": 1, "action": "jump", "table": 5}]):
        with pytest.raises(InvalidInput) as error:
            run(None, state="rendered", config=[{"priority": 0, "table": 5}] + config)
        assert error.value.field == "config[1]", config
