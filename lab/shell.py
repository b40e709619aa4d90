"""How the lab runs things: argv lists (never a shell), the host's tools inside a container's
network namespace, and errors that say what failed.

The host's own `ip`, `nft`, `ss`, `ping` and `iptables` run inside a container's network
namespace (`nsenter --net`), so the lab wires, inspects and breaks the router without relying
on what the router has installed: the router image is bare on purpose (the role installs its tools).
"""

import subprocess

AGENT_PATH = "/usr/local/bin/multiwan-lab-agent"    # lab/agent.py inside every container (lab/containers.py)


class LabError(RuntimeError):
    """Something the operator must fix; the message says what."""


def run(argv, stdin_text=None, check=True, timeout=60):
    """Run argv (never a shell); on failure raise LabError with the command and its stderr."""
    completed = subprocess.run(argv, input=stdin_text, capture_output=True, text=True,
                               timeout=timeout, check=False)
    if check and completed.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed (rc={completed.returncode}): "
                       f"{completed.stderr.strip() or completed.stdout.strip()}")
    return completed


def container_pid(container):
    """The host PID of a running container's first process (its namespaces are that process's)."""
    completed = run(["podman", "container", "inspect", "--format", "{{.State.Pid}}", container], check=False)
    pid = completed.stdout.strip()
    if completed.returncode != 0 or not pid or pid == "0":
        raise LabError(f"container {container} is not running")
    return pid


def in_netns(pid, argv):
    """argv run by the host's tools inside a container's network namespace."""
    return ["nsenter", "--target", str(pid), "--net", "--", *argv]


def run_in_netns(container, argv, stdin_text=None, check=True, timeout=60):
    """Run a host tool inside `container`'s network namespace."""
    return run(in_netns(container_pid(container), argv), stdin_text=stdin_text, check=check, timeout=timeout)


def podman_exec(container, argv, stdin_text=None, check=True, timeout=60, detach=False):
    """Run argv inside the container (its own filesystem and tools)."""
    options = ["--detach"] if detach else (["--interactive"] if stdin_text is not None else [])
    return run(["podman", "exec", *options, container, *argv], stdin_text=stdin_text, check=check,
               timeout=timeout)
