"""The loop's decisions without sockets: recorded netlink records in, applier calls and status out.

The agent is built but never opened: ``take_netlink`` gets the records of the fixtures in
tests/unit/fixtures/netlink/ (wan1 and wan2 are veths there), ``flush`` runs the applier and writes
the status, and the clock is a fake one. The WANs are not probed, so nothing is ever sent.
"""

import json
import logging

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import config, loop, status
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.applier import RETRY_SECONDS, FactChange
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import Transition

from .test_netlink import load, records

WANS = [{"name": "wan1", "device": "wan1", "mark": "0x100", "gateway": "100.64.1.1"},
        {"name": "wan2", "device": "wan2", "mark": "0x200", "gateway": "dhcp"}]


class Clock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class RecordingApplier(object):
    def __init__(self, failures=0):
        self.calls, self.failures, self.configured = [], failures, []

    def configure(self, config):
        self.configured.append(config)

    def apply(self, view, changed):
        self.calls.append((view, changed))
        if self.failures:
            self.failures -= 1
            raise RuntimeError("nft: Could not process rule")


def events(what):
    return [records(step["datagrams"]) for step in load("events.json")["steps"] if step["what"] == what][0]


@pytest.fixture
def setup(tmp_path):
    clock, applier = Clock(), RecordingApplier()
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"wans": WANS}))
    agent = loop.Agent(str(path), config.load(str(path)), applier, status_file=str(tmp_path / "status.json"),
                       clock=clock, wall=lambda: 1795000000.0 + clock.now)
    agent.prepare(clock.now)
    return agent, applier, clock, path


def test_nothing_is_applied_before_the_dump_is_complete(setup):
    agent, applier, clock, _path = setup
    dump = records(load("dump.json")["datagrams"])
    agent.take_netlink(dump[:5], clock.now, dumping=True)
    agent.flush(clock.now)
    assert applier.calls == [] and not agent.kernel_ready
    agent.take_netlink(dump[5:], clock.now, dumping=False)
    agent.flush(clock.now)
    view, changed = applier.calls[0]
    assert changed == () and view.up_by_family == {"ipv4": ["wan1", "wan2"]}
    wan1, wan2 = view.wans
    assert (wan1.addresses_of("ipv4"), wan1.gateway_of("ipv4"), wan1.mark) == (("100.64.1.2/24",), "100.64.1.1", 0x100)
    assert wan2.gateway_of("ipv4") == "100.64.2.1"          # learned from the main table's multipath default


def test_a_carrier_loss_is_one_apply_with_its_transition(setup):
    agent, applier, clock, _path = setup
    agent.take_netlink(records(load("dump.json")["datagrams"]), clock.now, dumping=False)
    agent.flush(clock.now)
    clock.now += 3.0
    agent.take_netlink(events("carrier lost: the peer's end goes down"), clock.now, dumping=False)
    agent.flush(clock.now)
    view, changed = applier.calls[-1]
    assert view.up_by_family == {"ipv4": ["wan2"]}
    # the link's state is a fact of its own: the kernel drops routes through a device that goes down
    assert changed == (FactChange("wan1", "ipv4", "link", "up", "no-carrier"),
                       Transition("wan1", "ipv4", "up", "down", "carrier", "wan1 has no carrier (operstate down)",
                                  1003.0))
    agent.flush(clock.now)
    assert len(applier.calls) == 2          # nothing changed since: no call
    status = agent.status()
    assert [(wan["name"], wan["state"], wan["reason"]) for wan in status["wans"]] == \
        [("wan1", "down", "carrier"), ("wan2", "up", "start")]


def test_fact_changes_reach_the_applier(setup):
    agent, applier, clock, _path = setup
    agent.take_netlink(records(load("dump.json")["datagrams"]), clock.now, dumping=False)
    agent.flush(clock.now)
    agent.take_netlink(events("an IPv4 address added"), clock.now, dumping=False)
    agent.flush(clock.now)
    view, changed = applier.calls[-1]
    assert changed == (FactChange("wan1", "ipv4", "addresses", ("100.64.1.2/24",), ("100.64.1.2/24", "100.64.1.3/24")),)
    assert view.wans[0].addresses_of("ipv4") == ("100.64.1.2/24", "100.64.1.3/24")


def test_a_failed_apply_is_retried_with_every_change_since_the_last_success(setup, caplog):
    agent, applier, clock, _path = setup
    applier.failures = 1
    agent.take_netlink(records(load("dump.json")["datagrams"]), clock.now, dumping=False)
    agent.take_netlink(events("carrier lost: the peer's end goes down"), clock.now, dumping=False)
    with caplog.at_level(logging.ERROR, logger="multiwan_pbr.agent"):
        agent.flush(clock.now)
    assert "apply failed, retrying in 5 s: RuntimeError: nft: Could not process rule" in caplog.text
    agent.take_netlink(events("carrier back"), clock.now + 1, dumping=False)
    agent.flush(clock.now + 1)
    assert len(applier.calls) == 1                  # not before RETRY_SECONDS
    clock.now += RETRY_SECONDS
    agent.flush(clock.now)
    _view, changed = applier.calls[-1]
    assert [change.reason for change in changed if isinstance(change, Transition)] == ["carrier"]
    assert len(applier.calls) == 2


def test_reload_keeps_unchanged_wans_and_refuses_a_bad_file(setup, caplog):
    agent, _applier, clock, path = setup
    agent.take_netlink(records(load("dump.json")["datagrams"]), clock.now, dumping=False)
    agent.take_netlink(events("carrier lost: the peer's end goes down"), clock.now, dumping=False)
    kept = agent.wans["wan1"]
    path.write_text(json.dumps({"wans": [WANS[0], dict(WANS[1], gateway="100.64.2.1"),
                                         {"name": "wan3", "device": "wan3"}]}))
    with caplog.at_level(logging.INFO, logger="multiwan_pbr.agent"):
        agent.reload()
    assert agent.wans["wan1"] is kept and agent.wans["wan1"].families["ipv4"].health.state == "down"
    assert "kept [wan1], changed [wan2], added [wan3], removed []" in caplog.text
    assert agent.wans["wan3"].families["ipv4"].health.reason == "carrier"    # wan3 is absent: down at once
    path.write_text(json.dumps({"wans": [dict(WANS[0], track={"targets": ["198.18.2.2"], "interval": 0})]}))
    agent.reload()
    assert "reload refused, the running configuration stays: wans[0].track.interval=0: must be > 0" in caplog.text
    assert sorted(agent.wans) == ["wan1", "wan2", "wan3"]


def test_the_status_file_is_written_on_change_and_periodically(setup):
    agent, _applier, clock, _path = setup
    agent.take_netlink(records(load("dump.json")["datagrams"]), clock.now, dumping=False)
    agent.flush(clock.now)
    written = status.read(agent.status_file)
    assert [wan["families"][0]["addresses"] for wan in written["wans"]] == [["100.64.1.2/24"], ["100.64.2.2/24"]]
    assert written["wans"][0]["since"] == written["updated"] == status.iso(1795000000.0 + 1000.0)
    clock.now += 1.0
    agent.flush(clock.now)
    assert status.read(agent.status_file)["updated"] == written["updated"]       # nothing changed
    clock.now += status.PERIOD
    agent.flush(clock.now)
    assert status.read(agent.status_file)["updated"] == status.iso(1795000000.0 + clock.now)


class SlowApplier(RecordingApplier):
    """An apply that takes 1.5 s of the clock (a big batch on a loaded router)."""

    def __init__(self, clock):
        super(SlowApplier, self).__init__()
        self.clock = clock

    def apply(self, view, changed):
        super(SlowApplier, self).apply(view, changed)
        self.clock.now += 1.5


def test_a_slow_apply_does_not_shift_the_wall_time_of_since(tmp_path):
    # the status converts monotonic moments to wall time; the moment the flush began is 1.5 s old by the write
    clock = Clock()
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"wans": WANS}))
    agent = loop.Agent(str(path), config.load(str(path)), SlowApplier(clock), status_file=str(tmp_path / "status.json"),
                       clock=clock, wall=lambda: 1795000000.0 + clock.now)
    agent.prepare(clock.now)
    agent.take_netlink(records(load("dump.json")["datagrams"]), clock.now, dumping=False)
    agent.flush(clock.now)
    written = json.loads((tmp_path / "status.json").read_text())
    assert [wan["since"] for wan in written["wans"]] == [wan["since"] for wan in agent.status()["wans"]]
    assert status.parse_iso(written["wans"][0]["since"]) == 1795000000.0 + 1000.0
