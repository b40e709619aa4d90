"""The status document, its atomic file and its table, from tracker states on a fake clock."""

import json
import os

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import status, tracker
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import KernelSays, ProbeJudgement, Round, Settings

WALL = 1795000000.0         # the wall clock at monotonic 100.0
JUDGEMENT = ProbeJudgement(targets=2, reliability=1, window_rounds=10, loss_percent=50.0, latency_ms=None,
                           down_rounds=5, up_rounds=5)


def to_wall(moment):
    return WALL + (moment - 100.0)


def probed_family(family="ipv4", rounds=((0.010, None), (0.030, 0.020))):
    settings = Settings("wan2", family, JUDGEMENT)
    health = tracker.initial(settings, 40.0)
    for number, rtts in enumerate(rounds):
        health, _transitions = tracker.step(settings, health, Round(rtts), 41.0 + number)
    return settings, health


def test_a_family_entry():
    settings, health = probed_family()
    entry = status.family_status(settings, health, targets=("198.18.2.2", "203.0.113.10"),
                                 counters={"sent": 4, "answered": 3}, to_wall=to_wall)
    assert entry == {
        "family": "ipv4", "state": "up", "since": status.iso(WALL - 60.0), "reason": "start",
        "detail": "agent started", "loss": 25.0, "latency_ms": 20.0, "transitions": 0, "down_rounds": 5,
        "probes": {"sent": 4, "answered": 3},
        "targets": [{"address": "198.18.2.2", "loss": 0.0, "latency_ms": 30.0},
                    {"address": "203.0.113.10", "loss": 50.0, "latency_ms": 20.0}]}


def test_a_wan_is_up_only_when_every_family_is_up():
    settings, health = probed_family()
    ipv4 = status.family_status(settings, health, to_wall=to_wall)
    settings6, health6 = probed_family("ipv6")
    health6, _transitions = tracker.step(settings6, health6, KernelSays("address", False, "address", "wan2 has no ipv6 address"), 90.0)
    ipv6 = status.family_status(settings6, health6, to_wall=to_wall)
    wan = status.wan_status("wan2", "wan2", [ipv4, ipv6])
    assert (wan["state"], wan["reason"], wan["detail"], wan["since"]) == \
        ("down", "address", "ipv6: wan2 has no ipv6 address", status.iso(WALL - 10.0))
    assert (wan["loss"], wan["transitions"]) == (25.0, 1)
    alone = status.wan_status("wan2", "wan2", [ipv4])
    assert (alone["state"], alone["detail"]) == ("up", "agent started")


def test_iso_round_trips_with_milliseconds():
    assert status.iso(1795000000.25) == "2026-11-18T11:06:40.250Z"
    assert status.parse_iso(status.iso(1795000000.25)) == 1795000000.25


def test_the_file_is_replaced_atomically(tmp_path):
    path = str(tmp_path / "run" / "status.json")
    status.write_atomically(path, {"a": 1})
    status.write_atomically(path, {"a": 2})
    assert status.read(path) == {"a": 2} and os.listdir(str(tmp_path / "run")) == ["status.json"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = str(tmp_path / "status.json")
    status.write_atomically(path, {"a": 1})
    with pytest.raises(TypeError):
        status.write_atomically(path, {"a": object()})
    assert status.read(path) == {"a": 1} and os.listdir(str(tmp_path)) == ["status.json"]


def _document():
    settings, health = probed_family()
    ipv4 = status.family_status(settings, health, to_wall=to_wall)
    return status.document([status.wan_status("wan2", "wan2", [ipv4])], WALL, pid=812)


def test_the_table():
    table = status.render_table(_document(), now_wall=WALL + 2)
    lines = table.splitlines()
    assert lines[0] == "multiwan-pbr agent pid 812, status written 2 s ago"
    assert lines[2].split() == ["WAN", "STATE", "SINCE", "LOSS", "LATENCY", "REASON"]
    assert lines[3].split()[:2] == ["wan2", "up"] and "(62 s ago)" in lines[3]
    assert lines[3].split()[-6:] == ["25%", "20.0", "ms", "start:", "agent", "started"]
    assert "STALE" in status.render_table(_document(), now_wall=WALL + 60)
    assert status.is_stale(_document(), now_wall=WALL + 60) and not status.is_stale(_document(), now_wall=WALL + 1)


def test_the_document_is_json():
    content = _document()
    assert json.loads(json.dumps(content)) == content
    assert set(content["wans"][0]) >= {"name", "state", "loss", "latency_ms", "since", "reason"}
