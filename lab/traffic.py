"""Real traffic in the lab, driven from the host with `podman exec`.

Servers and clients are lab/agent.py running inside the containers, so every
packet stays inside the lab's namespaces.  Servers stop by themselves after
`lifetime` seconds; `stop_server` ends one earlier.

    from lab import topology, traffic
    lab = topology.load()
    with traffic.running_server(lab, "inet", port=8080):
        results = traffic.connect(lab, "client", lab.service(), 8080, count=200, rounds=3)
    traffic.tally_wans(lab, results)        # Counter({"wan1": 131, "wan2": 69})

How long new connections take to leave a failed WAN, measured by the connections themselves:

    with traffic.running_server(lab, "inet", port=8080), \
            traffic.FlowWatch(lab, "client", lab.service(), 8080) as watch:   # a new connection every 50 ms
        fault = faults.inject(lab, "wan2", "blackhole")
        moved = watch.wait_settled(lambda attempt: attempt.wan == "wan1", since=fault.started)
        print(moved - fault.started)        # seconds until every new connection used wan1
"""

import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .containers import ANTISPOOF_COUNTER, ANTISPOOF_TABLE
from .shell import AGENT_PATH, LabError, container_pid, in_netns, run, run_in_netns

DEFAULT_PORT = 8080
DEFAULT_LIFETIME = 300          # seconds a server lives unless stopped
AGENT_SOURCE = Path(__file__).with_name("agent.py")


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


@dataclass(frozen=True)
class Attempt:
    """One connection of a FlowWatch: when it was opened (time.monotonic()), the WAN it used, how long it took."""
    at: float
    wan: str                # a WAN name, "failed", or "other:<address>" (tally_wans' labels)
    seconds: float
    error: str = None


class FlowWatch:
    """New TCP connections from `host`, one every `every` seconds, each asked once which source it had.

    lab/agent.py `watch`, run by the host's python3 inside `host`'s network namespace (so its clock is
    this process's time.monotonic()). A connection that takes longer than `timeout` counts as failed: the
    default 0.9 s is below TCP's first SYN retransmission (1 s), so an attempt is on a WAN only when its
    first packet went there. Use it as a context manager; `attempts()` is what has ended so far.
    """

    def __init__(self, lab, host, destination, port=DEFAULT_PORT, every=0.05, timeout=0.9, lifetime=900):
        self.lab, self.timeout = lab, timeout
        self.argv = in_netns(container_pid(lab.container(host)), [
            sys.executable, str(AGENT_SOURCE),
            "watch", "--to", destination, "--port", str(port), "--every", f"{every:g}", "--timeout", f"{timeout:g}",
            "--lifetime", f"{lifetime:g}"])
        self._attempts, self._lock, self._process, self._reader = [], threading.Lock(), None, None

    def __enter__(self):
        self._process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Open no more connections; return once those in flight have ended."""
        if self._process is None:
            return
        self._process.stdin.close()         # the watch stops at the end of its stdin
        self._process.wait(timeout=2 * self.timeout + 10)
        self._reader.join()
        self._process = None

    def _read(self):
        for line in self._process.stdout:
            item = json.loads(line)
            label = _wan_label(self.lab, Connection((item["seen"],) if item["seen"] else (), item["error"]))
            with self._lock:
                self._attempts.append(Attempt(item["at"], label, item["seconds"], item["error"]))

    def attempts(self, since=None):
        """The connections that have ended, by the time they were opened (those opened before `since` left out)."""
        with self._lock:
            ended = sorted(self._attempts, key=lambda attempt: attempt.at)
        return [attempt for attempt in ended if since is None or attempt.at >= since]

    def settled_since(self, accept, since, span):
        """The opening time of the first connection of the last run of accepted ones opened after `since`,
        if that run covers at least `span` seconds of connections that have all ended by now; else None."""
        ended = self.attempts(since)
        if self._process is None:       # stopped: every connection has ended
            horizon = max([attempt.at for attempt in ended] or [since])
        else:                           # every connection opened before the horizon has ended
            horizon = time.monotonic() - 2 * self.timeout - 0.2
            ended = [attempt for attempt in ended if attempt.at <= horizon]
        run_start = None
        for attempt in reversed(ended):
            if not accept(attempt):
                break
            run_start = attempt.at
        if run_start is None or horizon - run_start < span:
            return None
        return run_start

    def wait_settled(self, accept, since, span=2.0, timeout=60.0):
        """Wait until every new connection is accepted (for `span` seconds); the opening time of the first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            settled = self.settled_since(accept, since, span)
            if settled is not None:
                return settled
            time.sleep(0.1)
        raise LabError(f"new connections were not all accepted for {span:g} s within {timeout:g} s; since then: "
                       f"{dict(Counter(attempt.wan for attempt in self.attempts(since)))}")

    def wait_first(self, accept, since, timeout=60.0):
        """Wait for a connection opened after `since` that is accepted; its opening time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [attempt.at for attempt in self.attempts(since) if accept(attempt)]
            if found:
                return found[0]
            time.sleep(0.1)
        raise LabError(f"no accepted new connection within {timeout:g} s; since then: "
                       f"{dict(Counter(attempt.wan for attempt in self.attempts(since)))}")
