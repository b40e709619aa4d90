"""Real traffic in the lab, driven from the host with `podman exec`.

Servers and clients are lab/agent.py running inside the containers, so every
packet stays inside the lab's namespaces.  Servers stop by themselves after
`lifetime` seconds; `stop_server` ends one earlier.

    from lab import topology, traffic
    lab = topology.load()
    with traffic.running_server(lab, "inet", port=8080):
        results = traffic.connect(lab, "client", lab.service(), 8080, count=200, rounds=3)
    traffic.tally_wans(lab, results)        # Counter({"wan1": 131, "wan2": 69})
"""

import contextlib
import json
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

from .containers import ANTISPOOF_COUNTER, ANTISPOOF_TABLE
from .shell import AGENT_PATH, LabError, run, run_in_netns

DEFAULT_PORT = 8080
DEFAULT_LIFETIME = 300          # seconds a server lives unless stopped


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    proto: str
    pidfile: str


@dataclass(frozen=True)
class Connection:
    seen: tuple             # source address the server saw, once per round
    error: str = None

    @property
    def ok(self):
        return self.error is None

    @property
    def source(self):
        """The one source address the server saw, or None if it failed or changed mid-life."""
        return self.seen[0] if self.ok and len(set(self.seen)) == 1 else None


def podman_exec(lab, host, argv, timeout=60, check=True):
    completed = subprocess.run(["podman", "exec", lab.container(host), *argv],
                               capture_output=True, text=True, timeout=timeout, check=False)
    if check and completed.returncode != 0:
        raise LabError(f"{host}: {' '.join(argv)} failed (rc={completed.returncode}): "
                       f"{completed.stderr.strip()}")
    return completed


def ping(lab, host, destination, source=None, count=1, wait=1):
    """True when `destination` answers a ping from `host` (optionally from `source`)."""
    return _ping(lab, host, destination, source, count, wait).returncode == 0


@dataclass(frozen=True)
class PingSummary:
    sent: int
    received: int
    average_ms: float = None        # None when nothing came back

    @property
    def loss_percent(self):
        return 100 * (self.sent - self.received) / self.sent


def ping_summary(lab, host, destination, count=20, interval=0.05, wait=2, source=None):
    """Ping `count` times from `host`, `interval` seconds apart; what came back and how late."""
    output = _ping(lab, host, destination, source, count, wait, interval).stdout
    numbers = re.search(r"(\d+) packets transmitted, (\d+) received", output)
    if not numbers:
        raise LabError(f"{host}: ping {destination}: no summary in {output!r}")
    rtt = re.search(r"= [\d.]+/([\d.]+)/", output)
    return PingSummary(int(numbers[1]), int(numbers[2]), float(rtt[1]) if rtt else None)


def _ping(lab, host, destination, source, count, wait, interval=None):
    # The host's ping in the container's network namespace: the same packets, no podman exec.
    argv = ["ping", "-n", "-q", "-c", str(count), "-W", f"{wait:g}", destination]
    if interval is not None:
        argv[1:1] = ["-i", f"{interval:g}"]
    if source:
        argv[1:1] = ["-I", source]
    budget = count * ((interval or 1) + wait) + 10
    return run_in_netns(lab.container(host), argv, check=False, timeout=budget)


def start_server(lab, host, port=DEFAULT_PORT, proto="tcp", bind="::", lifetime=DEFAULT_LIFETIME):
    """Start a whoami server in `host` and return once it is listening."""
    pidfile = f"/run/multiwan-lab-agent-{proto}-{port}.pid"
    run(["podman", "exec", "--detach", lab.container(host), "python3", AGENT_PATH, "serve",
         "--proto", proto, "--port", str(port), "--bind", bind,
         "--lifetime", str(lifetime), "--pidfile", pidfile], timeout=30)
    server = Server(host, port, proto, pidfile)
    _wait_listening(lab, server)
    return server


def stop_server(lab, server):
    # The pidfile names exactly the process this helper started; nothing else is signalled.
    kill_by_pidfile = 'test ! -f "$1" || kill "$(cat "$1")"'
    podman_exec(lab, server.host, ["sh", "-c", kill_by_pidfile, "stop", server.pidfile], check=False)


@contextlib.contextmanager
def running_server(lab, host, **options):
    """`with running_server(lab, "inet", port=8080):` a server for the duration of the block."""
    running = start_server(lab, host, **options)
    try:
        yield running
    finally:
        stop_server(lab, running)


def connect(lab, host, destination, port=DEFAULT_PORT, count=1, rounds=1, interval=0.0,
            source=None, proto="tcp", timeout=3.0):
    """Open `count` connections from `host`, ask each `rounds` times who it is; list of Connection."""
    argv = ["python3", AGENT_PATH, "connect", "--proto", proto,
            "--to", destination, "--port", str(port), "--count", str(count),
            "--rounds", str(rounds), "--interval", str(interval), "--timeout", str(timeout)]
    if source:
        argv += ["--source", source]
    budget = rounds * (timeout + interval) * (1 + count // 256) + timeout + 30
    reply = json.loads(podman_exec(lab, host, argv, timeout=budget).stdout)
    return [Connection(tuple(item["seen"]), item["error"]) for item in reply["connections"]]


def tally_wans(lab, connections):
    """Counter of WAN names by the source each connection had at the server.

    Keys: a WAN name, "failed" (error), "changed" (source moved mid-connection),
    or "other:<address>" for a source that is no WAN address (e.g. not masqueraded).
    """
    tally = Counter()
    for connection in connections:
        tally[_wan_label(lab, connection)] += 1
    return tally


def _wan_label(lab, connection):
    if not connection.ok:
        return "failed"
    if connection.source is None:
        return "changed"
    return lab.wan_by_address(connection.source) or f"other:{connection.source}"


def reaches(lab, host, destination, port=DEFAULT_PORT, source=None, proto="tcp", timeout=3.0):
    """True when one whoami exchange from `host` to a server at destination:port succeeds."""
    return connect(lab, host, destination, port, source=source, proto=proto, timeout=timeout)[0].ok


def spoofed_drops(lab, isp):
    """Packets the ISP's ingress filter has dropped so far (its named nft counter)."""
    listing = json.loads(run_in_netns(lab.container(isp), ["nft", "-j", "list", "counter", "inet",
                                                           ANTISPOOF_TABLE, ANTISPOOF_COUNTER]).stdout)
    counter = next(item["counter"] for item in listing["nftables"] if "counter" in item)
    return counter["packets"]


def _wait_listening(lab, server, deadline_seconds=10):
    flag = "-Hltn" if server.proto == "tcp" else "-Hlun"
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        # The host's ss in the container's namespace: the router may have no iproute2 yet.
        listening = run_in_netns(lab.container(server.host), ["ss", flag, f"sport = :{server.port}"], check=False)
        if listening.stdout.strip():
            return
        time.sleep(0.1)
    raise LabError(f"{server.host}: {server.proto} server on port {server.port} did not start")
