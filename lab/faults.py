"""Faults on the ISP side of a WAN, as a router meets them in the field.

    from lab import faults, topology
    lab = topology.load()
    faults.inject(lab, "wan2", "blackhole")          # returns Fault("wan2", "blackhole", started=<monotonic>)
    faults.active(lab)                               # {"wan1": None, "wan2": Fault(...)}
    faults.clear(lab, "wan2")                        # or faults.clear_all(lab)
    with faults.injected(lab, "wan2", "loss", 10):   # cleared on the way out
        ...

Every fault is made in the WAN's ISP container, on its end of the customer link (`cust0`), and
nothing of it in the router: what the router sees is only what a real router would see.
Each WAN carries at most one fault; injecting one clears the WAN's previous one. `clear`
undoes all of them, brings the link up and returns once the router reaches its gateway again.
The kinds (KINDS below says the same, `lab/lab.py fault --help` prints it):

    link-down     the ISP end of the link goes down: the router's WAN loses carrier
    gateway-dead  the gateway answers nothing, ARP and neighbour discovery included;
                  the link stays up (nft netdev ingress + egress, policy drop)
    blackhole     the gateway answers, but drops everything it would forward, both ways
                  (an upstream dead behind a live gateway)
    loss N        N % of the packets the router sends into the ISP are dropped at random
                  (nft `numgen random`; this kernel has no netem)
    delay MS      the packets the router sends into the ISP wait MS milliseconds (an NFQUEUE
                  rule, iptables' xt target through nft_compat, and lab/agent.py `delay`
                  holding each packet before accepting it): every round trip is MS longer
    flap S        the ISP end goes down and up, S seconds per cycle (half down, half up)
"""

import contextlib
import json
import time
from dataclasses import dataclass, field, replace

from .shell import AGENT_PATH, LabError, podman_exec, run_in_netns

KINDS = {
    "link-down": "the ISP end of the link goes down: the router's WAN loses carrier",
    "gateway-dead": "the gateway answers nothing (ARP and ND included); the link stays up",
    "blackhole": "the gateway answers but drops everything it would forward, both ways",
    "loss": "VALUE percent of the packets the router sends into the ISP are dropped at random",
    "delay": "the packets the router sends into the ISP wait VALUE milliseconds",
    "flap": "the ISP end goes down and up, VALUE seconds per cycle (half down, half up)",
}
UNITS = {"loss": "percent", "delay": "milliseconds", "flap": "seconds"}     # kinds that need a value
FAULT_TABLE = "lab_fault"           # nft tables (inet, netdev) in the ISP container
MARKER = "/run/multiwan-lab-fault.json"     # in the ISP container: the fault it carries
DELAY_QUEUE = 7                     # NFQUEUE number (queues are per network namespace)
AGENT_LIFETIME = 24 * 3600          # a forgotten delay or flap agent still ends by itself
PIDFILES = {"delay": "/run/multiwan-lab-fault-delay.pid", "flap": "/run/multiwan-lab-fault-flap.pid"}
RESTORED_SECONDS = 10


@dataclass(frozen=True)
class Fault:
    wan: str
    kind: str
    value: float = None
    # time.monotonic() just before the fault was made (inject's; None when read back by `active`): the
    # kernel's clock, which every namespace shares, so traffic measured in the lab can be set beside it
    started: float = field(default=None, compare=False)

    def describe(self):
        value = f" {self.value:g} {UNITS[self.kind]}" if self.kind in UNITS else ""
        return f"{self.wan}: {self.kind}{value}"


def inject(lab, wan, kind, value=None):
    """Clear `wan`'s fault, then give it this one; returns the Fault."""
    fault = checked(lab, wan, kind, value)
    clear(lab, wan)
    isp, device = isp_end(lab, wan)
    started = time.monotonic()
    APPLY[kind](lab, isp, device, fault.value)
    podman_exec(lab.container(isp), ["sh", "-c", 'cat > "$1"', "write", MARKER],
                stdin_text=json.dumps({"wan": wan, "kind": kind, "value": fault.value}))
    return replace(fault, started=started)


def checked(lab, wan, kind, value):
    """The Fault, or LabError naming the field and the value that cannot be one."""
    if wan not in [known.name for known in lab.wans()]:
        raise LabError(f"wan: {wan!r} is not a WAN of the lab ({', '.join(w.name for w in lab.wans())})")
    if kind not in KINDS:
        raise LabError(f"kind: {kind!r} is not a fault ({', '.join(KINDS)})")
    if kind not in UNITS:
        if value is not None:
            raise LabError(f"value: {kind} takes no value, got {value!r}")
        return Fault(wan, kind)
    limits = {"loss": (0, 100), "delay": (0, 60_000), "flap": (0.2, 3600)}[kind]
    if value is None or not limits[0] < float(value) <= limits[1]:
        raise LabError(f"value: {kind} needs {UNITS[kind]} in ({limits[0]}, {limits[1]}], got {value!r}")
    return Fault(wan, kind, float(value))


def clear(lab, wan):
    """Undo whatever fault `wan` carries (or none), link up; return once the router reaches its gateway."""
    isp, device = isp_end(lab, wan)
    container = lab.container(isp)
    # The agents first: a flap stopping half-way must not take the link down after it went up.
    stop_agents = 'marker=$1; shift; for f in "$@"; do test -f "$f" || continue; p=$(cat "$f"); ' \
                  'kill "$p" 2>/dev/null; while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done; rm -f "$marker"'
    podman_exec(container, ["sh", "-c", stop_agents, "stop", MARKER, *PIDFILES.values()])
    # add + delete: deleting a table that is not there is an error, adding one that is, is not.
    run_in_netns(container, ["nft", "-f", "-"], stdin_text="".join(
        f"add table {family} {table}\ndelete table {family} {table}\n"
        for family, table in (("inet", FAULT_TABLE), ("netdev", FAULT_TABLE), ("ip", "raw"), ("ip6", "raw"))))
    run_in_netns(container, ["ip", "link", "set", "dev", device, "up"])
    wait_restored(lab, wan)


def clear_all(lab):
    for wan in lab.wans():
        clear(lab, wan.name)


def active(lab):
    """{wan name: the Fault it carries, or None}, read from the ISP containers."""
    carried = {}
    for wan in lab.wans():
        marker = podman_exec(lab.container(wan.isp), ["cat", MARKER], check=False)
        carried[wan.name] = Fault(**json.loads(marker.stdout)) if marker.returncode == 0 else None
    return carried


@contextlib.contextmanager
def injected(lab, wan, kind, value=None):
    """`with injected(lab, "wan2", "delay", 200):` the fault for the duration of the block."""
    fault = inject(lab, wan, kind, value)
    try:
        yield fault
    finally:
        clear(lab, wan)


def isp_end(lab, wan):
    """(ISP host, its device) at the other end of the router's WAN link."""
    peer = lab.peer("router", lab.wan(wan).device)
    return peer.host, peer.device


def wait_restored(lab, wan):
    gateway = lab.wan(wan).gateway
    router = lab.container("router")
    deadline = time.monotonic() + RESTORED_SECONDS
    while run_in_netns(router, ["ping", "-n", "-q", "-c", "1", "-W", "1", gateway], check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise LabError(f"{wan}: the router does not reach its gateway {gateway} "
                           f"{RESTORED_SECONDS}s after the fault was cleared")
        time.sleep(0.1)


def _link_down(lab, isp, device, _value):
    run_in_netns(lab.container(isp), ["ip", "link", "set", "dev", device, "down"])


def _gateway_dead(lab, isp, device, _value):
    _nft(lab, isp, f"""table netdev {FAULT_TABLE} {{
  chain ingress {{ type filter hook ingress device "{device}" priority -500; policy drop; }}
  chain egress {{ type filter hook egress device "{device}" priority -500; policy drop; }}
}}""")


def _blackhole(lab, isp, device, _value):
    _nft(lab, isp, f"""table inet {FAULT_TABLE} {{
  chain forward {{
    type filter hook forward priority -500; policy accept;
    iifname "{device}" drop
    oifname "{device}" drop
  }}
}}""")


def _loss(lab, isp, device, percent):
    # Before the ISP's own filter (priority raw, -300) and before routing: to the ISP or beyond.
    _nft(lab, isp, f"""table inet {FAULT_TABLE} {{
  chain prerouting {{
    type filter hook prerouting priority -500; policy accept;
    iifname "{device}" numgen random mod 10000 < {round(percent * 100)} drop
  }}
}}""")


def _delay(lab, isp, device, milliseconds):
    container = lab.container(isp)
    podman_exec(container, ["python3", AGENT_PATH, "delay", "--queue", str(DELAY_QUEUE),
                            "--milliseconds", f"{milliseconds:g}", "--lifetime", str(AGENT_LIFETIME),
                            "--pidfile", PIDFILES["delay"]], detach=True)
    _wait_for_file(container, PIDFILES["delay"], "the delay agent did not bind its queue")
    # --queue-bypass: should the agent die, packets pass undelayed instead of being dropped.
    rules = (f"*raw\n:PREROUTING ACCEPT [0:0]\n"
             f"-A PREROUTING -i {device} -j NFQUEUE --queue-num {DELAY_QUEUE} --queue-bypass\nCOMMIT\n")
    for restore in ("iptables-nft-restore", "ip6tables-nft-restore"):
        run_in_netns(container, [restore], stdin_text=rules)


def _flap(lab, isp, device, seconds):
    container = lab.container(isp)
    podman_exec(container, ["python3", AGENT_PATH, "flap", "--device", device, "--period", f"{seconds:g}",
                            "--lifetime", str(AGENT_LIFETIME), "--pidfile", PIDFILES["flap"]], detach=True)
    _wait_for_file(container, PIDFILES["flap"], "the flap agent did not start")


def _nft(lab, isp, ruleset):
    run_in_netns(lab.container(isp), ["nft", "-f", "-"], stdin_text=ruleset + "\n")


def _wait_for_file(container, path, failure, seconds=10):
    deadline = time.monotonic() + seconds
    while podman_exec(container, ["test", "-f", path], check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise LabError(f"{container}: {failure} ({path} missing after {seconds}s)")
        time.sleep(0.1)


APPLY = {"link-down": _link_down, "gateway-dead": _gateway_dead, "blackhole": _blackhole,
         "loss": _loss, "delay": _delay, "flap": _flap}
