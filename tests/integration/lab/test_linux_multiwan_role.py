"""linux_multiwan against a lab router: bad input changes nothing, reordering the WANs changes nothing.

Issue 11, defect 7: the role with a bad input must fail before its first change. Each case runs the
real playbook (playbooks/site.yml) against a fresh lab router and then finds the router byte for byte
as before: rules and routes of both families, the whole nft ruleset, the kernel settings the role
sets, the role's files and its unit. The cases cover each stage that can refuse (the inventory check
before the router is read; the layout with the router's addresses; the modules' checks against the
router); the breadth of bad inputs is in tests/unit/module_utils/linux/test_layout.py.

Defect 13: after a good run, a run that only reorders multiwan_wans reports changed=0 for every
task, and connections opened before it keep their WAN through it.

Needs root and podman, like tests/integration/lab/test_lab.py.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from lab import containers, topology, traffic  # noqa: E402  (needs REPO on sys.path)
from lab.lab import render_inventory  # noqa: E402

pytestmark = pytest.mark.lab

TEST_PREFIX = "mwrole"
PLAYBOOK_SECONDS = 300
PORT = 8080
LAB_VARS = yaml.safe_load((REPO / "lab" / "group_vars" / "linux_routers.yml").read_text(encoding="utf-8"))
# Everything the role may change, read inside the router: a difference is a half-applied run.
SNAPSHOT = r"""
for family in -4 -6; do ip $family rule show; ip $family route show table all; done
nft list ruleset
sysctl -a 2>/dev/null | grep -E '^net\.(ipv4\.ip_forward|ipv[46]\.fib_multipath_hash_policy) '
sysctl -a 2>/dev/null | grep -E '^net\.(ipv6\.conf\.all\.forwarding|ipv4\.conf\.[^.]+\.(rp_filter|src_valid_mark)) '
for path in /etc/iproute2/rt_tables.d /etc/multiwan-pbr /etc/sysctl.d /etc/systemd/system; do
    find "$path" -type f -exec sha256sum {} + 2>/dev/null | sort
done
systemctl is-enabled multiwan-pbr.service 2>&1 || true
"""
# The router image's environment leaves the sbin directories out of PATH; a login shell would have them.
SYSTEM_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FOREIGN_FIREWALL = "add table inet fw\nadd chain inet fw input { type filter hook input priority filter; policy accept; }\n"


@pytest.fixture(name="lab", scope="module")
def fresh_lab():
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run lab/setup-host.sh as root")
    if os.geteuid() != 0:
        pytest.fail("the lab needs root (rootful podman, veths in container namespaces)")
    subprocess.run([str(REPO / "lab" / "build-image.sh")], check=True)  # no-op when the image exists
    lab = topology.load(TEST_PREFIX)
    containers.up(lab)
    yield lab
    containers.down(lab)


@pytest.fixture(name="inventory", scope="module")
def lab_inventory(lab, tmp_path_factory):
    directory = tmp_path_factory.mktemp("inventory")
    (directory / "hosts.yml").write_text(render_inventory(lab, str(REPO / "lab")), encoding="utf-8")
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "linux_routers.yml").write_text(yaml.safe_dump(LAB_VARS), encoding="utf-8")
    # The lab router is bare: a run that removes nothing installs what the role needs (reading the router
    # needs iproute2), so the cases below start from a router that has its packages and nothing else
    prepared = playbook(directory, {"multiwan_state": "absent"}, tmp_path_factory.mktemp("prepare"))
    assert failed_task(prepared) is None, failed_task(prepared)
    # another tool's nft table, named as a careless inventory might name the role's
    subprocess.run(["podman", "exec", "-i", "--env", SYSTEM_PATH, lab.container("router"), "nft", "-f", "-"],
                   input=FOREIGN_FIREWALL,
                   text=True, check=True)
    settle(lab)
    return directory


def playbook(inventory, extra_vars, tmp_path):
    """Run playbooks/site.yml on the lab router with ``extra_vars``; the JSON callback's result."""
    extra = tmp_path / "extra.yml"
    extra.write_text(yaml.safe_dump(extra_vars), encoding="utf-8")
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                       ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                       PATH="%s%s%s" % (Path(sys.executable).parent, os.pathsep, os.environ.get("PATH", "")))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory / "hosts.yml"),
         str(REPO / "playbooks" / "site.yml"), "--limit", "router", "-e", "@%s" % extra],
        capture_output=True, text=True, env=environment, timeout=PLAYBOOK_SECONDS, check=False)
    try:
        return json.loads(completed.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook printed no JSON (rc=%d): %s"
                             % (completed.returncode, completed.stderr[-3000:]))


def failed_task(result):
    for play in result["plays"]:
        for task in play["tasks"]:
            host = task["hosts"].get("router") or {}
            if host.get("failed") or host.get("unreachable"):
                return task["task"]["name"], host.get("msg", "")
    return None


def changed_tasks(result):
    return [task["task"]["name"] for play in result["plays"] for task in play["tasks"]
            if (task["hosts"].get("router") or {}).get("changed")]


def snapshot(lab):
    completed = subprocess.run(["podman", "exec", "--env", SYSTEM_PATH, lab.container("router"), "sh", "-c", SNAPSHOT],
                               capture_output=True, text=True, timeout=60, check=True)
    return completed.stdout


def settle(lab, seconds=30):
    """Wait until the router's state stops changing on its own (IPv6 duplicate address detection on
    new links adds link-local addresses and their local routes for a few seconds)."""
    deadline = time.monotonic() + seconds
    previous = snapshot(lab)
    while time.monotonic() < deadline:
        time.sleep(2)
        current = snapshot(lab)
        if current == previous:
            return
        previous = current
    raise AssertionError("the lab router's state kept changing for %d s" % seconds)


def with_wan(index, **changes):
    wans = [dict(wan) for wan in LAB_VARS["multiwan_wans"]]
    wans[index].update(changes)
    return {"multiwan_wans": wans}


def with_policy(index, **changes):
    policies = [dict(policy) for policy in LAB_VARS["multiwan_policies"]]
    policies[index].update(changes)
    return {"multiwan_policies": policies}


# (extra vars, the variable the refusal names, the task that refuses)
BAD_INPUTS = [
    (with_policy(0, dport="0"), "multiwan_policies[0].dport", "Check the inventory"),
    ({"multiwan_priority_base": -5}, "multiwan_priority_base", "Check the inventory"),
    (with_wan(1, mark="0x1"), "multiwan_wans[1].mark", "Check the inventory"),
    (with_wan(0, table=254), "multiwan_wans[0].table", "Check the inventory"),
    # only the router can tell: a device without an address, another tool's nft table of the wanted name
    # (without the failover agent: with it, a WAN without its address is the agent's to follow, issue 13)
    ({"multiwan_failover": False,
      "multiwan_wans": LAB_VARS["multiwan_wans"] + [{"name": "wan3", "device": "wan9", "gateway": "192.0.2.1"}]},
     "multiwan_wans[2].address", "Converge the router"),
    ({"multiwan_nft_table": "fw"}, "table", "Converge the router"),
]


@pytest.mark.parametrize("extra_vars, variable, refusing_task", BAD_INPUTS, ids=[case[1] for case in BAD_INPUTS])
def test_bad_input_fails_before_the_router_changes(lab, inventory, tmp_path, extra_vars, variable, refusing_task):
    before = snapshot(lab)
    result = playbook(inventory, extra_vars, tmp_path)
    refused = failed_task(result)
    assert refused is not None, "the run did not fail: %s" % changed_tasks(result)
    assert refusing_task in refused[0] and variable in refused[1], refused
    assert changed_tasks(result) == []
    assert snapshot(lab) == before


def test_reordering_the_wans_changes_nothing_and_connections_keep_their_wan(lab, inventory, tmp_path):
    applied = playbook(inventory, {}, tmp_path)
    assert failed_task(applied) is None and changed_tasks(applied), failed_task(applied)
    configured = snapshot(lab)
    reordered = {"multiwan_wans": LAB_VARS["multiwan_wans"][::-1]}
    with traffic.running_server(lab, "inet", port=PORT, lifetime=PLAYBOOK_SECONDS):
        flows = {}
        # connections opened before the run ask who they are every second until after it
        talking = threading.Thread(target=lambda: flows.update(connections=traffic.connect(
            lab, "client", lab.service(), PORT, count=20, rounds=60, interval=1.0)))
        talking.start()
        result = playbook(inventory, reordered, tmp_path)
        talking.join()
    assert failed_task(result) is None and changed_tasks(result) == []
    assert result["stats"]["router"]["changed"] == 0
    assert snapshot(lab) == configured
    tally = traffic.tally_wans(lab, flows["connections"])
    assert tally["failed"] == tally["changed"] == 0 and sum(tally.values()) == 20, tally
