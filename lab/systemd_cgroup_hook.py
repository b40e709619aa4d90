"""OCI prestart hook: hand a lab container's systemd cgroup to the container's own root.

    podman --hooks-dir lab/.state/oci-hooks run --annotation io.multiwan-pbr.lab.systemd=true …

runc runs it as host root after it has made the container's cgroups and before the container's
first process (systemd) starts; the container state (JSON, with the PID) arrives on stdin.

Why: the router runs systemd as PID 1 inside its own user namespace (its root is host uid
1000000000, so its writable /proc/sys reaches only its own net.* keys). On this host's cgroup v1
hierarchy podman leaves the container's `name=systemd` cgroup owned by host root, systemd cannot
create init.scope in it ("Failed to allocate manager object: Permission denied") and exits. The
hook chowns that one directory tree to the uid and gid the container's root maps to, as podman
itself does for a delegated cgroup v2 tree. Nothing else changes owner. On a cgroup v2 host
there is no `name=systemd` line and the hook does nothing.
"""

import json
import os
import sys

SYSTEMD_HIERARCHY = "/sys/fs/cgroup/systemd"


def root_mapping(pid, kind):
    """The host id that id 0 inside the container's user namespace maps to."""
    with open(f"/proc/{pid}/{kind}_map", encoding="ascii") as handle:
        for line in handle:
            inside, outside, _count = line.split()
            if inside == "0":
                return int(outside)
    raise SystemExit(f"systemd_cgroup_hook: no root mapping in /proc/{pid}/{kind}_map")


def systemd_cgroup(pid):
    with open(f"/proc/{pid}/cgroup", encoding="ascii") as handle:
        for line in handle:
            _number, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "name=systemd":
                return SYSTEMD_HIERARCHY + path
    return None


def chown_tree(top, uid, gid):
    for directory, _subdirectories, files in os.walk(top):
        os.chown(directory, uid, gid)
        for name in files:
            os.chown(os.path.join(directory, name), uid, gid)


def main():
    pid = json.load(sys.stdin)["pid"]
    cgroup = systemd_cgroup(pid)
    if cgroup:
        chown_tree(cgroup, root_mapping(pid, "uid"), root_mapping(pid, "gid"))


if __name__ == "__main__":
    main()
