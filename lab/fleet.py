"""A fleet of light lab routers, for measuring one playbook run against many routers (bench part 8).

Each fleet router is the lab's router (same image, systemd, sshd, `admin` with sudo, the same devices and
addresses, so lab/group_vars applies as it is) with one light neighbour instead of four: `outside` holds the
far end of each of the router's links (the gateways of wan1 and wan2, the LAN client's address) and, on its
loopback, every address beyond them (the ISPs' core ends, inet and its services), so the gateways answer and
the failover agent's probes through each WAN are answered as in the full lab. Nothing routes between the
links: no traffic is measured here.

    fleet.up(base, 20)          containers <prefix>-r01-router, <prefix>-r01-outside, … <prefix>-r20-…
    fleet.routers(base)         {"r01": "<prefix>-r01-router", …}: the running ones
    fleet.down(base)            remove them all

Every router is a lab of its own (topology prefix `<prefix>-rNN`, lab/.state/<prefix>-rNN), created by
containers.create, several at once; lab/.state/<prefix>/known_hosts pins all their host keys, for the inventory
that `lab/lab.py --prefix P fleet inventory` prints.
"""

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import containers, ssh, topology
from .shell import LabError, run

ROUTER = "router"
OUTSIDE = "outside"
# Routers created at once: each creation is mostly waiting (podman, the boot, ssh); with 5, 20 routers are up
# in about 25 s on two cores.
WORKERS = 5
# systemd in a router holds about six inotify instances, all counted against host root's limit
INOTIFY_PER_ROUTER = 8
INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")


def router_topology(base, index):
    """The topology of fleet router `index` (1-based): the lab's router and its `outside` neighbour."""
    outside = {"purpose": "the far end of each of the router's links; everything beyond them on lo",
               "interfaces": {}}
    for device in base.host(ROUTER)["interfaces"]:
        peer = base.peer(ROUTER, device)
        outside["interfaces"][f"{peer.host}-{peer.device}"] = {
            key: value for key, value in (("link", peer.link), ("ipv4", peer.ipv4), ("ipv6", peer.ipv6)) if value}
    outside["services"] = _beyond(base)
    data = {"image": base.image, "prefix": base.prefix, "userns_base": base.userns_base,
            "hosts": {ROUTER: base.host(ROUTER), OUTSIDE: outside}, "wans": base.data["wans"]}
    return topology.Topology(data, f"{base.prefix}-r{index:02d}")


def _beyond(base):
    """{name: {family: address}}: the addresses of the lab that are not on one of the router's links."""
    router_links = {interface.link for interface in base.interfaces(ROUTER)}
    found = {}
    for interface in base.interfaces():
        if interface.host != ROUTER and interface.link not in router_links:
            found[f"{interface.host}-{interface.device}"] = {
                family: interface.address(family) for family in topology.FAMILIES if interface.address(family)}
    for host in base.hosts:
        for name, addresses in (base.host(host).get("services") or {}).items():
            found[f"{host}-{name}"] = dict(addresses)
    return found


def up(base, count, workers=WORKERS):
    """(Re)create a fleet of `count` routers; the topologies. Containers made before a failure stay (down)."""
    labs = [router_topology(base, index) for index in range(1, count + 1)]
    containers.require_podman(labs[0])
    _require_inotify(count)
    down(base)
    containers.write_hooks()
    ssh.ensure_client_key()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, count))) as pool:
        list(pool.map(containers.create, labs))     # list(): the first failure is raised here
    pinned = "".join(ssh.known_hosts(lab).read_text(encoding="ascii") for lab in labs)
    ssh.known_hosts(base).parent.mkdir(parents=True, exist_ok=True)
    ssh.known_hosts(base).write_text(pinned, encoding="ascii")
    return labs


def _require_inotify(count):
    limit = int(INOTIFY_LIMIT.read_text(encoding="ascii"))
    if limit < INOTIFY_PER_ROUTER * count + 128:
        raise LabError(f"fs.inotify.max_user_instances is {limit}: too low for {count} more systemd containers "
                       "beside the other labs (their boots would fail); run lab/setup-host.sh")


def down(base):
    """Remove every container of the fleet and its state under lab/.state; their names."""
    names = fleet_containers(base)
    if names:
        containers.remove_containers(names)
    for directory in ssh.STATE_DIR.glob(f"{base.prefix}-r[0-9]*"):
        if _pattern(base, "").fullmatch(directory.name):
            shutil.rmtree(directory, ignore_errors=True)
    return names


def routers(base):
    """{inventory name ("r01"): router container} of the fleet's running routers."""
    listed = run(["podman", "ps", "--format", "{{.Names}}", "--filter", f"name={_pattern(base, ROUTER).pattern}"])
    found = sorted(name for name in listed.stdout.split() if _pattern(base, ROUTER).fullmatch(name))
    return {_index_name(base, name): name for name in found}


def fleet_containers(base):
    """Every container of the fleet, running or not."""
    pattern = _pattern(base, f"({ROUTER}|{OUTSIDE})")
    listed = run(["podman", "ps", "--all", "--format", "{{.Names}}", "--filter", f"name={pattern.pattern}"])
    return sorted(name for name in listed.stdout.split() if pattern.fullmatch(name))


def _pattern(base, host):
    """`<prefix>-rNN` (host "") or `<prefix>-rNN-<host>`, anchored (podman's name filter is a regular expression)."""
    return re.compile(f"^{re.escape(base.prefix)}-r[0-9]+" + (f"-{host}" if host else "") + "$")


def _index_name(base, container):
    return container[len(base.prefix) + 1:].split("-", 1)[0]
