# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One multiwan.pbr run at a time per host.

Two runs that read the same rules and then apply their plans would each plan
against a state the other is changing. Every Linux runner takes this lock before
its first read and keeps it until the module process exits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import time

from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import DeviceError

DEFAULT_LOCK_PATH = "/run/lock/multiwan-pbr.lock"
_held = {}      # path -> open file; module processes are short-lived, exit releases it


def hold_host_lock(path=DEFAULT_LOCK_PATH, timeout=60.0, poll=0.1):
    """Take the exclusive lock at ``path``, waiting up to ``timeout`` seconds."""
    if path in _held:
        return
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory)
    lock_file = open(path, "a")
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _held[path] = lock_file
            return
        except (IOError, OSError):
            if time.monotonic() >= deadline:
                lock_file.close()
                raise DeviceError("another multiwan.pbr run holds %s; waited %.0f s" % (path, timeout))
            time.sleep(poll)


def release_host_lock(path=DEFAULT_LOCK_PATH):
    lock_file = _held.pop(path, None)
    if lock_file is not None:
        lock_file.close()
