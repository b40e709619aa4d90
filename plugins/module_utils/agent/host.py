# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few things a runner asks of its Ansible module, for the agent, which has no Ansible.

The collection's runners (``linux.iproute2`` ...) take a ``module`` and use only
``get_bin_path``, ``run_command`` and ``atomic_move``; ``Host`` provides those three with the
standard library, so the agent drives the device through the very runners the modules use.
Commands are argv lists, never a shell, with the environment the modules give them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

# Where iproute2, nftables and conntrack live on Debian and RHEL, whatever PATH systemd gives.
SYSTEM_PATHS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


class CommandMissing(RuntimeError):
    """A program the agent needs is not installed."""


class Host(object):
    """``get_bin_path``/``run_command``/``atomic_move`` as ``AnsibleModule`` has them, on this host."""

    def __init__(self, timeout=30.0):
        self.timeout = timeout

    def get_bin_path(self, name, required=False):
        found = shutil.which(name, path=os.pathsep.join((os.environ.get("PATH", ""),) + SYSTEM_PATHS))
        if found is None and required:
            raise CommandMissing("%s is not installed (looked in PATH and %s)" % (name, ", ".join(SYSTEM_PATHS)))
        return found

    def run_command(self, argv, data=None, binary_data=False, environ_update=None, expand_user_and_vars=True):
        """``(rc, stdout, stderr)`` of ``argv``; ``data`` goes to its standard input."""
        del binary_data, expand_user_and_vars       # argv is never expanded here; data is text either way
        environment = dict(os.environ, **(environ_update or {}))
        try:
            completed = subprocess.run(list(argv), input=data, capture_output=True, text=True, env=environment,
                                       timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as error:
            return 124, "", "%s timed out after %.0f s" % (argv[0], error.timeout)
        except OSError as error:
            return 127, "", str(error)
        return completed.returncode, completed.stdout, completed.stderr

    @staticmethod
    def atomic_move(source, destination):
        os.replace(source, destination)
