"""``multiwan-pbr run`` as a process inside a test's router namespace, with its log and status file at hand."""

import json
import os
import signal
import subprocess
import sys
import time

from .inside import COLLECTIONS

MODULE = "ansible_collections.multiwan.pbr.plugins.module_utils.agent.cli"


class AgentProcess(object):
    """The agent with the logging applier; ``directory`` holds its config, status file and log."""

    def __init__(self, netns, config, directory):
        self.netns, self.directory = netns, str(directory)
        self.config_path = os.path.join(self.directory, "agent.json")
        self.status_path = os.path.join(self.directory, "status.json")
        self.log_path = os.path.join(self.directory, "agent.log")
        self.write_config(config)
        self._log = open(self.log_path, "w")
        # ``ip netns exec`` execs the program: the process's pid is the agent's, signals reach it directly
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", netns.name, sys.executable, "-m", MODULE, "run", "--config", self.config_path,
             "--status-file", self.status_path],
            stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=COLLECTIONS))

    def __enter__(self):
        self.wait_for(lambda status: all(wan["families"][0].get("addresses") is not None for wan in status["wans"]),
                      timeout=15, what="a first status with the kernel's facts")
        return self

    def __exit__(self, *exc):
        self.stop()
        self._log.close()

    def write_config(self, config):
        with open(self.config_path, "w") as handle:
            json.dump(config, handle)

    def reload(self):
        self.process.send_signal(signal.SIGHUP)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode

    def status(self):
        try:
            with open(self.status_path) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def wan(self, name):
        return [wan for wan in self.status()["wans"] if wan["name"] == name][0]

    def log(self):
        with open(self.log_path) as handle:
            return handle.read().splitlines()

    def wait_for(self, predicate, timeout, what="the condition"):
        """Poll the status file (every 20 ms) until ``predicate(status)``; return that status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("the agent exited (%s):\n%s" % (self.process.returncode, "\n".join(self.log())))
            current = self.status()
            if current is not None and predicate(current):
                return current
            time.sleep(0.02)
        raise AssertionError("no %s within %s s; status %s\nlog:\n%s"
                             % (what, timeout, json.dumps(self.status(), indent=1), "\n".join(self.log()[-30:])))

    def wait_state(self, name, state, timeout):
        """Wait for WAN ``name`` to be ``state``; return its status entry."""
        found = self.wait_for(lambda status: _state(status, name) == state, timeout, "%s %s" % (name, state))
        return [wan for wan in found["wans"] if wan["name"] == name][0]


def _state(status, name):
    return next((wan["state"] for wan in status["wans"] if wan["name"] == name), None)
