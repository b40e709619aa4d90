"""The multiwan.pbr podman lab.

    lab/lab.py up                       (re)create client, router, isp1, isp2, inet and wire them
    lab/lab.py down                     remove them
    lab/lab.py status                   containers, addresses, the router's systemd state, faults
    lab/lab.py inventory [--lab-dir D]  print the Ansible inventory (lab/inventory.yml is this output)
    lab/lab.py report                   a short traffic report: which WAN client flows and inbound probes used
    lab/lab.py ssh [-- CMD…]            ssh to the router as its login user, as Ansible does
    lab/lab.py netns HOST -- CMD…       run a host tool (ip, nft, ss, ping…) in HOST's network namespace
    lab/lab.py reboot [HOST]            restart the router (a real systemd boot) and wire its links again
    lab/lab.py fault WAN KIND [VALUE]   break a WAN on its ISP's side (kinds below); `fault WAN clear`,
                                        `fault all clear`
    lab/lab.py flows [--seconds S] [--at T --fault WAN KIND | --at T --clear WAN]
                                        new client connections, 20 a second, tallied by WAN each second;
                                        a fault made (or cleared) at T s, and how long new flows took to move
    lab/lab.py fleet up --routers N     N light routers (the lab's router, one neighbour each: lab/fleet.py)
    lab/lab.py fleet inventory [--lab-dir D]   their inventory; `fleet down` removes them

Run as root after lab/setup-host.sh and lab/build-image.sh.  `--prefix` names a
second, independent lab (containers "<prefix>-<host>").
"""

import argparse
import os
import sys
import time
from pathlib import Path

# Run as a script, this directory is sys.path[0] and `lab` would be this file;
# the repository root first makes `lab` the package beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab import containers, faults, fleet, ssh, topology, traffic  # noqa: E402  (needs the path above)

INVENTORY_HEADER = """\
# Ansible inventory of the podman lab: `lab/lab.py inventory > lab/inventory.yml`.
# Container names come from lab/topology.yml; tests/integration/lab checks they agree.
# The router is reached as users reach theirs: ssh as a login user with a key, sudo for
# `become: true` (the plays ask for it), pipelining on. The containers have no network the host
# can route to: lab/ssh-proxy (the ProxyCommand) enters the router's network namespace and relays
# to its sshd on 127.0.0.1:22. `lab.py up` makes the key and pins the router's host key (lab/.state).
# The other hosts have no sshd: Ansible reaches them with the podman connection, as root, which
# makes it copy files with `podman cp` (that maps owners into the container's user namespace).
# ansible_python_interpreter is explicit: discovery finds a pyenv shim on these machines.
"""
CHECKOUT_LAB_DIR = "{{ inventory_dir }}"        # lab/inventory.yml sits in lab/


def command_up(lab, _args):
    started = time.monotonic()
    try:
        containers.up(lab)
    except containers.LabError as error:
        # Containers made so far stay for inspection; say how to get rid of them.
        raise containers.LabError(f"{error}\n(lab/lab.py down removes what was created)") from error
    print(f"lab {lab.prefix} up in {time.monotonic() - started:.1f}s: "
          + ", ".join(lab.container(host) for host in lab.hosts))
    print(f"ssh: lab/lab.py{_prefix_option(lab)} ssh   (or ssh -F {ssh.config_file(lab)} router)")


def command_down(lab, _args):
    started = time.monotonic()
    removed = containers.down(lab)
    print(f"lab {lab.prefix} down in {time.monotonic() - started:.1f}s"
          + (f": removed {', '.join(removed)}" if removed else ": nothing to remove"))


def command_status(lab, _args):
    """Print each container's state and addresses; exit 1 unless all are running."""
    reports = containers.status(lab)
    for host, report in reports.items():
        systemd = f" (systemd: {report['systemd']})" if report["systemd"] else ""
        print(f"{host:7} {report['container']:24} {report['state']}{systemd}")
        for line in report["addresses"].splitlines():
            print(f"          {line}")
    running = all(report["state"] == "running" for report in reports.values())
    if running:
        carried = [fault.describe() for fault in faults.active(lab).values() if fault]
        print("faults: " + ("; ".join(carried) if carried else "none"))
    return 0 if running else 1


def command_inventory(lab, args):
    print(render_inventory(lab, args.lab_dir), end="")


def render_inventory(lab, lab_dir=CHECKOUT_LAB_DIR):
    """The inventory; `lab_dir` is where lab/ is as Ansible will see it (default: beside the file)."""
    others = [host for host in lab.hosts if host not in ssh.ssh_hosts(lab)]
    lines = [INVENTORY_HEADER, "all:", "  vars:",
             "    ansible_python_interpreter: /usr/bin/python3",
             f'    multiwan_lab_dir: "{lab_dir}"',
             "  children:",
             *router_group_lines(lab.host("router")["login"], lab.prefix, {"router": lab.container("router")}),
             "    lab_peers:",
             "      vars:",
             "        ansible_connection: containers.podman.podman",
             "        ansible_user: root",
             "      hosts:"]
    for host in others:
        lines += [f"        {host}:", f"          ansible_host: {lab.container(host)}"]
    return "\n".join(lines) + "\n"


def router_group_lines(login, state_name, routers):
    """The `linux_routers` group: ssh as `login` through lab/ssh-proxy, host keys pinned in
    lab/.state/<state_name>/known_hosts; `routers` is {inventory name: container}."""
    lines = ["    linux_routers:",
             "      vars:",
             "        ansible_connection: ssh",
             f"        ansible_user: {login}",
             '        ansible_ssh_private_key_file: "{{ multiwan_lab_dir }}/.state/ssh/id_ed25519"',
             "        ansible_ssh_common_args: >-",
             '          -o ProxyCommand="{{ multiwan_lab_dir }}/ssh-proxy %h"',
             f'          -o UserKnownHostsFile="{{{{ multiwan_lab_dir }}}}/.state/{state_name}/known_hosts"',
             "          -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
             "        ansible_ssh_pipelining: true",
             "      hosts:"]
    for name, container in routers.items():
        lines += [f"        {name}:", f"          ansible_host: {container}"]
    return lines


FLEET_INVENTORY_HEADER = """\
# Ansible inventory of a fleet of lab routers (lab/fleet.py): `lab/lab.py --prefix P fleet inventory`.
# Each is reached as the lab's router is (ssh as its login user, sudo, pipelining on); their host keys
# are pinned in lab/.state/<prefix>/known_hosts. lab/group_vars applies to them as it is.
"""


def command_fleet(lab, args):
    started = time.monotonic()
    if args.action == "up":
        try:
            made = fleet.up(lab, args.routers, args.workers)
        except containers.LabError as error:
            raise containers.LabError(f"{error}\n(lab/lab.py{_prefix_option(lab)} fleet down removes what was "
                                      "created)") from error
        print(f"fleet {lab.prefix} up in {time.monotonic() - started:.1f}s: {len(made)} routers "
              f"({made[0].container('router')} … {made[-1].container('router')})")
    elif args.action == "down":
        removed = fleet.down(lab)
        print(f"fleet {lab.prefix} down in {time.monotonic() - started:.1f}s: removed {len(removed)} containers")
    else:
        print(render_fleet_inventory(lab, args.lab_dir), end="")


def render_fleet_inventory(lab, lab_dir=CHECKOUT_LAB_DIR):
    """The inventory of the fleet's running routers (group `linux_routers`, as in the lab's)."""
    routers = fleet.routers(lab)
    if not routers:
        raise containers.LabError(f"fleet {lab.prefix}: no router is running (lab/lab.py fleet up --routers N)")
    lines = [FLEET_INVENTORY_HEADER, "all:", "  vars:",
             "    ansible_python_interpreter: /usr/bin/python3",
             f'    multiwan_lab_dir: "{lab_dir}"',
             "  children:",
             *router_group_lines(lab.host("router")["login"], lab.prefix, routers)]
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


def command_ssh(lab, args):
    argv = ssh.argv(lab, args.host, _command(args.words))
    os.execvp(argv[0], argv)


def command_netns(lab, args):
    command = _command(args.words)
    if not command:
        raise containers.LabError("netns: give a command after --")
    argv = containers.in_netns(containers.container_pid(lab.container(args.host)), command)
    os.execvp(argv[0], argv)


def command_reboot(lab, args):
    started = time.monotonic()
    containers.reboot(lab, args.host)
    print(f"{lab.container(args.host)} rebooted and wired in {time.monotonic() - started:.1f}s")


def command_fault(lab, args):
    wans = [wan.name for wan in lab.wans()] if args.wan == "all" else [args.wan]
    if args.kind == "clear":
        for wan in wans:
            faults.clear(lab, wan)
        print(f"cleared: {', '.join(wans)}")
        return
    if args.wan == "all":
        raise containers.LabError("fault all: only `clear` applies to every WAN at once")
    print(f"injected {faults.inject(lab, args.wan, args.kind, args.value).describe()}")


def command_flows(lab, args):
    """New connections client -> inet every 50 ms, one line per second: which WAN they used (traffic.FlowWatch).

    With --fault WAN KIND [VALUE] the fault is made at --at seconds, and the last line says when every new
    connection had left WAN; with --clear WAN its fault is cleared then, and the last line says when new
    connections used WAN again (the watch stops 2 s after that, or at --seconds)."""
    if args.fault and not 2 <= len(args.fault) <= 3:
        raise containers.LabError("flows --fault: give WAN KIND [VALUE]")
    wan = args.fault[0] if args.fault else args.clear
    with traffic.running_server(lab, "inet", port=args.port, lifetime=args.seconds + 60), \
            traffic.FlowWatch(lab, "client", lab.service(), args.port) as watch:
        started = time.monotonic()
        event, back, printed = None, None, 0
        while time.monotonic() < started + args.seconds and (back is None or time.monotonic() < back + 2):
            if wan and event is None and time.monotonic() >= started + args.at:
                event = _flows_event(lab, args)
            if event is not None and args.clear and back is None:
                back = _first_on(watch, wan, event)
            printed = _print_seconds(watch, started, printed, event, time.monotonic() - 2 * watch.timeout - 0.2)
            time.sleep(0.1)
    _print_seconds(watch, started, printed, event, time.monotonic())
    if event is None:
        return 0
    moved, text = _flows_outcome(lab, watch, args, wan, event)
    print(text)
    return 0 if moved else 1


def _flows_event(lab, args):
    """Make or clear the fault; the moment it began (time.monotonic())."""
    if args.fault:
        value = float(args.fault[2]) if len(args.fault) == 3 else None
        return faults.inject(lab, args.fault[0], args.fault[1], value).started
    moment = time.monotonic()
    faults.clear(lab, args.clear)
    return moment


def _first_on(watch, wan, since):
    found = [attempt.at for attempt in watch.attempts(since) if attempt.wan == wan]
    return found[0] if found else None


def _print_seconds(watch, started, printed, event, horizon):
    """Print one line per whole second from `printed` on whose connections had all ended by `horizon`."""
    attempts = watch.attempts(started)
    second = printed
    while started + second + 1 <= horizon:
        opened = [attempt for attempt in attempts if second <= attempt.at - started < second + 1]
        if not opened:
            break
        tally = "  ".join(f"{label} {number:2d}" for label, number in sorted(traffic.Counter(
            attempt.wan for attempt in opened).items()))
        marker = f"   <- {event - started:.1f} s" if event is not None and 0 <= event - started - second < 1 else ""
        print(f"  {second:3d}-{second + 1:<3d}s  {tally}{marker}", flush=True)
        second += 1
    return second


def _flows_outcome(lab, watch, args, wan, event):
    """(whether new flows moved as expected, the line that says so)."""
    if args.fault:
        others = {other.name for other in lab.wans()} - {wan}
        moved = watch.settled_since(lambda attempt: attempt.wan in others, since=event, span=1.0)
        if moved is None:
            return False, f"new connections had not all left {wan} by the end"
        return True, f"every new connection left {wan} {moved - event:.2f} s after the fault (measured by the connections)"
    back = _first_on(watch, wan, event)
    if back is None:
        return False, f"no new connection used {wan} again within {args.seconds:g} s"
    return True, f"new connections used {wan} again {back - event:.2f} s after the fault was cleared"


def _command(words):
    return words[1:] if words[:1] == ["--"] else words


def _prefix_option(lab):
    return "" if lab.prefix == topology.load().prefix else f" --prefix {lab.prefix}"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="fault kinds:\n" + "\n".join(
                                         f"  {kind:13} {text}" for kind, text in faults.KINDS.items()))
    parser.add_argument("--prefix", help="container name prefix (default: from topology.yml)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status"):
        commands.add_parser(name)
    inventory = commands.add_parser("inventory")
    inventory.add_argument("--lab-dir", default=CHECKOUT_LAB_DIR,
                           help="lab/ as Ansible sees it (default: the inventory file's directory)")
    report = commands.add_parser("report")
    report.add_argument("--count", type=int, default=20)
    report.add_argument("--port", type=int, default=traffic.DEFAULT_PORT)
    shell = commands.add_parser("ssh")
    shell.add_argument("--host", default="router")
    shell.add_argument("words", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    netns = commands.add_parser("netns")
    netns.add_argument("host")
    netns.add_argument("words", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    flows = commands.add_parser("flows", help="new client connections tallied by WAN each second")
    flows.add_argument("--seconds", type=float, default=10.0)
    flows.add_argument("--port", type=int, default=traffic.DEFAULT_PORT)
    flows.add_argument("--at", type=float, default=2.0, help="when the fault is made or cleared (seconds)")
    event = flows.add_mutually_exclusive_group()
    event.add_argument("--fault", nargs="+", metavar="WAN KIND [VALUE]", help="make this fault at --at")
    event.add_argument("--clear", metavar="WAN", help="clear WAN's fault at --at")
    fleet_parser = commands.add_parser("fleet", help="light routers for many-router runs (lab/fleet.py)")
    fleet_parser.add_argument("action", choices=("up", "down", "inventory"))
    fleet_parser.add_argument("--routers", type=int, default=2, help="up: how many routers (default 2)")
    fleet_parser.add_argument("--workers", type=int, default=fleet.WORKERS, help="up: routers created at once")
    fleet_parser.add_argument("--lab-dir", default=CHECKOUT_LAB_DIR,
                              help="inventory: lab/ as Ansible sees it (default: the inventory file's directory)")
    reboot = commands.add_parser("reboot")
    reboot.add_argument("host", nargs="?", default="router")
    fault = commands.add_parser("fault", epilog="kinds: " + ", ".join(faults.KINDS) + ", clear")
    fault.add_argument("wan", help="a WAN name, or `all` (with clear)")
    fault.add_argument("kind", choices=[*faults.KINDS, "clear"])
    fault.add_argument("value", nargs="?", type=float,
                       help="loss: percent; delay: milliseconds; flap: seconds per down/up cycle")
    return parser.parse_args(argv)


COMMANDS = {"up": command_up, "down": command_down, "status": command_status,
            "inventory": command_inventory, "report": command_report, "ssh": command_ssh,
            "netns": command_netns, "reboot": command_reboot, "fault": command_fault, "flows": command_flows,
            "fleet": command_fleet}


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
