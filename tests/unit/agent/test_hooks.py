"""Hooks: the environment of each event, which files run, and the runner with real processes and a real selector.

The runner is driven the way the loop drives it: ``submit`` after an apply, ``on_ready`` when a pidfd becomes
readable in ``select``, ``on_time`` for the deadlines. The hooks are small shell scripts in a temporary directory.
"""

import os
import selectors
import time

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import hooks
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.applier import FactChange, RouterView, WanView
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import Transition

WAN2 = WanView(name="wan2", device="eth2", mark=0x200, families=("ipv4",), up=(),
               addresses=(("ipv4", ("203.0.113.66/26",)),), gateways=(("ipv4", "203.0.113.65"),))
VIEW = RouterView((WAN2,))
DOWN = Transition("wan2", "ipv4", "up", "down", "probes", "fewer than 1 of 2 targets answered 5 rounds in a row", 1.0)
RENUMBERED = FactChange("wan2", "ipv4", "addresses", ("198.51.100.2/24",), ("203.0.113.66/26",))


def test_a_transition_and_a_renumbering_are_events_with_their_facts():
    down, renumbered = hooks.hook_events([DOWN, RENUMBERED, FactChange("wan2", "ipv4", "ifindex", 4, 7)], VIEW, True)
    assert down == {"EVENT": "state", "WAN": "wan2", "FAMILY": "ipv4", "DEVICE": "eth2", "MARK": "0x200",
                    "OLD_STATE": "up", "NEW_STATE": "down", "REASON": "probes", "DETAIL": DOWN.detail,
                    "ADDRESSES": "203.0.113.66/26", "ADDRESS": "203.0.113.66", "GATEWAY": "203.0.113.65", "PEER": "",
                    "APPLIED": "ok"}
    assert (renumbered["EVENT"], renumbered["OLD_VALUE"], renumbered["NEW_VALUE"], renumbered["REASON"],
            renumbered["NEW_STATE"]) == ("addresses", "198.51.100.2/24", "203.0.113.66/26", "renumbered", "down")


def write_hook(directory, name, body, mode=0o755):
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(mode)
    return path


def test_only_executables_named_as_run_parts_names_them_run_in_name_order(tmp_path):
    for name in ("20-second", "10_first", "notify.sh", "30-old~", ".hidden"):
        write_hook(tmp_path, name, "true")
    write_hook(tmp_path, "15-not-executable", "true", mode=0o644)
    (tmp_path / "25-directory").mkdir()
    assert [os.path.basename(path) for path in hooks.hook_paths(str(tmp_path))] == ["10_first", "20-second"]
    assert hooks.hook_paths(str(tmp_path / "missing")) == []


def run_until_idle(runner, selector, seconds=10.0):
    deadline = time.monotonic() + seconds
    while runner.running and time.monotonic() < deadline:
        for key, _events in selector.select(0.05):
            key.data.on_ready(key.fileobj, time.monotonic())
        runner.on_time(time.monotonic())
    assert not runner.running, "hooks still running after %s s" % seconds


@pytest.fixture
def runner(tmp_path):
    selector = selectors.DefaultSelector()
    hook_dir = tmp_path / "hooks.d"
    hook_dir.mkdir()
    runner = hooks.HookRunner(selector, str(hook_dir), timeout=1.0)
    yield runner, selector, hook_dir, tmp_path
    runner.close()
    selector.close()


def test_hooks_get_their_events_in_order_without_the_loop_waiting(runner):
    runner, selector, hook_dir, tmp_path = runner
    log = tmp_path / "seen"
    write_hook(hook_dir, "10-log", 'sleep 0.2; echo "$WAN $FAMILY $EVENT $NEW_STATE $ADDRESS" >> %s' % log)
    started = time.monotonic()
    runner.submit(hooks.hook_events([DOWN, RENUMBERED], VIEW, True), started)
    assert time.monotonic() - started < 0.15           # submit returns before the first hook ends
    run_until_idle(runner, selector)
    assert log.read_text().splitlines() == ["wan2 ipv4 state down 203.0.113.66", "wan2 ipv4 addresses down 203.0.113.66"]
    assert runner.counters == {"run": 2, "failed": 0, "killed": 0}


def test_a_failing_or_hanging_hook_is_logged_killed_and_counted(runner, caplog):
    runner, selector, hook_dir, tmp_path = runner
    write_hook(hook_dir, "10-fails", "exit 3")
    write_hook(hook_dir, "20-hangs", "sleep 60 & wait")
    write_hook(hook_dir, "30-works", "touch %s" % (tmp_path / "ran"))
    runner.submit(hooks.hook_events([DOWN], VIEW, False), time.monotonic())
    run_until_idle(runner, selector)
    assert (tmp_path / "ran").exists()
    assert runner.counters == {"run": 3, "failed": 2, "killed": 1}
    assert "10-fails (wan2 ipv4 up -> down) exited 3" in caplog.text
    assert "20-hangs (wan2 ipv4 up -> down) was killed after 1 s" in caplog.text
