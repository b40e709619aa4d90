"""The podman lab itself: real containers, real veths, real traffic.

The lab is the ground the role's Molecule scenario, `make demo` and the benchmarks
stand on, so this checks the promises they rely on: the links carry traffic, the
router is reachable but unconfigured for policy routing, the ISPs' anti-spoofing
filter really drops. The router as a machine (systemd, ssh, reboot, packages) is
test_router.py's; faults are test_faults.py's.

Needs root and podman.  Without them these tests fail: a lab that cannot be built
is a broken environment, not a reason to skip.
"""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from lab_support import REPO, lab_prefix, lab_running

from lab import containers, topology, traffic
from lab.lab import render_inventory
from lab.shell import run_in_netns

pytestmark = pytest.mark.lab

PORT = 8080


@pytest.fixture(name="lab", scope="module")
def running_lab():
    with lab_running(lab_prefix()) as lab:
        yield lab


def test_podman_is_installed():
    assert shutil.which("podman"), "podman is not installed: run lab/setup-host.sh as root"


def test_inventory_file_matches_topology():
    committed = (REPO / "lab" / "inventory.yml").read_text(encoding="utf-8")
    assert committed == render_inventory(topology.load()), "regenerate: lab/lab.py inventory > lab/inventory.yml"


def test_client_reaches_router_over_lan(lab):
    router_lan = lab.peer("client", "eth0")
    assert traffic.ping(lab, "client", router_lan.address("ipv4"))
    assert traffic.ping(lab, "client", router_lan.address("ipv6"))


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_router_reaches_inet_via_isp1_from_wan1_address(lab, family):
    wan1 = lab.wan("wan1")
    source = wan1.address if family == "ipv4" else wan1.address6
    with traffic.running_server(lab, "inet", port=PORT, lifetime=30):
        connections = traffic.connect(lab, "router", lab.service(family=family), PORT, count=3, rounds=2)
    assert [c.source for c in connections] == [source] * 3
    assert traffic.tally_wans(lab, connections) == {"wan1": 3}


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_isp1_drops_packets_with_wan2_source(lab, family):
    wan1, wan2 = lab.wan("wan1"), lab.wan("wan2")
    service = lab.service(family=family)
    drops_before = traffic.spoofed_drops(lab, "isp1")
    # The router's only default route leads to isp1; a WAN2 source there is spoofed for isp1.
    assert not traffic.ping(lab, "router", service, source=wan2.address if family == "ipv4" else wan2.address6)
    assert traffic.spoofed_drops(lab, "isp1") > drops_before
    assert traffic.ping(lab, "router", service, source=wan1.address if family == "ipv4" else wan1.address6)


def test_inet_reaches_router_wan1_address(lab):
    with traffic.running_server(lab, "router", port=PORT, lifetime=30):
        connections = traffic.connect(lab, "inet", lab.wan("wan1").address, PORT)
    inet_core1 = lab.peer("isp1", "core0")
    assert connections[0].source == inet_core1.address("ipv4")


def test_udp_probe_answers(lab):
    with traffic.running_server(lab, "inet", port=PORT, proto="udp", lifetime=30):
        connections = traffic.connect(lab, "router", lab.service(), PORT, proto="udp", count=2)
    assert traffic.tally_wans(lab, connections) == {"wan1": 2}


def test_router_is_unconfigured_for_policy_routing(lab):
    # The host's ip and nft in the router's namespace: the router has neither until the role installs them.
    rules = run_in_netns(lab.container("router"), ["ip", "rule", "show"]).stdout.splitlines()
    assert [rule.split(":")[0] for rule in rules] == ["0", "32766", "32767"]
    assert run_in_netns(lab.container("router"), ["nft", "list", "ruleset"]).stdout.strip() == ""
    # No masquerade yet: a LAN flow leaves with its private source and inet cannot answer it.
    with traffic.running_server(lab, "inet", port=PORT, lifetime=30):
        connections = traffic.connect(lab, "client", lab.service(), PORT, timeout=1)
    assert traffic.tally_wans(lab, connections) == {"failed": 1}


def test_router_sysctls_are_writable_by_the_role_and_only_its_own(lab):
    write = 'echo "$2" > "/proc/sys/$1"'
    writable = traffic.podman_exec(lab, "router", ["sh", "-c", write, "write", "net/ipv4/conf/all/src_valid_mark", "1"],
                                   check=False)
    assert writable.returncode == 0, writable.stderr
    # Writes the host's current value, so even a failing assertion changes nothing.
    swappiness = Path("/proc/sys/vm/swappiness").read_text(encoding="ascii").strip()
    host_wide = traffic.podman_exec(lab, "router", ["sh", "-c", write, "write", "vm/swappiness", swappiness],
                                    check=False)
    assert host_wide.returncode != 0


def test_servers_stop_by_themselves(lab):
    server = traffic.start_server(lab, "inet", port=PORT + 1, lifetime=1)
    time.sleep(2.5)
    listening = traffic.podman_exec(lab, "inet", ["ss", "-Hltn", f"sport = :{server.port}"])
    assert listening.stdout.strip() == ""


def test_down_removes_containers_and_leaves_no_veth(lab):
    other = topology.load(lab_prefix("down"))
    host_links_before = _host_links()
    containers.up(other)
    assert len(containers.lab_containers(other)) == len(other.hosts)
    assert containers.status(other)["router"]["systemd"] == "running"
    containers.down(other)
    assert containers.lab_containers(other) == []
    assert _host_links() == host_links_before
    assert len(containers.lab_containers(lab)) == len(lab.hosts)      # the other lab is untouched


def _host_links():
    return sorted(subprocess.run(["ip", "-brief", "link", "show"], capture_output=True, text=True,
                                 check=True).stdout.split("\n"))
