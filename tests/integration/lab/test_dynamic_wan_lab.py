"""A DHCP uplink on a real (containerised) router, with the role (issue 13): isp2 serves DHCP and router
advertisements with Debian's dnsmasq, the router's wan2 takes its address and gateways with systemd-networkd
(lab/dynamic.py), and playbooks/site.yml configures wan2 as ``gateway: dhcp`` with no address.

New flows use wan2 in both families (IPv6 through the router advertisement's link-local router); isp2 renumbers
wan2 to another subnet and gateway, the router's DHCP client takes the new lease at its next renewal, and new flows
leave from the new address within seconds, without an Ansible run; a ``--check --diff`` run afterwards reports
changed=0 (the live state that follows the uplink is the agent's). Needs root and podman, like every lab test.
"""

import ipaddress
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from lab_support import lab_prefix, lab_running

from lab import dynamic, traffic
from lab.lab import render_inventory
from lab.shell import podman_exec

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[3]
PORT = 8080
NEW_GATEWAY = "198.18.202.1/24"
METRICS = "/var/lib/prometheus/node-exporter/multiwan_pbr.prom"
LAB_VARS = yaml.safe_load((REPO / "lab" / "group_vars" / "linux_routers.yml").read_text(encoding="utf-8"))
WANS = [{"name": "wan1", "device": "wan1", "family": "both", "gateway": ["192.0.2.1", "2001:db8:a::1"],
         "address": ["192.0.2.2/24", "2001:db8:a::2/64"], "weight": 1},
        {"name": "wan2", "device": "wan2", "family": "both", "gateway": "dhcp", "weight": 1,
         "track": {"targets": ["198.18.2.2", "2001:db8:c2::2"]}}]


@pytest.fixture(name="lab", scope="module")
def dynamic_lab():
    with lab_running(lab_prefix("dyn")) as lab:
        dynamic.serve(lab, "wan2")
        dynamic.take_leases(lab, "wan2")
        dynamic.wait_for_address(lab, "wan2", "198.51.100.0/24")
        dynamic.wait_for_address(lab, "wan2", "2001:db8:b::/64", family="ipv6")
        yield lab


@pytest.fixture(name="inventory", scope="module")
def dynamic_inventory(lab, tmp_path_factory):
    directory = tmp_path_factory.mktemp("inventory")
    (directory / "hosts.yml").write_text(render_inventory(lab, str(REPO / "lab")), encoding="utf-8")
    (directory / "group_vars").mkdir()
    variables = dict(LAB_VARS, multiwan_wans=WANS, multiwan_metrics_file=METRICS)
    (directory / "group_vars" / "linux_routers.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    return directory


def site(inventory, *options):
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                       ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"))
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                                str(inventory / "hosts.yml"), str(REPO / "playbooks" / "site.yml"), "--limit", "router",
                                *options], capture_output=True, text=True, env=environment, timeout=600, check=False)
    try:
        result = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError("no JSON from ansible-playbook (rc=%d): %s" % (completed.returncode, completed.stderr[-3000:]))
    failed = [task["task"]["name"] for play in result["plays"] for task in play["tasks"]
              if (task["hosts"].get("router") or {}).get("failed")]
    assert not failed, (failed, completed.stdout[-3000:])
    return result


def sources(lab, family="ipv4", count=20):
    with traffic.running_server(lab, "inet", port=PORT, lifetime=120):
        flows = traffic.connect(lab, "client", lab.service("service", family), PORT, count=count)
    return set(flow.source for flow in flows)


def wait_for_source(lab, inside, timeout, family="ipv4"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [source for source in sources(lab, family, count=10)
                 if source and ipaddress.ip_address(source) in ipaddress.ip_network(inside)]
        if found:
            return found[0]
    raise AssertionError("no new flow from %s within %s s" % (inside, timeout))


def wait_wan_up(lab, name, timeout):
    deadline, found = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        status = json.loads(podman_exec(lab.container("router"), ["multiwan-pbr", "status", "--json"]).stdout)
        found = [wan for wan in status["wans"] if wan["name"] == name][0]
        if found["state"] == "up":
            return found
        time.sleep(0.5)
    raise AssertionError("%s is not up after %d s: %s" % (name, timeout, found))


def test_a_dhcp_wan_is_followed_renumbered_and_left_alone_by_the_playbook(lab, inventory):
    site(inventory)
    wan2 = dynamic.router_addresses(lab, "wan2")[0].split("/")[0]
    assert wait_for_source(lab, wan2 + "/32", 30) == wan2
    assert "192.0.2.2" in sources(lab) | sources(lab)
    # IPv6: the router advertisement's default router (fe80::...) carries wan2's SLAAC address
    assert wait_for_source(lab, "2001:db8:b::/64", 30, family="ipv6")
    renumbered = time.monotonic()
    dynamic.renumber(lab, "wan2", NEW_GATEWAY)
    new_address = dynamic.wait_for_address(lab, "wan2", "198.18.202.0/24")
    leased = time.monotonic()
    source = wait_for_source(lab, "198.18.202.0/24", 30)
    print("\nrenumbered: new lease %.1f s after isp2 moved (T1 %d s), new flows from %s %.1f s after the lease"
          % (leased - renumbered, dynamic.RENEW_SECONDS, source, time.monotonic() - leased))
    assert source == new_address.split("/")[0]
    # between isp2's move and the new lease the old gateway is gone: the probes may rightly have taken wan2 down
    # (seen under load, with a 2.1 s lease), and then it comes back after its up rounds and hold time
    wait_wan_up(lab, "wan2", 30)
    metrics = podman_exec(lab.container("router"), ["cat", METRICS]).stdout
    assert 'address="%s"' % new_address in metrics and 'gateway="198.18.202.1"' in metrics
    checked = site(inventory, "--check", "--diff")
    assert checked["stats"]["router"]["changed"] == 0, [
        task["task"]["name"] for play in checked["plays"] for task in play["tasks"]
        if (task["hosts"].get("router") or {}).get("changed")]
