"""The agent as the role installs it: one zipapp of the collection's module_utils, run by the system Python."""

import os
import subprocess
import zipfile

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import bundle

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
SYSTEM_PYTHON = "/usr/bin/python3"


def test_the_bundle_depends_only_on_the_source():
    assert bundle.bundle_bytes(MODULE_UTILS) == bundle.bundle_bytes(MODULE_UTILS)


def test_the_bundle_holds_the_engines_and_the_agent_and_nothing_of_ansible_core(tmp_path):
    path = bundle.write_bundle(MODULE_UTILS, str(tmp_path))
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert "__main__.py" in names and not [name for name in names if name.startswith("ansible/")]
    for module in ("agent/cli.py", "agent/engine_applier.py", "linux/pbr_table.py", "linux/failover.py",
                   "core/resource.py"):
        assert "%s/%s" % (bundle.PACKAGE, module) in names
    with open(path, "rb") as handle:
        assert handle.readline() == b"#!/usr/bin/python3\n"


def test_the_system_python_runs_it_without_the_collection_on_its_path(tmp_path):
    path = bundle.write_bundle(MODULE_UTILS, str(tmp_path))
    config = tmp_path / "agent.json"
    config.write_text('{"wans": [{"name": "wan1", "device": "wan1", "gateway": "192.0.2.1"}], '
                      '"routing": {"protocol": "212", "wans": [{"name": "wan1", "device": "wan1", "table": 101, '
                      '"families": ["ipv4"], "gateway": {"ipv4": "192.0.2.1"}}]}}')
    environment = {"PATH": "/usr/bin:/bin"}
    checked = subprocess.run([SYSTEM_PYTHON, path, "check-config", str(config)], capture_output=True, text=True,
                             env=environment, check=False)
    assert checked.returncode == 0 and checked.stdout.startswith(str(config) + ": ok"), checked.stderr
    config.write_text('{"wans": [{"name": "wan1", "device": "wan1"}], "routing": {"protocol": "boot", "wans": []}}')
    refused = subprocess.run([SYSTEM_PYTHON, path, "check-config", str(config)], capture_output=True, text=True,
                             env=environment, check=False)
    assert refused.returncode == 1 and 'routing.protocol="boot": is protocol 3' in refused.stderr
