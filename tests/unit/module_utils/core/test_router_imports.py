"""What runs on the router without Ansible imports without Ansible.

The failover agent runs on the router with the Python standard library, netaddr and the
collection's own engine code (issue 12); ansible-core is not there. A blocking import hook
stands in for its absence, in a fresh interpreter.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PROGRAM = """
import builtins, sys
real_import = builtins.__import__
def no_ansible(name, *args, **kwargs):
    if name == "ansible" or name.startswith("ansible."):
        raise ImportError("ansible is not on the router: " + name)
    return real_import(name, *args, **kwargs)
builtins.__import__ = no_ansible
from ansible_collections.multiwan.pbr.plugins.module_utils.core import resource
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import iproute2, pbr_rule, pbr_table
print("ok")
"""


def test_the_linux_engines_and_the_core_import_without_ansible():
    completed = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=False,
                               env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".collections")))
    assert completed.returncode == 0 and completed.stdout.strip() == "ok", completed.stderr
