# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One multiwan.pbr writer at a time per host.

Two runs that read the same rules and then apply their plans would each plan against a
state the other is changing. Every Linux runner that may write takes this lock before its
first read and keeps it until the module process (or the agent's apply) ends.

The lock is a file only root can open (mode 0600) in a directory only root can write
(``/run/multiwan-pbr``, where the failover agent keeps its status too), so no other user can
``flock`` it and make root's runs wait, nor put a file of their own in its place. A run that
only reads (``gathered``, check mode) takes no lock: it changes nothing another run could
trip over, and it works without root. A run that would write without root fails cleanly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import time

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import DeviceError

DEFAULT_LOCK_PATH = "/run/multiwan-pbr/lock"
_held = {}      # path -> open file descriptor; module processes are short-lived, exit releases it


def hold_host_lock(path=DEFAULT_LOCK_PATH, timeout=60.0, poll=0.1):
    """Take the exclusive lock at ``path``, waiting up to ``timeout`` seconds; ``DeviceError`` otherwise."""
    if path in _held:
        return
    descriptor = _open_lock(path)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _held[path] = descriptor
            return
        except (IOError, OSError) as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                os.close(descriptor)
                raise DeviceError("another multiwan.pbr run holds %s; waited %.0f s" % (path, timeout))
            time.sleep(poll)


def release_host_lock(path=DEFAULT_LOCK_PATH):
    descriptor = _held.pop(path, None)
    if descriptor is not None:
        os.close(descriptor)


def _open_lock(path):
    """The lock file (0600) in a directory only its owner writes; a clean ``DeviceError`` for anyone else."""
    directory = os.path.dirname(path)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        status = os.lstat(directory)
        if status.st_uid != os.geteuid() or status.st_mode & 0o022:
            raise DeviceError(_refusal(directory, status))
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
        os.fchmod(descriptor, 0o600)        # a file an earlier version left readable by all is closed again
        return descriptor
    except (IOError, OSError) as error:
        raise DeviceError("cannot take the host lock %s: %s (changing routing state needs root; "
                          "use become: true)" % (path, error.strerror or error))


def _refusal(directory, status):
    """Why a lock directory that is not ours alone is not used."""
    if status.st_uid == 0 and os.geteuid() != 0:
        return ("cannot take the host lock in %s, which is root's: changing routing state needs root "
                "(use become: true); this run is uid %d" % (directory, os.geteuid()))
    return ("the lock directory %s must belong to the user running multiwan.pbr (uid %d) and be writable by "
            "nobody else; it is uid %d mode %o"
            % (directory, os.geteuid(), status.st_uid, status.st_mode & 0o777))
