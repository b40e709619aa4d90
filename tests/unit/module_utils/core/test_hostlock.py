"""The host lock (issue 11 defect 12): a root-only directory, a clean refusal for everyone else.

The old lock, ``/run/lock/multiwan-pbr.lock``, was a world-readable file in a world-writable
directory: a non-root run crashed with a PermissionError once root had made it, and any local
user could open it read-only and ``flock`` it, so that every root run waited 60 s and failed.
Tests that switch users run ``/usr/bin/python3`` as ``nobody`` (the venv's interpreter lives under
/root) and need root; they are skipped otherwise.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core import hostlock
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import DeviceError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SYSTEM_PYTHON = "/usr/bin/python3"
as_root_with_nobody = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("runuser") or not os.path.exists(SYSTEM_PYTHON),
    reason="switching to user nobody needs root, runuser and %s" % SYSTEM_PYTHON)


@pytest.fixture
def lock_parent():
    """A directory every user may enter (as /run is), which the lock's own directory goes in."""
    parent = tempfile.mkdtemp(prefix="multiwan-pbr-lock-test.")
    os.chmod(parent, 0o755)
    yield parent
    for path in list(hostlock._held):
        if path.startswith(parent):
            hostlock.release_host_lock(path)
    shutil.rmtree(parent)


def as_nobody(code, *argv):
    """Run ``code`` with the system python as user nobody; ``(returncode, stdout + stderr)``."""
    site_packages = os.path.join(ROOT, ".venv", "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, ".collections"), site_packages]))
    completed = subprocess.run(["runuser", "-u", "nobody", "--", SYSTEM_PYTHON, "-c", textwrap.dedent(code)] + list(argv),
                               capture_output=True, text=True, env=environment, check=False, cwd="/")
    return completed.returncode, completed.stdout + completed.stderr


def test_only_the_owner_writes_the_directory_and_opens_the_lock_whatever_the_umask(lock_parent):
    """The directory is shared with the agent's status (readable), the lock file is root's alone."""
    path = os.path.join(lock_parent, "multiwan-pbr", "lock")
    old_umask = os.umask(0)
    try:
        hostlock.hold_host_lock(path, timeout=1)
    finally:
        os.umask(old_umask)
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == oct(0o755)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    hostlock.hold_host_lock(path, timeout=1)        # held already: a second call is a no-op


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o1777])
def test_a_lock_directory_others_may_write_is_refused(lock_parent, mode):
    directory = os.path.join(lock_parent, "multiwan-pbr")
    os.mkdir(directory)
    os.chmod(directory, mode)
    with pytest.raises(DeviceError) as error:
        hostlock.hold_host_lock(os.path.join(directory, "lock"), timeout=1)
    assert "writable by nobody else" in str(error.value) and os.listdir(directory) == []


def test_a_lock_file_an_earlier_version_left_readable_is_closed_again(lock_parent):
    path = os.path.join(lock_parent, "multiwan-pbr", "lock")
    os.makedirs(os.path.dirname(path))
    with open(path, "w"):
        pass
    os.chmod(path, 0o644)
    hostlock.hold_host_lock(path, timeout=1)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


def test_a_held_lock_makes_the_next_run_wait_then_fail_cleanly(lock_parent):
    path = os.path.join(lock_parent, "multiwan-pbr", "lock")
    hostlock.hold_host_lock(path, timeout=1)
    code = """
        import sys
        sys.path.insert(0, sys.argv[2])
        from ansible_collections.multiwan.pbr.plugins.module_utils.core import hostlock
        from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import DeviceError
        try:
            hostlock.hold_host_lock(sys.argv[1], timeout=0.3, poll=0.05)
        except DeviceError as error:
            print("refused:", error)
        """
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code), path, os.path.join(ROOT, ".collections")],
                               capture_output=True, text=True, check=False)
    assert completed.stdout.startswith("refused: another multiwan.pbr run holds %s" % path), completed.stderr


@as_root_with_nobody
def test_other_users_cannot_even_open_the_lock(lock_parent):
    """The old lock let any user ``flock`` it (the control below); the new one cannot be opened."""
    path = os.path.join(lock_parent, "multiwan-pbr", "lock")
    hostlock.hold_host_lock(path, timeout=1)
    hostlock.release_host_lock(path)
    flock = """
        import fcntl, sys
        with open(sys.argv[1]) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("locked")
        """
    returncode, output = as_nobody(flock, path)
    assert returncode != 0 and "Permission denied" in output and "locked" not in output
    old_style = os.path.join(lock_parent, "multiwan-pbr.lock")     # 0644 in a directory anyone may enter
    with open(old_style, "w"):
        os.chmod(old_style, 0o644)
    assert as_nobody(flock, old_style) == (0, "locked\n")


@as_root_with_nobody
@pytest.mark.parametrize("lock_path", ["in the test's directory", hostlock.DEFAULT_LOCK_PATH])
def test_a_run_without_root_is_refused_with_a_message(lock_parent, lock_path):
    path = os.path.join(lock_parent, "multiwan-pbr", "lock") if lock_path.startswith("in ") else lock_path
    hostlock.hold_host_lock(path, timeout=1)        # root made it, as root's runs do
    hostlock.release_host_lock(path)                # (and other runs on this host may want it meanwhile)
    code = """
        import sys
        from ansible_collections.multiwan.pbr.plugins.module_utils.core import hostlock
        from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import DeviceError
        try:
            hostlock.hold_host_lock(sys.argv[1], timeout=0.3)
        except DeviceError as error:
            print("refused:", error)
        """
    returncode, output = as_nobody(code, path)
    assert (returncode, output.splitlines()[0]) == (
        0, "refused: cannot take the host lock in %s, which is root's: changing routing state needs root "
           "(use become: true); this run is uid 65534" % os.path.dirname(path)), output
