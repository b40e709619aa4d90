"""Shared by the podman-lab test modules: each brings up a lab of its own, under its own prefix.

The prefixes start with MULTIWAN_LAB_TEST_PREFIX (default "multiwan-labtest"), so two people
testing on one machine give theirs different values and never touch each other's containers,
nor a lab brought up for the demo. Without root or podman the tests fail: a lab that cannot be
built is a broken environment, not a reason to skip.
"""

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from lab import containers, topology  # noqa: E402  (needs REPO on sys.path)


def lab_prefix(name=""):
    base = os.environ.get("MULTIWAN_LAB_TEST_PREFIX", "multiwan-labtest")
    return f"{base}-{name}" if name else base


@contextlib.contextmanager
def lab_running(prefix):
    """A fresh lab under `prefix` for the duration of the block (images built first if missing)."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run lab/setup-host.sh as root")
    if os.geteuid() != 0:
        pytest.fail("the lab needs root (rootful podman, veths in container namespaces)")
    subprocess.run([str(REPO / "lab" / "build-image.sh")], check=True)  # quick when the images are current
    lab = topology.load(prefix)
    containers.up(lab)
    try:
        yield lab
    finally:
        containers.down(lab)


def ansible_inventory(lab, directory):
    """This lab's inventory file (ssh to the router as users do), naming lab/ absolutely."""
    from lab.lab import render_inventory    # pylint: disable=import-outside-toplevel
    inventory = directory / "inventory.yml"
    inventory.write_text(render_inventory(lab, str(REPO / "lab")), encoding="utf-8")
    return inventory


def run_ansible(program, *argv, timeout=300):
    """Run ansible / ansible-playbook from this venv with the checkout's collection and config."""
    environment = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                       ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"))
    return subprocess.run([str(Path(sys.executable).with_name(program)), *argv], capture_output=True,
                          text=True, timeout=timeout, check=False, env=environment, cwd=REPO)
