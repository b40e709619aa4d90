"""Network namespaces for tests: created by the test, removed after it, never shared.

Everything a test sends stays inside the namespaces it made here.
"""

import json
import os
import shutil
import subprocess
import uuid


def sh(*argv, check=True, input=None):
    """Run a command; return its stdout. Raises with stderr on failure when ``check``."""
    completed = subprocess.run(list(argv), capture_output=True, text=True, input=input, check=False)
    if check and completed.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), completed.returncode, completed.stderr.strip()))
    return completed.stdout


class Netns(object):
    """A named namespace with loopback up and an ``/etc/netns/<name>/iproute2`` of its own."""

    def __init__(self, prefix="mwt"):
        self.name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
        self.etc = os.path.join("/etc/netns", self.name)

    def __enter__(self):
        sh("ip", "netns", "add", self.name)
        self.ip("link", "set", "lo", "up")
        os.makedirs(self.etc)
        shutil.copytree("/etc/iproute2", os.path.join(self.etc, "iproute2"))
        return self

    def __exit__(self, *exc):
        sh("ip", "netns", "del", self.name, check=False)
        shutil.rmtree(self.etc, ignore_errors=True)

    def run(self, *argv, check=True, input=None):
        return sh("ip", "netns", "exec", self.name, *argv, check=check, input=input)

    # through ``ip netns exec`` (not ``ip -n``) so names resolve from this namespace's /etc/iproute2
    def ip(self, *argv, check=True):
        return self.run("ip", *argv, check=check)

    def ip_json(self, *argv):
        out = self.run("ip", "-json", *argv)
        return json.loads(out) if out.strip() else []

    def veth(self, name, peer, peer_netns):
        """A veth pair: ``name`` here, ``peer`` in ``peer_netns`` (a Netns); both up."""
        sh("ip", "link", "add", name, "netns", self.name, "type", "veth", "peer", "name", peer, "netns", peer_netns.name)
        self.ip("link", "set", name, "up")
        peer_netns.ip("link", "set", peer, "up")
