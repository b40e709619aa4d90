"""``multiwan-pbr`` check-config and status, through ``main(argv)`` as systemd and the role call them."""

import json
import time

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import cli, status

GOOD = {"wans": [{"name": "wan1", "device": "wan1", "gateway": "198.51.100.1"},
                 {"name": "wan2", "device": "wan2", "mark": "0x200",
                  "track": {"targets": ["198.18.2.2", "203.0.113.10"]}}]}


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_check_config_accepts_and_describes(tmp_path, capsys):
    path = write(tmp_path, "agent.json", GOOD)
    assert cli.main(["check-config", path]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["%s: ok" % path,
                   "  wan1 (wan1): not probed; judged by link, address and gateway",
                   "  wan2 (wan2): icmp every 0.2 s; ipv4 2 target(s), 1 must answer, down after 5 silent rounds "
                   "(about 1.7 s)"]


def test_check_config_refuses_with_field_and_value(tmp_path, capsys):
    bad = json.loads(json.dumps(GOOD))
    bad["wans"][1]["track"]["interval"] = 0
    path = write(tmp_path, "agent.json", bad)
    assert cli.main(["check-config", path]) == 1
    assert capsys.readouterr().err == "%s: wans[1].track.interval=0: must be > 0\n" % path
    assert cli.main(["check-config", str(tmp_path / "missing.json")]) == 1


def _status_file(tmp_path, updated):
    wan = {"name": "wan2", "device": "wan2", "state": "down", "since": status.iso(updated - 30), "reason": "probes",
           "detail": "fewer than 1 of 2 targets answered 5 rounds in a row", "loss": 100.0, "latency_ms": None,
           "transitions": 1, "families": [{"family": "ipv4", "state": "down"}]}
    return write(tmp_path, "status.json", status.document([wan], updated, pid=42))


def test_status_json_and_table(tmp_path, capsys):
    path = _status_file(tmp_path, time.time())
    assert cli.main(["status", "--json", "--status-file", path]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["stale"] is False and shown["wans"][0]["state"] == "down"
    assert cli.main(["status", "--status-file", path]) == 0
    table = capsys.readouterr().out
    assert "wan2  down" in table and "probes: fewer than 1 of 2 targets answered" in table


def test_status_finds_the_file_through_the_config(tmp_path, capsys):
    path = _status_file(tmp_path, time.time())
    config_path = write(tmp_path, "agent.json", dict(GOOD, status_file=path))
    assert cli.main(["status", "--config", config_path]) == 0
    assert "wan2" in capsys.readouterr().out


def test_status_without_a_file_or_with_a_stale_one(tmp_path, capsys):
    assert cli.main(["status", "--status-file", str(tmp_path / "none.json")]) == 1
    assert "is multiwan-pbr running?" in capsys.readouterr().err
    path = _status_file(tmp_path, time.time() - 120)
    assert cli.main(["status", "--status-file", path]) == 2
    assert "STALE" in capsys.readouterr().out
