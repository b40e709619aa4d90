"""The role ``routeros_dst_routing`` end to end: its Molecule scenarios, and ansible-playbook against the simulator.

``molecule test -s default`` starts the RouterOS API simulator as its platform, seeds it, converges
``playbooks/routeros.yml``, checks idempotence and verifies through two clients. The ``chr`` scenario
needs a CHR image (``ROUTEROS_CHR_IMAGE``); without one its test is deselected, not passed.
"""

import os
import subprocess
import sys

import pytest
import yaml

from routeros_sim import Simulator

pytestmark = pytest.mark.routeros

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "routeros_dst_routing")
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), LC_ALL="C.UTF-8",
           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_FORCE_COLOR="0",
           ANSIBLE_NOCOLOR="1", NO_COLOR="1", PY_COLORS="0")
MANGLE = "/ip/firewall/mangle"
POLLUTION = {"chain": "output", "dst-address": "47.109.74.243", "action": "mark-connection",
             "new-connection-mark": "cell-wan-mark", "comment": "pollution"}
ROLE_VARS = {
    "routeros_pbr_wans": [{"name": "fiber", "gateway": "192.0.2.1"},
                          {"name": "cell", "gateway": "10.254.15.129", "distance": 2}],
    "routeros_pbr_destinations": [
        {"name": "cell-host", "dst_address": "47.109.74.243", "wan": "cell"},
        {"name": "cell-nets", "dst_address": ["203.0.113.0/24"], "wan": "cell", "action": "lookup-only-in-table"}],
}


def molecule(scenario, env=None):
    """Run ``molecule test -s <scenario>``: ``(returncode, output)``, Ansible's stdout and Molecule's log as one text."""
    completed = subprocess.run([os.path.join(BIN, "molecule"), "test", "-s", scenario], cwd=ROLE, env=env or ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                               check=False)
    return completed.returncode, completed.stdout


def test_molecule_default_scenario_converges_idempotently_and_verifies():
    returncode, output = molecule("default")
    assert returncode == 0, output[-8000:]
    for action in ("create", "prepare", "converge", "idempotence", "verify", "destroy"):
        assert "default > %s: Executed: Successful" % action in output


def test_molecule_chr_scenario_on_a_real_router():
    returncode, output = molecule("chr")
    assert returncode == 0, output[-8000:]


test_molecule_chr_scenario_on_a_real_router.needs_env = "ROUTEROS_CHR_IMAGE"


def test_chr_scenario_without_an_image_stops_at_create_saying_how_to_run_it():
    env_without_image = dict(ENV)
    env_without_image.pop("ROUTEROS_CHR_IMAGE", None)
    returncode, output = molecule("chr", env=env_without_image)
    assert returncode != 0
    assert "chr scenario NOT RUN: no CHR image" in output
    assert "chr > create: Executed: Failed" in output and "chr > converge" not in output


@pytest.fixture
def sim():
    """A router with seed 000's polluting rule and a hand-made routing rule."""
    with Simulator() as simulator:
        simulator.state.menu(MANGLE).add(POLLUTION)
        simulator.state.menu("/routing/rule").add({"dst-address": "10.8.0.0/16", "table": "main",
                                                   "comment": "office-vpn"})
        simulator.reset_counters()
        yield simulator


def playbook(sim, tmp_path, *options, **role_vars):
    host = dict(ROLE_VARS, ansible_host="127.0.0.1", routeros_api_port=sim.port, **role_vars)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"routeros_routers": {"hosts": {"router1": host}}}))
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory),
                           os.path.join(ROOT, "playbooks", "routeros.yml")] + list(options),
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300, check=False)


def test_check_diff_shows_routeros_cli_lines_and_writes_nothing(sim, tmp_path):
    completed = playbook(sim, tmp_path, "--check", "--diff")
    assert completed.returncode == 0, completed.stdout[-6000:]
    for line in ("+/routing table add name=cell fib comment=multiwan.pbr",
                 "+/ip route add gateway=10.254.15.129 distance=2 routing-table=cell comment=multiwan.pbr:cell-default",
                 "+/routing rule add dst-address=47.109.74.243/32 table=cell comment=multiwan.pbr:cell-host",
                 "+/routing rule add dst-address=203.0.113.0/24 action=lookup-only-in-table table=cell "
                 "comment=multiwan.pbr:cell-nets.1"):
        assert line in completed.stdout, completed.stdout[-6000:]
    assert "output-connmark-unguarded" in completed.stdout
    assert sim.write_count == 0


def test_audit_fail_stops_the_run_on_the_seeded_pollution(sim, tmp_path):
    completed = playbook(sim, tmp_path, routeros_pbr_audit_fail=True)
    assert completed.returncode != 0
    assert "The audit found 1 errors: mark-connection new-connection-mark=cell-wan-mark" in completed.stdout


def test_output_exclusions_go_before_the_marking_rule_and_satisfy_the_audit(sim, tmp_path):
    exclusions = {"lan_prefixes": ["192.168.88.0/24"], "interfaces": ["ether5"], "dns": True,
                  "gateway_probes": ["10.254.15.129"]}
    completed = playbook(sim, tmp_path, routeros_pbr_audit_fail=True, routeros_pbr_output_exclusions=exclusions)
    assert completed.returncode == 0, completed.stdout[-6000:]
    assert [row.get("comment") for row in sim.state.menu(MANGLE).rows()] == [
        "multiwan.pbr:exclude-lan-192.168.88.0/24", "multiwan.pbr:exclude-if-ether5", "multiwan.pbr:exclude-dns-udp",
        "multiwan.pbr:exclude-dns-tcp", "multiwan.pbr:exclude-probe-10.254.15.129", "pollution"]
    again = playbook(sim, tmp_path, routeros_pbr_audit_fail=True, routeros_pbr_output_exclusions=exclusions)
    assert "changed=0" in again.stdout and again.returncode == 0


def test_monitor_targets_fallback_and_netwatch_through_the_playbook(sim, tmp_path):
    """Issue 14 through the role itself: the recursive-route pattern, a WAN falling back through the other,
    a strict destination, netwatch; a second run changes nothing; a dark target moves the traffic."""
    for address in ("192.0.2.2/24", "10.254.15.130/30"):
        sim.state.menu("/ip/address").add({"address": address, "interface": "ether1"})
    failover = dict(
        routeros_pbr_wans=[{"name": "fiber", "gateway": "192.0.2.1", "monitor": ["198.18.2.2"]},
                           {"name": "cell", "gateway": "10.254.15.129", "distance": 2, "monitor": ["198.18.3.3"],
                            "fallback": "wans", "netwatch": {"down_script": ":log warning cell-down"}}],
        routeros_pbr_destinations=[{"name": "cell-host", "dst_address": "47.109.74.243", "wan": "cell"},
                                   {"name": "licence", "dst_address": "203.0.113.9", "wan": "fiber", "strict": True}])
    first = playbook(sim, tmp_path, **failover)
    assert first.returncode == 0, first.stdout[-6000:]
    again = playbook(sim, tmp_path, **failover)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-6000:]
    assert [row["comment"] for row in sim.state.menu("/tool/netwatch").rows()] == [
        "multiwan.pbr:cell-monitor-198.18.3.3"]
    assert (sim.lookup("47.109.74.243").table, sim.lookup("203.0.113.9").table) == ("cell", "fiber")
    sim.set_reachable("198.18.3.3", False)
    assert (sim.lookup("47.109.74.243").table, sim.lookup("47.109.74.243").gateway) == ("cell", "192.0.2.1%ether1")
    sim.set_reachable("198.18.2.2", False)
    assert sim.lookup("203.0.113.9").action == "unreachable"
