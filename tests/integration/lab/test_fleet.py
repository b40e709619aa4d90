"""A fleet of light lab routers (lab/fleet.py, `lab/lab.py fleet …`): one site.yml run converges every router.

Two routers come up with the command bench part 8 uses (`lab/lab.py --prefix P fleet up --routers 2`), the
inventory comes from `fleet inventory`, and the installed collection's playbooks/site.yml runs against both at once,
over ssh as the login user with become: each router then has the collection's rules, and a second run changes
nothing on either. About a minute. Needs root and podman, like every lab test.
"""

import json
import re
import subprocess
import sys

import pytest
from lab_support import REPO, lab_prefix, run_ansible

from lab import fleet, topology
from lab.shell import run_in_netns

pytestmark = pytest.mark.lab

ROUTERS = 2
PROTOCOL = "211"            # the role's default multiwan_protocol: the tag of the rules it owns
SITE = REPO / ".collections" / "ansible_collections" / "multiwan" / "pbr" / "playbooks" / "site.yml"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s", re.MULTILINE)


def lab_command(prefix, *words):
    completed = subprocess.run([sys.executable, str(REPO / "lab" / "lab.py"), "--prefix", prefix, *words],
                               capture_output=True, text=True, timeout=180, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.fixture(name="fleet_prefix", scope="module")
def running_fleet():
    prefix = lab_prefix("fleet")
    try:
        lab_command(prefix, "fleet", "up", "--routers", str(ROUTERS))
        yield prefix
    finally:
        lab_command(prefix, "fleet", "down")


@pytest.fixture(name="inventory", scope="module")
def fleet_inventory(fleet_prefix, tmp_path_factory):
    directory = tmp_path_factory.mktemp("fleet")
    (directory / "hosts.yml").write_text(lab_command(fleet_prefix, "fleet", "inventory", "--lab-dir",
                                                     str(REPO / "lab")), encoding="utf-8")
    (directory / "group_vars").symlink_to(REPO / "lab" / "group_vars")
    return directory / "hosts.yml"


def site(inventory):
    """{host: changed count} from the play recap of one site.yml run, which must not fail anywhere."""
    completed = run_ansible("ansible-playbook", "-i", str(inventory), str(SITE))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    return {host: int(changed) for host, changed in RECAP.findall(completed.stdout)}


def owned_rules(container):
    rules = json.loads(run_in_netns(container, ["ip", "-json", "rule", "show"]).stdout)
    return [rule for rule in rules if str(rule.get("protocol")) == PROTOCOL]


def test_one_run_converges_every_router_and_a_second_changes_nothing(fleet_prefix, inventory):
    routers = fleet.routers(topology.load(fleet_prefix))
    assert list(routers) == ["r01", "r02"]

    first = site(inventory)
    assert set(first) == set(routers) and all(changed > 0 for changed in first.values()), first
    for container in routers.values():
        assert owned_rules(container), f"{container}: no rule with protocol {PROTOCOL} after the converge"

    assert site(inventory) == {name: 0 for name in routers}
