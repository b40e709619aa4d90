"""Failover on the lab router, with real traffic: the role's agent against faults on the ISP side (issue 12, item 7).

playbooks/site.yml converges the lab router over ssh, as `make demo` does, with the lab's group_vars
(lab/group_vars/linux_routers.yml: two probe targets per family on each WAN) and, only to keep this module
short, a hold of HOLD seconds doubling up to HOLD_MAX instead of 10 and 300. Then, on wan2:

* each fault kind (link-down, gateway-dead, blackhole): new connections from the LAN client, one every
  50 ms (lab/traffic.py FlowWatch), all leave by wan1 within DEADLINE seconds of the fault; connections that
  were on wan1 keep talking through it; the fallback policy (cgnat_via_wan2, balance) moves to wan1 and the
  strict one (private_via_wan2, fallback none) never leaks; once the fault is cleared, new connections come
  back to wan2 only after the hold the agent reports;
* 10 % random loss for LOSS_SECONDS: no transition;
* during an outage a playbook run with --check --diff and a real one report changed=0 and leave wan2 out of
  the balance; a changed track setting of wan1 reloads the agent (SIGHUP, same process) and wan2 stays down
  with its transitions unchanged.

Times are printed; the deadlines are generous (the bench measures: bench/failover.py). The reboot test is in
the Molecule scenario. Needs root and podman, like every lab test.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from lab_support import REPO, lab_prefix, lab_running

from lab import faults, traffic
from lab.lab import render_inventory

pytestmark = pytest.mark.lab

PORT = 8080
HOLD, HOLD_MAX = 4, 8
DEADLINE = 10.0             # seconds from a fault to every new connection on wan1 (the goal is <= 3 s)
LOSS_SECONDS = 40
PLAYBOOK_SECONDS = 300
LAB_VARS = yaml.safe_load((REPO / "lab" / "group_vars" / "linux_routers.yml").read_text(encoding="utf-8"))
AGENT = "/usr/local/sbin/multiwan-pbr"
UNIT = "multiwan-pbr-agent.service"
CONVERGE_TASK = "Converge the router (read it, check every change against it, then make them)"


def on(wan):
    return lambda attempt: attempt.wan == wan


def with_track(wans, **changes):
    """The WANs of the lab's group_vars with ``changes`` in every WAN's track."""
    return [dict(wan, track=dict(wan["track"], **changes)) for wan in wans]


TEST_VARS = dict(LAB_VARS, multiwan_wans=with_track(LAB_VARS["multiwan_wans"], hold=HOLD, hold_max=HOLD_MAX))


@pytest.fixture(name="lab", scope="module")
def running_lab():
    with lab_running(lab_prefix("failover")) as lab:
        yield lab


@pytest.fixture(name="inventory", scope="module")
def lab_inventory(lab, tmp_path_factory):
    directory = tmp_path_factory.mktemp("inventory")
    (directory / "hosts.yml").write_text(render_inventory(lab, str(REPO / "lab")), encoding="utf-8")
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "linux_routers.yml").write_text(yaml.safe_dump(TEST_VARS), encoding="utf-8")
    return directory


@pytest.fixture(name="converged", scope="module")
def converged_router(lab, inventory, tmp_path_factory):
    started = time.monotonic()
    result = playbook(inventory, tmp_path_factory.mktemp("converge"))
    assert result["stats"]["router"]["failures"] == 0, failed_tasks(result)
    print("\nconverged in %.0f s" % (time.monotonic() - started))
    wait_state(lab, "wan1", "up")
    wait_state(lab, "wan2", "up")
    with traffic.running_server(lab, "inet", port=PORT, lifetime=900):
        yield lab


@pytest.fixture(autouse=True)
def no_fault_left(lab):
    yield
    faults.clear_all(lab)


# -- the router


def agent_status(lab):
    completed = subprocess.run(["podman", "exec", lab.container("router"), AGENT, "status", "--json"],
                               capture_output=True, text=True, timeout=30, check=False)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def wan_status(lab, name):
    return next(wan for wan in agent_status(lab)["wans"] if wan["name"] == name)


def wait_state(lab, name, state, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = wan_status(lab, name)
        if found["state"] == state:
            return found
        time.sleep(0.5)
    raise AssertionError("%s is not %s after %d s: %s" % (name, state, timeout, found))


def in_router(lab, *argv):
    return subprocess.run(["podman", "exec", lab.container("router"), *argv], capture_output=True, text=True,
                          timeout=60, check=True).stdout


def agent_routes(lab):
    return in_router(lab, "sh", "-c", "ip -4 route show table all proto 212; ip -6 route show table all proto 212")


def balance_route(lab):
    """The agent's IPv4 default in table main: the balance of new connections."""
    return in_router(lab, "ip", "-4", "route", "show", "table", "main", "proto", "212")


def agent_pid(lab):
    return in_router(lab, "systemctl", "show", "--property", "MainPID", "--value", UNIT).strip()


def hold_of(family_status):
    """The hold a recovered family waited (its detail says it: "no trouble for 8 s")."""
    assert family_status["reason"] == "recovered", family_status
    return float(re.search(r"no trouble for ([\d.]+) s", family_status["detail"])[1])


def epoch(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def family(status, name):
    return next(entry for entry in status["families"] if entry["family"] == name)


# -- playbooks


def playbook(inventory, tmp_path, *options, extra_vars=None):
    """playbooks/site.yml on the lab router; the json callback's result."""
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory / "hosts.yml"),
            str(REPO / "playbooks" / "site.yml"), "--limit", "router", *options]
    if extra_vars:
        extra = tmp_path / "extra.yml"
        extra.write_text(yaml.safe_dump(extra_vars), encoding="utf-8")
        argv += ["-e", "@%s" % extra]
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                       ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                       PATH="%s%s%s" % (Path(sys.executable).parent, os.pathsep, os.environ.get("PATH", "")))
    completed = subprocess.run(argv, capture_output=True, text=True, env=environment, timeout=PLAYBOOK_SECONDS,
                               check=False)
    try:
        return json.loads(completed.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook printed no JSON (rc=%d): %s"
                             % (completed.returncode, completed.stderr[-3000:])) from None


def wan_status_module(inventory):
    """multiwan.pbr.wan_status run on the lab router (ad hoc); its result."""
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "-i", str(inventory / "hosts.yml"), "router", "-b", "-o",
         "-m", "multiwan.pbr.wan_status"], capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections")))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout.split("=>", 1)[1])


def failed_tasks(result):
    return [(task["task"]["name"], host.get("msg")) for play in result["plays"] for task in play["tasks"]
            for host in task["hosts"].values() if host.get("failed")]


def changed_tasks(result):
    """The names (without the role's prefix) of the tasks that changed something on the router."""
    return [task["task"]["name"].split(" : ", 1)[-1] for play in result["plays"] for task in play["tasks"]
            if (task["hosts"].get("router") or {}).get("changed")]


# -- traffic


class LongConnections:
    """``count`` connections from the LAN client, opened now, each asking who it is every ``interval`` s
    for ``seconds``: those the balance put on wan1 must keep talking through wan2's failure."""

    def __init__(self, lab, count=40, seconds=10.0, interval=0.25):
        self.lab, self.connections = lab, None
        rounds = int(seconds / interval)
        self.thread = threading.Thread(target=lambda: setattr(self, "connections", traffic.connect(
            lab, "client", lab.service(), PORT, count=count, rounds=rounds, interval=interval)))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join()

    def on(self, wan):
        address = self.lab.wan(wan).address
        return [connection for connection in self.connections if connection.seen[:1] == (address,)]


def policy_tally(lab, service, count, timeout):
    return traffic.tally_wans(lab, traffic.connect(lab, "client", lab.service(service), PORT, count=count,
                                                   timeout=timeout))


# -- the tests, in order: the faults, the loss, then the playbook runs during an outage


def test_the_agent_tracks_both_wans_and_the_policies_use_their_wan(converged):
    lab = converged
    assert sorted((wan["name"], wan["state"]) for wan in agent_status(lab)["wans"]) == [("wan1", "up"), ("wan2", "up")]
    assert "dev wan2" in balance_route(lab)
    assert policy_tally(lab, "cgnat", 10, 3.0) == {"wan2": 10}
    assert policy_tally(lab, "private", 10, 3.0) == {"wan2": 10}


@pytest.mark.parametrize("kind", ["link-down", "gateway-dead", "blackhole"])
def test_new_flows_leave_a_failed_wan_and_return_after_the_hold(converged, kind):
    lab = converged
    wait_state(lab, "wan2", "up")
    transitions = wan_status(lab, "wan1")["transitions"]
    with traffic.FlowWatch(lab, "client", lab.service(), PORT) as watch, LongConnections(lab) as long_lived:
        time.sleep(1.0)
        assert {"wan1", "wan2"} <= set(attempt.wan for attempt in watch.attempts())
        fault = faults.inject(lab, "wan2", kind)
        try:
            moved = watch.wait_settled(on("wan1"), since=fault.started, timeout=DEADLINE + 10)
            print("\n%s: every new flow on wan1 %.2f s after the fault (measured by traffic)"
                  % (kind, moved - fault.started))
            assert moved - fault.started <= DEADLINE
            down = wan_status(lab, "wan2")
            assert down["state"] == "down", down
            # the fallback policy follows the balance; the strict one stays on wan2, where nothing answers
            assert policy_tally(lab, "cgnat", 10, 2.0) == {"wan1": 10}
            assert policy_tally(lab, "private", 5, 1.0) == {"failed": 5}
        finally:
            cleared = time.monotonic()
            faults.clear(lab, "wan2")
        back = watch.wait_first(on("wan2"), since=cleared, timeout=HOLD_MAX + 30)
        hold = hold_of(family(wan_status(lab, "wan2"), "ipv4"))
        print("%s cleared: new flows on wan2 again %.2f s later (hold %g s)" % (kind, back - cleared, hold))
        assert back - cleared >= hold
    kept = long_lived.on("wan1")
    assert kept, "no long connection was balanced onto wan1"
    assert all(connection.ok and connection.source for connection in kept), kept
    print("%d connections on wan1 kept talking through it, %d rounds each" % (len(kept), len(kept[0].seen)))
    assert wan_status(lab, "wan1")["transitions"] == transitions


def test_ten_percent_loss_on_wan2_causes_no_failover(converged):
    lab = converged
    wait_state(lab, "wan2", "up")
    before = dict((wan["name"], wan["transitions"]) for wan in agent_status(lab)["wans"])
    seen_loss = []
    with faults.injected(lab, "wan2", "loss", 10):
        lost = traffic.ping_summary(lab, "router", lab.service(), count=200, interval=0.01,
                                    source=lab.wan("wan2").address).loss_percent
        deadline = time.monotonic() + LOSS_SECONDS
        while time.monotonic() < deadline:
            wan2 = wan_status(lab, "wan2")
            assert wan2["state"] == "up", wan2
            seen_loss.append(wan2["loss"])
            time.sleep(2)
    after = dict((wan["name"], wan["transitions"]) for wan in agent_status(lab)["wans"])
    print("\n10 %% loss for %d s (pings through wan2 lost %.0f %%): the agent's window ended at %.1f %% loss, "
          "transitions %s -> %s" % (LOSS_SECONDS, lost, seen_loss[-1], before, after))
    assert 2 <= lost <= 25                  # the fault is real
    assert 3 <= seen_loss[-1] <= 25         # and the agent saw it (its 20 s window holds only the lossy rounds)
    assert after == before


def test_a_playbook_run_during_an_outage_changes_nothing_and_a_track_change_reloads(converged, inventory, tmp_path):
    lab = converged
    wait_state(lab, "wan2", "up")
    with faults.injected(lab, "wan2", "blackhole"):
        wait_state(lab, "wan2", "down", timeout=DEADLINE)
        routes = agent_routes(lab)
        assert "dev wan2" not in balance_route(lab)
        for options in (("--check", "--diff"), ()):
            result = playbook(inventory, tmp_path, *options)
            assert failed_tasks(result) == [] and changed_tasks(result) == [], (options, changed_tasks(result))
            assert result["stats"]["router"]["changed"] == 0
            assert agent_routes(lab) == routes
        assert traffic.tally_wans(lab, traffic.connect(lab, "client", lab.service(), PORT, count=40)) == {"wan1": 40}
        reported = wan_status_module(inventory)
        assert reported["running"] and reported["down"] == ["wan2"] and not reported["changed"], reported

        # a track setting of wan1 changes: the agent reloads its file and keeps wan2's state
        pid, before = agent_pid(lab), dict((wan["name"], wan) for wan in agent_status(lab)["wans"])
        wans = [dict(wan, track=dict(wan["track"], timeout=0.6)) if wan["name"] == "wan1" else wan
                for wan in TEST_VARS["multiwan_wans"]]
        result = playbook(inventory, tmp_path, extra_vars={"multiwan_wans": wans})
        assert failed_tasks(result) == []
        assert changed_tasks(result) == [CONVERGE_TASK], changed_tasks(result)
        converge = next(task["hosts"]["router"] for play in result["plays"] for task in play["tasks"]
                        if task["task"]["name"].endswith(CONVERGE_TASK) and task["hosts"]["router"].get("changed"))
        assert converge["files"] == ["/etc/multiwan-pbr/agent.json"], converge["files"]
        assert converge["services"] == ["systemctl reload multiwan-pbr-agent.service"], converge["services"]
        assert agent_pid(lab) == pid
        journal = in_router(lab, "journalctl", "--unit", UNIT, "--output", "cat", "--no-pager", "--lines", "50")
        assert re.search(r"reloaded \S+: kept \[wan2\], changed \[wan1\]", journal), journal
        after = dict((wan["name"], wan) for wan in agent_status(lab)["wans"])
        for name in ("wan1", "wan2"):
            assert (after[name]["state"], after[name]["transitions"]) == (before[name]["state"], before[name]["transitions"])
            # "since" is written in wall-clock time converted from the agent's monotonic clock at each write
            assert abs(epoch(after[name]["since"]) - epoch(before[name]["since"])) < 0.5
        assert after["wan2"]["state"] == "down"
        assert agent_routes(lab) == routes
