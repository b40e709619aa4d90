"""wan_status: the agent's status document for playbooks, as a module process reads it."""

import json
import time

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import status
from support.modules import run_module


def write_status(path, updated, states):
    wans = [{"name": name, "device": name, "state": state, "reason": "probes", "detail": "", "since": updated}
            for name, state in states]
    path.write_text(json.dumps({"version": 1, "updated": updated, "period": 5.0, "wans": wans}))


def test_a_fresh_status_is_returned_with_the_wans_that_are_down(tmp_path):
    write_status(tmp_path / "status.json", status.iso(time.time()), [("wan1", "up"), ("wan2", "down")])
    result = run_module("wan_status", {"status_file": str(tmp_path / "status.json")})
    assert not result.get("failed") and result["changed"] is False
    assert (result["running"], result["stale"], result["down"]) == (True, False, ["wan2"])
    assert [wan["state"] for wan in result["wans"]] == ["up", "down"]
    failed = run_module("wan_status", {"status_file": str(tmp_path / "status.json"), "fail_when_down": True})
    assert failed["failed"] and failed["msg"] == "WAN(s) down: wan2" and failed["down"] == ["wan2"]


def test_no_agent_is_reported_and_fails_only_when_asked(tmp_path):
    missing = run_module("wan_status", {"status_file": str(tmp_path / "nothing.json")})
    assert not missing.get("failed") and (missing["running"], missing["stale"]) == (False, True)
    write_status(tmp_path / "old.json", status.iso(time.time() - 3600), [("wan1", "up")])
    stale = run_module("wan_status", {"status_file": str(tmp_path / "old.json"), "fail_when_stale": True})
    assert stale["failed"] and "is multiwan-pbr-agent running?" in stale["msg"]
