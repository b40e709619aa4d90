"""Start a oneshot systemd unit by hand inside a container, the way systemd would at boot.

    python run_unit.py <container> <unit file inside the container>

Reads the unit with `podman exec cat`, then runs its ExecStartPre= lines, then its ExecStart=
lines, each with `podman exec`, and prints each with its exit status. A line prefixed with "-"
may fail (systemd ignores its exit status); any other failure stops the start with exit status 1.
Containers have no systemd: this is how the Molecule scenario checks the unit the role wrote.
"""
import subprocess
import sys

STAGES = ("ExecStartPre", "ExecStart")       # systemd runs every ExecStartPre before any ExecStart


def exec_lines(unit_text, stage):
    for line in unit_text.splitlines():
        key, _separator, command = line.strip().partition("=")
        if key == stage:
            yield command


def main(container, unit_path):
    unit_text = subprocess.run(["podman", "exec", container, "cat", unit_path],
                               capture_output=True, text=True, check=True).stdout
    commands = [command for stage in STAGES for command in exec_lines(unit_text, stage)]
    if not commands:
        print(f"{unit_path}: no ExecStartPre= or ExecStart= lines")
        return 1
    for command in commands:
        may_fail = command.startswith("-")
        done = subprocess.run(["podman", "exec", container, *command.lstrip("-").split()],
                              capture_output=True, text=True, check=False)
        print(f"rc={done.returncode} {command} {done.stderr.strip()}".rstrip())
        if done.returncode != 0 and not may_fail:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
