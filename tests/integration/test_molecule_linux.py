"""The role linux_multiwan's Molecule scenario, end to end: `molecule test` in the role directory.

The scenario builds its own podman lab (prefix MULTIWAN_LAB_PREFIX, default "mol") with a bare
router reached over ssh, converges playbooks/site.yml (the role installs its packages first), checks
idempotence, sends real traffic (lab/checks.py), reboots the router for real and checks the role's
unit restored everything, and takes the lab down (roles/linux_multiwan/molecule/default/).

Needs root and podman, like tests/integration/lab; without them it fails rather than skips.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "linux_multiwan"
VENV_BIN = Path(sys.executable).parent
TIMEOUT_SECONDS = 600
TAIL_LINES = 60
FAILURE_CONTEXT = 25

pytestmark = pytest.mark.lab


def test_molecule_test_passes(tmp_path):
    # molecule.yml sets ANSIBLE_COLLECTIONS_PATH itself; molecule and ansible come from this venv.
    # Molecule keeps a scenario's state (instance config, inventory) in ~/.ansible/tmp under a name made
    # from the role's directory name only: every checkout on the machine would share it, and a run in
    # another one could rewrite it mid-test. This run's state is its own.
    environment = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                       MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"))
    completed = subprocess.run([str(VENV_BIN / "molecule"), "test"], cwd=ROLE, env=environment,
                               capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    output = (completed.stdout + completed.stderr).splitlines()
    assert completed.returncode == 0, "molecule test failed (rc=%d)\n%s\nlast lines:\n%s" % (
        completed.returncode, first_failure(output), "\n".join(output[-TAIL_LINES:]))


def first_failure(lines):
    """The failing task and what Ansible said about it: the tail alone ends in Molecule's clean-up."""
    for index, line in enumerate(lines):
        if "fatal:" in line or "FAILED!" in line:
            start = max(0, index - FAILURE_CONTEXT)
            return "first failure:\n" + "\n".join(lines[start:index + FAILURE_CONTEXT])
    return "(no failed task in the output)"
