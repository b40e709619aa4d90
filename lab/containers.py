"""Bring the lab's containers up and down, and reboot the router: rootful podman, `--network none`, veth pairs.

Podman's own networking plugins are not used: every container starts without a
network, then each link of the topology becomes one veth pair created directly
inside the two containers' network namespaces (found by container PID), so no
veth ever exists in the host namespace and nothing is left behind when the
containers go.

A host with `systemd: true` (the router) runs systemd as PID 1. Its boot waits until the
lab has wired it (lab/router-rootfs.sh), so `systemctl is-system-running` says `running`
only once its links are up and addressed, and units ordered after network-online.target
see the WANs. A restart gives the container a new network namespace: `reboot` restarts it
and wires its links again.
"""

import json
import shutil
import time
from pathlib import Path

from . import faults, ssh
from .shell import AGENT_PATH, LabError, container_pid, in_netns, podman_exec, run

ANTISPOOF_TABLE = "lab_isp"             # nftables table (family inet) in each ISP container
ANTISPOOF_COUNTER = "spoofed"           # named counter of dropped customer packets
LABEL = "io.multiwan-pbr.lab"           # container label whose value is the lab prefix
LAB_DIR = Path(__file__).resolve().parent
AGENT_SOURCE = LAB_DIR / "agent.py"
APT_REPO = LAB_DIR / ".state" / "apt-repo"          # lab/build-apt-repo.sh
APT_REPO_MOUNT = "/srv/multiwan-lab-apt"            # the router's only apt source (lab/router-rootfs.sh)
WIRED_FLAG = "/run/multiwan-lab/wired"              # lab/router-rootfs.sh: boot waits for it
SYSTEMD_ANNOTATION = "io.multiwan-pbr.lab.systemd"  # selects the OCI hook below
HOOKS_DIR = LAB_DIR / ".state" / "oci-hooks"
CGROUP_HOOK = LAB_DIR / "systemd_cgroup_hook.py"
BOOT_SECONDS = 60


def require_podman(topology):
    if shutil.which("podman") is None:
        raise LabError("podman is not installed: run lab/setup-host.sh as root")
    for image in sorted({topology.image_of(host) for host in topology.hosts}):
        if run(["podman", "image", "exists", image], check=False).returncode != 0:
            raise LabError(f"image {image} is missing: run lab/build-image.sh")
    if any(topology.host(host).get("systemd") for host in topology.hosts) and not (APT_REPO / "Packages").exists():
        raise LabError(f"the router's apt repository {APT_REPO} is missing: run lab/build-image.sh")


def up(topology):
    """(Re)create the whole lab: any containers of this prefix are removed first."""
    require_podman(topology)
    down(topology)
    write_hooks()
    create(topology)


def create(topology):
    """Start, wire and boot a lab whose containers do not exist yet (the checks and the hook are `up`'s).

    Labs of different prefixes may be created at once from threads (lab/fleet.py does)."""
    for host in topology.hosts:
        start_container(topology, host)
    pids = {host: container_pid(topology.container(host)) for host in topology.hosts}
    for first, second in topology.links().values():
        create_veth(first, pids[first.host], second, pids[second.host])
    for host in topology.hosts:
        configure_host(topology, host, pids[host])
    check_links(topology, pids)
    for host in systemd_hosts(topology):
        finish_boot(topology, host)
    ssh.enable(topology)


def reboot(topology, host="router"):
    """Restart `host`'s container - a real reboot of a systemd host - and wire its links again.

    The restarted container has a new network namespace: the veths of its links died with the
    old one (both ends) and are made again, and both ends configured as at `up`. Faults on
    those links are cleared first (a fault lives on the ISP end of a link that is about to go).
    Returns once the host has booted (`running`) and, for an ssh host, answers ssh again.
    """
    links = [link for link in topology.links().values() if host in (link[0].host, link[1].host)]
    for wan in topology.wans():
        if any(wan.isp in (first.host, second.host) for first, second in links):
            faults.clear(topology, wan.name)
    run(podman(["restart", "--time", "30", topology.container(host)]), timeout=90)
    pids = {name: container_pid(topology.container(name))
            for name in {host} | {end.host for link in links for end in link}}
    for first, second in links:
        # The old namespace is torn down asynchronously: its veths' far ends may linger a moment.
        for end in (first, second):
            if end.host != host:
                run(in_netns(pids[end.host], ["ip", "link", "delete", "dev", end.device]), check=False)
        create_veth(first, pids[first.host], second, pids[second.host])
    for name in pids:
        configure_host(topology, name, pids[name])
    check_links(topology, pids, only=links)
    if topology.host(host).get("systemd"):
        finish_boot(topology, host)
    if host in ssh.ssh_hosts(topology):
        ssh.wait_ready(topology, host)


# `podman rm` can fail while the kernel still holds a dying container's /dev/shm mount
# ("unlinkat .../userdata/shm: device or resource busy"); the container is already stopped
# and a second try a moment later succeeds.
REMOVE_ATTEMPTS = 5
REMOVE_RETRY_SECONDS = 1.0


def down(topology):
    """Remove every container of this lab (their namespaces take the veths with them)."""
    names = lab_containers(topology)
    if names:
        remove_containers(names)
    return names


def remove_containers(names):
    for attempt in range(1, REMOVE_ATTEMPTS + 1):
        completed = run(["podman", "rm", "--force", "--time", "0", *names], check=False)
        if completed.returncode == 0:
            return
        remaining = [name for name in names
                     if run(["podman", "container", "exists", name], check=False).returncode == 0]
        if not remaining:
            return
        if "resource busy" not in completed.stderr or attempt == REMOVE_ATTEMPTS:
            raise LabError(f"podman rm --force --time 0 {' '.join(remaining)} failed "
                           f"(rc={completed.returncode}, attempt {attempt}): {completed.stderr.strip()}")
        names = remaining
        time.sleep(REMOVE_RETRY_SECONDS)


def lab_containers(topology):
    """Names of existing containers of this lab: by label, plus any by name from an older run."""
    listed = run(["podman", "ps", "--all", "--format", "{{.Names}}",
                  "--filter", f"label={LABEL}={topology.prefix}"]).stdout.split()
    by_name = [topology.container(host) for host in topology.hosts
               if run(["podman", "container", "exists", topology.container(host)],
                      check=False).returncode == 0]
    return sorted(set(listed) | set(by_name))


def systemd_hosts(topology):
    return [host for host in topology.hosts if topology.host(host).get("systemd")]


def podman(argv):
    """A podman command line that finds the lab's OCI hook (every start of a systemd container needs it)."""
    return ["podman", "--hooks-dir", str(HOOKS_DIR), *argv]


def write_hooks():
    """The hook definition names this checkout's hook script, so it is written here, not kept in git."""
    HOOKS_DIR.mkdir(parents=True, exist_ok=True)
    definition = {"version": "1.0.0",
                  "hook": {"path": "/usr/bin/python3", "args": ["python3", str(CGROUP_HOOK)]},
                  "when": {"annotations": {f"^{SYSTEMD_ANNOTATION.replace('.', '[.]')}$": "^true$"}},
                  "stages": ["prestart"]}
    (HOOKS_DIR / "multiwan-lab-systemd.json").write_text(json.dumps(definition, indent=2) + "\n", encoding="utf-8")


def start_container(topology, host):
    spec = topology.host(host)
    base = topology.userns_base
    argv = ["run", "--detach", "--name", topology.container(host), "--hostname", host,
            "--label", f"{LABEL}={topology.prefix}",
            "--network", "none", "--cap-add", "NET_ADMIN,NET_RAW",
            # Own user namespace: container root is not host root, so even with a
            # writable /proc/sys it can change only its own (network-namespaced) sysctls.
            "--uidmap", f"0:{base}:65536", "--gidmap", f"0:{base}:65536"]
    if spec.get("writable_sysctls"):
        argv += ["--security-opt", "unmask=/proc/sys"]
    for key, value in (spec.get("sysctls") or {}).items():
        argv += ["--sysctl", f"{key}={value}"]
    if spec.get("systemd"):
        argv += ["--systemd", "always", "--annotation", f"{SYSTEMD_ANNOTATION}=true",
                 "--volume", f"{APT_REPO}:{APT_REPO_MOUNT}:ro"]
    run(podman(argv + [topology.image_of(host)]))
    run(["podman", "cp", str(AGENT_SOURCE), f"{topology.container(host)}:{AGENT_PATH}"])


def create_veth(first, first_pid, second, second_pid):
    # Both ends are born inside their target namespaces: no name can clash with
    # the host's links and a failed run leaves no veth on the host.
    run(["ip", "link", "add", first.device, "netns", first_pid, "type", "veth",
         "peer", "name", second.device, "netns", second_pid])


def configure_host(topology, host, pid):
    """Addresses, links, routes and the ISP filter; safe to run again (after a reboot of a neighbour)."""
    run(in_netns(pid, ["ip", "-batch", "-"]), stdin_text="\n".join(ip_commands(topology, host)) + "\n")
    antispoof = topology.host(host).get("antispoof")
    if antispoof:
        run(in_netns(pid, ["nft", "-f", "-"]), stdin_text=antispoof_ruleset(antispoof))


def ip_commands(topology, host):
    spec = topology.host(host)
    commands = ["link set lo up"]
    for interface in topology.interfaces(host):
        for family in ("ipv4", "ipv6"):
            address = getattr(interface, family)
            if address:
                # nodad: an IPv6 address is usable at once instead of after ~2 s of DAD.
                commands.append(f"address replace {address} dev {interface.device}"
                                + (" nodad" if family == "ipv6" else ""))
        commands.append(f"link set {interface.device} up")
    for service in (spec.get("services") or {}).values():
        for family, address in service.items():
            commands.append(f"address replace {address}/{32 if family == 'ipv4' else 128} dev lo")
    for route in spec.get("routes") or []:
        metric = f" metric {route['metric']}" if "metric" in route else ""
        commands.append(f"route replace {route['to']} via {route['via']}{metric}")
    return commands


def antispoof_ruleset(antispoof):
    """An ISP's ingress filter (BCP 38): customer packets must come from the customer subnet.

    Prerouting at priority raw drops them before conntrack or routing sees them, whether
    they are addressed to the ISP itself or to be forwarded.  Link-local and unspecified
    IPv6 sources stay allowed so that neighbour discovery works on the customer link, and a
    DHCP client's requests from 0.0.0.0 so that a customer without an address can get one.
    The table is replaced whole (add + delete first), so configuring again does not double it.
    """
    allowed4 = [prefix for prefix in antispoof["allowed_sources"] if ":" not in prefix]
    allowed6 = [prefix for prefix in antispoof["allowed_sources"] if ":" in prefix]
    allowed6 += ["fe80::/10", "::/128"]
    return "\n".join([
        f"add table inet {ANTISPOOF_TABLE}",
        f"delete table inet {ANTISPOOF_TABLE}",
        f"table inet {ANTISPOOF_TABLE} {{",
        f"  counter {ANTISPOOF_COUNTER} {{ }}",
        "  chain customer_ingress {",
        "    type filter hook prerouting priority raw; policy accept;",
        f"    iifname != \"{antispoof['device']}\" accept",
        f"    ip saddr {{ {', '.join(allowed4)} }} accept",
        "    ip saddr 0.0.0.0 udp dport 67 accept",
        f"    ip6 saddr {{ {', '.join(allowed6)} }} accept",
        f"    counter name {ANTISPOOF_COUNTER} drop",
        "  }",
        "}",
    ]) + "\n"


def check_links(topology, pids, attempts=3, only=None):
    """Ping across every link (or those in `only`) in both families; raise naming the first dead one."""
    for name, (first, second) in topology.links().items():
        if only is not None and (first, second) not in only:
            continue
        for family in ("ipv4", "ipv6"):
            target = second.address(family)
            if target and not _answers(pids[first.host], target, attempts):
                raise LabError(f"link {name}: {first.host}/{first.device} cannot reach "
                               f"{second.host}/{second.device} at {target}")


def _answers(pid, address, attempts):
    for attempt in range(attempts):
        if run(in_netns(pid, ["ping", "-c", "1", "-W", "1", address]), check=False).returncode == 0:
            return True
        time.sleep(0.2 * (attempt + 1))
    return False


def finish_boot(topology, host):
    """Tell the host's boot it is wired, then wait until systemd says `running`."""
    container = topology.container(host)
    podman_exec(container, ["sh", "-c", 'mkdir -p "${1%/*}" && touch "$1"', "mark", WIRED_FLAG])
    state = system_state(topology, host, wait=True)
    if state != "running":
        failed = podman_exec(container, ["systemctl", "--failed", "--no-legend", "--plain"], check=False).stdout
        raise LabError(f"{host}: systemd says {state or 'nothing'} after boot; failed units:\n{failed.strip()}")


def system_state(topology, host, wait=False):
    """`systemctl is-system-running` in the host (with wait: once boot has finished, at most BOOT_SECONDS)."""
    argv = ["systemctl", "is-system-running"] + (["--wait"] if wait else [])
    completed = podman_exec(topology.container(host), argv, check=False, timeout=BOOT_SECONDS)
    return completed.stdout.strip()


def status(topology):
    """{host: {"container", "state" (podman's or "absent"), "addresses" (ip -br), "systemd" (or None)}}."""
    report = {}
    for host in topology.hosts:
        name = topology.container(host)
        inspected = run(["podman", "inspect", "--format", "{{.State.Status}} {{.State.Pid}}", name],
                        check=False)
        state, _separator, pid = inspected.stdout.strip().partition(" ") if inspected.returncode == 0 else ("absent", "", "")
        addresses, systemd = "", None
        if state == "running":
            addresses = run(in_netns(pid, ["ip", "-brief", "address", "show"])).stdout
            if topology.host(host).get("systemd"):
                systemd = system_state(topology, host)
        report[host] = {"container": name, "state": state, "addresses": addresses, "systemd": systemd}
    return report
