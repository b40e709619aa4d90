"""Bring the lab's containers up and down: rootful podman, `--network none`, veth pairs.

Podman's own networking plugins are not used: every container starts without a
network, then each link of the topology becomes one veth pair created directly
inside the two containers' network namespaces (found by container PID), so no
veth ever exists in the host namespace and nothing is left behind when the
containers go.
"""

import shutil
import subprocess
import time
from pathlib import Path

ANTISPOOF_TABLE = "lab_isp"             # nftables table (family inet) in each ISP container
ANTISPOOF_COUNTER = "spoofed"           # named counter of dropped customer packets
LABEL = "io.multiwan-pbr.lab"           # container label whose value is the lab prefix
AGENT_SOURCE = Path(__file__).with_name("agent.py")
AGENT_PATH = "/usr/local/bin/multiwan-lab-agent"    # where lab/traffic.py finds it in a container


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


def require_podman(topology):
    if shutil.which("podman") is None:
        raise LabError("podman is not installed: run lab/setup-host.sh as root")
    if run(["podman", "image", "exists", topology.image], check=False).returncode != 0:
        raise LabError(f"image {topology.image} is missing: run lab/build-image.sh")


def up(topology):
    """(Re)create the whole lab: any containers of this prefix are removed first."""
    require_podman(topology)
    down(topology)
    for host in topology.hosts:
        start_container(topology, host)
    pids = {host: container_pid(topology, host) for host in topology.hosts}
    for first, second in topology.links().values():
        create_veth(first, pids[first.host], second, pids[second.host])
    for host in topology.hosts:
        configure_host(topology, host, pids[host])
    check_links(topology, pids)


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


def start_container(topology, host):
    spec = topology.host(host)
    base = topology.userns_base
    argv = ["podman", "run", "--detach", "--name", topology.container(host), "--hostname", host,
            "--label", f"{LABEL}={topology.prefix}",
            "--network", "none", "--cap-add", "NET_ADMIN,NET_RAW",
            # Own user namespace: container root is not host root, so even with a
            # writable /proc/sys it can change only its own (network-namespaced) sysctls.
            "--uidmap", f"0:{base}:65536", "--gidmap", f"0:{base}:65536"]
    if spec.get("writable_sysctls"):
        argv += ["--security-opt", "unmask=/proc/sys"]
    for key, value in (spec.get("sysctls") or {}).items():
        argv += ["--sysctl", f"{key}={value}"]
    run(argv + [topology.image])
    run(["podman", "cp", str(AGENT_SOURCE), f"{topology.container(host)}:{AGENT_PATH}"])


def container_pid(topology, host):
    pid = run(["podman", "inspect", "--format", "{{.State.Pid}}", topology.container(host)]).stdout.strip()
    if not pid or pid == "0":
        raise LabError(f"container {topology.container(host)} is not running")
    return pid


def create_veth(first, first_pid, second, second_pid):
    # Both ends are born inside their target namespaces: no name can clash with
    # the host's links and a failed run leaves no veth on the host.
    run(["ip", "link", "add", first.device, "netns", first_pid, "type", "veth",
         "peer", "name", second.device, "netns", second_pid])


def configure_host(topology, host, pid):
    run(in_netns(pid, ["ip", "-batch", "-"]), stdin_text="\n".join(ip_commands(topology, host)) + "\n")
    antispoof = topology.host(host).get("antispoof")
    if antispoof:
        run(in_netns(pid, ["nft", "-f", "-"]), stdin_text=antispoof_ruleset(antispoof))


def in_netns(pid, argv):
    """argv run by the host's tools inside a container's network namespace."""
    return ["nsenter", "--target", pid, "--net", "--", *argv]


def ip_commands(topology, host):
    spec = topology.host(host)
    commands = ["link set lo up"]
    for interface in topology.interfaces(host):
        for family in ("ipv4", "ipv6"):
            address = getattr(interface, family)
            if address:
                # nodad: an IPv6 address is usable at once instead of after ~2 s of DAD.
                commands.append(f"address add {address} dev {interface.device}"
                                + (" nodad" if family == "ipv6" else ""))
        commands.append(f"link set {interface.device} up")
    for service in (spec.get("services") or {}).values():
        for family, address in service.items():
            commands.append(f"address add {address}/{32 if family == 'ipv4' else 128} dev lo")
    for route in spec.get("routes") or []:
        metric = f" metric {route['metric']}" if "metric" in route else ""
        commands.append(f"route replace {route['to']} via {route['via']}{metric}")
    return commands


def antispoof_ruleset(antispoof):
    """An ISP's ingress filter (BCP 38): customer packets must come from the customer subnet.

    Prerouting at priority raw drops them before conntrack or routing sees them, whether
    they are addressed to the ISP itself or to be forwarded.  Link-local and unspecified
    IPv6 sources stay allowed so that neighbour discovery works on the customer link.
    """
    allowed4 = [prefix for prefix in antispoof["allowed_sources"] if ":" not in prefix]
    allowed6 = [prefix for prefix in antispoof["allowed_sources"] if ":" in prefix]
    allowed6 += ["fe80::/10", "::/128"]
    return "\n".join([
        f"table inet {ANTISPOOF_TABLE} {{",
        f"  counter {ANTISPOOF_COUNTER} {{ }}",
        "  chain customer_ingress {",
        "    type filter hook prerouting priority raw; policy accept;",
        f"    iifname != \"{antispoof['device']}\" accept",
        f"    ip saddr {{ {', '.join(allowed4)} }} accept",
        f"    ip6 saddr {{ {', '.join(allowed6)} }} accept",
        f"    counter name {ANTISPOOF_COUNTER} drop",
        "  }",
        "}",
    ]) + "\n"


def check_links(topology, pids, attempts=3):
    """Ping across every link in both families; raise naming the first link that is dead."""
    for name, (first, second) in topology.links().items():
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


def status(topology):
    """{host: {"container": name, "state": podman state or "absent", "addresses": ip -br output}}."""
    report = {}
    for host in topology.hosts:
        name = topology.container(host)
        inspected = run(["podman", "inspect", "--format", "{{.State.Status}} {{.State.Pid}}", name],
                        check=False)
        state, _separator, pid = inspected.stdout.strip().partition(" ") if inspected.returncode == 0 else ("absent", "", "")
        addresses = ""
        if state == "running":
            addresses = run(in_netns(pid, ["ip", "-brief", "address", "show"])).stdout
        report[host] = {"container": name, "state": state, "addresses": addresses}
    return report
