"""The multiwan.pbr podman lab.

    lab/lab.py up         (re)create client, router, isp1, isp2, inet and wire them
    lab/lab.py down       remove them
    lab/lab.py status     containers and their addresses
    lab/lab.py inventory  print the Ansible inventory (lab/inventory.yml is this output)
    lab/lab.py report     a short traffic report: which WAN client flows and inbound probes used

Run as root after lab/setup-host.sh and lab/build-image.sh.  `--prefix` names a
second, independent lab (containers "<prefix>-<host>").
"""

import argparse
import sys
import time
from pathlib import Path

# Run as a script, this directory is sys.path[0] and `lab` would be this file;
# the repository root first makes `lab` the package beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab import containers, topology, traffic  # noqa: E402  (needs the path above)

INVENTORY_HEADER = """\
# Ansible inventory of the podman lab: `lab/lab.py inventory > lab/inventory.yml`.
# Container names come from lab/topology.yml; tests/integration/lab checks they agree.
# ansible_user root makes the podman connection copy files with `podman cp`, which maps
# their owner into the container's user namespace (a plain copy into the mounted
# rootfs leaves files the container's root may not chmod).
# ansible_python_interpreter is explicit: discovery finds a pyenv shim on these machines.
"""


def command_up(lab, _args):
    started = time.monotonic()
    try:
        containers.up(lab)
    except containers.LabError as error:
        # Containers made so far stay for inspection; say how to get rid of them.
        raise containers.LabError(f"{error}\n(lab/lab.py down removes what was created)") from error
    print(f"lab {lab.prefix} up in {time.monotonic() - started:.1f}s: "
          + ", ".join(lab.container(host) for host in lab.hosts))


def command_down(lab, _args):
    started = time.monotonic()
    removed = containers.down(lab)
    print(f"lab {lab.prefix} down in {time.monotonic() - started:.1f}s"
          + (f": removed {', '.join(removed)}" if removed else ": nothing to remove"))


def command_status(lab, _args):
    """Print each container's state and addresses; exit 1 unless all are running."""
    reports = containers.status(lab)
    for host, report in reports.items():
        print(f"{host:7} {report['container']:24} {report['state']}")
        for line in report["addresses"].splitlines():
            print(f"          {line}")
    return 0 if all(report["state"] == "running" for report in reports.values()) else 1


def command_inventory(lab, _args):
    print(render_inventory(lab), end="")


def render_inventory(lab):
    others = [host for host in lab.hosts if host != "router"]
    lines = [INVENTORY_HEADER, "all:", "  vars:",
             "    ansible_connection: containers.podman.podman",
             "    ansible_user: root",
             "    ansible_python_interpreter: /usr/bin/python3",
             "  children:",
             "    linux_routers:",
             "      hosts:",
             "        router:",
             f"          ansible_host: {lab.container('router')}",
             "    lab_peers:",
             "      hosts:"]
    for host in others:
        lines += [f"        {host}:", f"          ansible_host: {lab.container(host)}"]
    return "\n".join(lines) + "\n"


def command_report(lab, args):
    """Outbound: which WAN inet saw for each client connection; inbound: can inet reach each WAN."""
    service = lab.service()
    with traffic.running_server(lab, "inet", port=args.port, lifetime=60):
        outbound = traffic.connect(lab, "client", service, args.port, count=args.count, rounds=2)
    print(f"outbound: {args.count} TCP connections client -> inet {service}:{args.port}")
    for label, number in sorted(traffic.tally_wans(lab, outbound).items()):
        print(f"  {label:10} {number:4}  ({100 * number / args.count:.0f}%)")
    with traffic.running_server(lab, "router", port=args.port, lifetime=60):
        for wan in lab.wans():
            answered = traffic.reaches(lab, "inet", wan.address, args.port)
            print(f"inbound:  inet -> router {wan.name} {wan.address}:{args.port}: "
                  + ("answered" if answered else "no answer"))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", help="container name prefix (default: from topology.yml)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status", "inventory"):
        commands.add_parser(name)
    report = commands.add_parser("report")
    report.add_argument("--count", type=int, default=20)
    report.add_argument("--port", type=int, default=traffic.DEFAULT_PORT)
    return parser.parse_args(argv)


COMMANDS = {"up": command_up, "down": command_down, "status": command_status,
            "inventory": command_inventory, "report": command_report}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    lab = topology.load(args.prefix)
    try:
        return COMMANDS[args.command](lab, args) or 0
    except containers.LabError as error:
        print(f"lab: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
