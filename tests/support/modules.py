"""Run a module of this collection for real: the module file as a process, JSON in, JSON out.

This is how Ansible itself runs a module on a target (minus the transport), so an
integration test exercises argument parsing, check mode and diff exactly as a
playbook does, in a few hundred milliseconds instead of a playbook's seconds.
Inside a network namespace the module sees that namespace's kernel state, and
``ip netns exec`` bind-mounts ``/etc/netns/<ns>/*`` over ``/etc``, so the
namespace can have an ``/etc/iproute2`` of its own.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The checkout as ansible_collections.multiwan.pbr (conftest.py): the module file and its module_utils alike.
COLLECTIONS = os.path.join(ROOT, ".build", "checkout")


def module_path(name):
    return os.path.join(ROOT, "plugins", "modules", name + ".py")


def run_module(name, args, netns=None, check_mode=False, diff=False, python=None):
    """Run ``multiwan.pbr.<name>`` with ``args``; return its result dict.

    ``failed`` results are returned, not raised: tests assert on them.
    """
    payload = dict(args)
    payload.update(_ansible_check_mode=check_mode, _ansible_diff=diff,
                   _ansible_module_name="multiwan.pbr." + name)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
        args_file = handle.name
    try:
        command = [python or sys.executable, module_path(name), args_file]
        if netns:
            command = ["ip", "netns", "exec", netns] + command
        env = dict(os.environ, PYTHONPATH=COLLECTIONS, LC_ALL="C")
        completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    finally:
        os.unlink(args_file)
    return parse_result(completed)


def parse_result(completed):
    out = completed.stdout.strip()
    try:
        return json.loads(out[out.index("{"):])
    except ValueError:
        raise AssertionError("module printed no JSON (rc=%s)\nstdout: %s\nstderr: %s"
                             % (completed.returncode, completed.stdout, completed.stderr))
