"""Does multi-WAN routing on the lab router do what the inventory says?  Real traffic decides.

    lab/checks.py [--prefix NAME] [--count 400] [--port-forward 9090] [--vars FILE]
                  [--only outbound|inbound]

Reads the WANs' weights and the policies from the lab's group_vars (what
`ansible-playbook -i lab/inventory.yml playbooks/site.yml` applied), sends real
connections through the lab and prints one line per check: what was sent, which
WAN it used (the source address inet saw), what was expected.  Exit status 1 when
a check fails.  Used by `make demo` (the report) and the role's Molecule verify.

How a flow's WAN is known: inet answers each connection with the source address
it saw, and masquerade gives every WAN its own source.  Inbound connections are
answered only when the reply leaves by the WAN it came in on: the other ISP drops
a packet whose source is not its customer's (lab/README.md).
"""

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

# Run as a script, this directory is sys.path[0]; the repository root makes `lab` the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab import containers, topology, traffic  # noqa: E402  (needs the path above)

GROUP_VARS = Path(__file__).with_name("group_vars") / "linux_routers.yml"
SERVICE_PORT = 8080             # inet, router and client serve "whoami" here
POLICY_PORT = 8443              # the port policy alt_https_via_wan1 selects
BALANCE_TOLERANCE = 10          # percentage points either side of the configured weight
# Each new connection picks a WAN by its hash, like a coin weighted 1:3: with 400 connections one
# standard deviation of the share is 2.2 points and ±10 is 4.6 of them (a false alarm about once in
# 250,000 checks); with 200 it was 3.3 deviations, once in a thousand, which a test suite that runs
# this check four times per pass would meet. The connections run concurrently: 400 cost ~0.5 s more.
BALANCE_COUNT = 400
POLICY_COUNT = 40               # connections per policy flow: a 1:3 split cannot fake "all on one WAN"
INBOUND_COUNT = 20


@dataclass(frozen=True)
class PolicyFlow:
    """Connections from `host` to inet's `service`:`port` that policy `policy` decides."""
    what: str
    host: str
    service: str
    port: int
    policy: str
    on_policy_wan: bool = True      # False: an excluded range, must NOT use the policy's WAN
    family: str = "ipv4"


# Each policy of lab/group_vars/linux_routers.yml, seen from the LAN and from the router itself.
POLICY_FLOWS = (
    PolicyFlow("client -> service TCP 8443", "client", "service", POLICY_PORT, "alt_https_via_wan1"),
    PolicyFlow("client -> cgnat TCP 8443 (excluded range)", "client", "cgnat", POLICY_PORT,
               "alt_https_via_wan1", on_policy_wan=False),
    PolicyFlow("client -> cgnat", "client", "cgnat", SERVICE_PORT, "cgnat_via_wan2"),
    PolicyFlow("client -> public2", "client", "public2", SERVICE_PORT, "public2_via_wan1"),
    PolicyFlow("client -> public2 IPv6", "client", "public2", SERVICE_PORT, "public2_via_wan1", family="ipv6"),
    PolicyFlow("router -> public2 (router's own)", "router", "public2", SERVICE_PORT, "public2_via_wan1"),
    PolicyFlow("router -> cgnat (router's own)", "router", "cgnat", SERVICE_PORT, "cgnat_via_wan2"),
)


@dataclass(frozen=True)
class Outcome:
    check: str
    observed: str
    expected: str
    ok: bool

    def line(self):
        return f"  {'ok  ' if self.ok else 'FAIL'}  {self.check:50} {self.observed:26} want {self.expected}"


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    lab = topology.load(args.prefix)
    inventory = load_vars(args.vars)
    try:
        outcomes = run_checks(lab, inventory, args)
    except containers.LabError as error:
        print(f"checks: {error}", file=sys.stderr)
        return 1
    failed = [outcome for outcome in outcomes if not outcome.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} checks passed")
    return 1 if failed else 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", help="container name prefix (default: from topology.yml)")
    parser.add_argument("--count", type=int, default=BALANCE_COUNT, help="outbound connections for the balance check")
    parser.add_argument("--port-forward", type=int, metavar="PORT",
                        help="also check a port-forward: router WAN2 PORT -> client %d" % SERVICE_PORT)
    parser.add_argument("--vars", type=Path, default=GROUP_VARS, help="the role's variables (group_vars file)")
    parser.add_argument("--only", choices=("outbound", "inbound"),
                        help="outbound: balance and policies; inbound: connections from inet to the router")
    return parser.parse_args(argv)


def load_vars(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def run_checks(lab, inventory, args):
    print(describe_wans(lab, inventory["multiwan_wans"]))
    drops_before = {wan.isp: traffic.spoofed_drops(lab, wan.isp) for wan in lab.wans()}
    outcomes = []
    if args.only in (None, "outbound"):
        outcomes += outbound_checks(lab, inventory, args.count)
    if args.only in (None, "inbound"):
        outcomes += inbound_checks(lab, inventory, args.port_forward)
    drops = {isp: traffic.spoofed_drops(lab, isp) - before for isp, before in drops_before.items()}
    print("  ISP anti-spoofing drops during the checks: "
          + ", ".join(f"{isp} {number}" for isp, number in sorted(drops.items())))
    return outcomes


def describe_wans(lab, wans):
    weights = {wan["name"]: wan.get("weight", 1) for wan in wans}
    return "WANs: " + "; ".join(f"{wan.name} ({wan.address}, {wan.address6}) via {wan.isp}, weight "
                                f"{weights.get(wan.name)}" for wan in lab.wans())


def outbound_checks(lab, inventory, count):
    policies = {policy["name"]: policy for policy in inventory.get("multiwan_policies") or []}
    with traffic.running_server(lab, "inet", port=SERVICE_PORT, lifetime=120), \
            traffic.running_server(lab, "inet", port=POLICY_PORT, lifetime=120):
        print("outbound, balanced by weight (new connections; each keeps its WAN)")
        outcomes = [check_balance(lab, inventory["multiwan_wans"], count, family)
                    for family in families(inventory["multiwan_wans"])]
        print(f"policies ({POLICY_COUNT} connections each)")
        outcomes += [check_policy_flow(lab, flow, policies) for flow in POLICY_FLOWS
                     if flow.family in families(inventory["multiwan_wans"])]
    return outcomes


def inbound_checks(lab, inventory, port_forward):
    print("inbound: answered only if the reply leaves by the WAN it came in on")
    with traffic.running_server(lab, "router", port=SERVICE_PORT, lifetime=60):
        outcomes = [check_inbound(lab, wan, wan.address, SERVICE_PORT, "router") for wan in lab.wans()]
        if "ipv6" in families(inventory["multiwan_wans"]):
            wan2 = lab.wan("wan2")
            outcomes.append(check_inbound(lab, wan2, wan2.address6, SERVICE_PORT, "router"))
    if port_forward:
        wan2 = lab.wan("wan2")
        with traffic.running_server(lab, "client", port=SERVICE_PORT, lifetime=60):
            outcomes.append(check_inbound(lab, wan2, wan2.address, port_forward, "port-forward to client"))
    return outcomes


def families(wans):
    """The address families every WAN carries, IPv4 first (multiwan_wans[].family, default ipv4)."""
    carried = [{"ipv4": {"ipv4"}, "ipv6": {"ipv6"}, "both": {"ipv4", "ipv6"}}[wan.get("family", "ipv4")]
               for wan in wans]
    return sorted(set.intersection(*carried))


def check_balance(lab, wans, count, family):
    service = lab.service("service", family)
    connections = traffic.connect(lab, "client", service, SERVICE_PORT, count=count, rounds=3, interval=0.3)
    tally = traffic.tally_wans(lab, connections)
    total_weight = sum(int(wan.get("weight", 1)) for wan in wans)
    shares = {wan["name"]: 100 * tally[wan["name"]] / count for wan in wans}
    wanted = {wan["name"]: 100 * int(wan.get("weight", 1)) / total_weight for wan in wans}
    within = all(abs(shares[name] - wanted[name]) <= BALANCE_TOLERANCE for name in wanted)
    strays = {label: number for label, number in tally.items() if label not in wanted}
    outcome = Outcome(
        f"client -> service {service} x{count}",
        " ".join(f"{name} {shares[name]:.0f}%" for name in wanted) + _strays(strays),
        " ".join(f"{name} {wanted[name]:.0f}%" for name in wanted) + f" ±{BALANCE_TOLERANCE}, none changed WAN",
        within and not strays)
    print(outcome.line())
    return outcome


def check_policy_flow(lab, flow, policies):
    if flow.policy not in policies:
        raise containers.LabError(f"policy {flow.policy} is not in the role's variables")
    policy_wan = policies[flow.policy]["wan"]
    connections = traffic.connect(lab, flow.host, lab.service(flow.service, flow.family), flow.port,
                                  count=POLICY_COUNT, rounds=2, interval=0.2)
    tally = traffic.tally_wans(lab, connections)
    if flow.on_policy_wan:
        expected, ok = f"all {policy_wan} ({flow.policy})", set(tally) == {policy_wan}
    else:
        expected = f"none on {policy_wan}, all answered ({flow.policy} excludes it)"
        ok = policy_wan not in tally and all(label in {wan.name for wan in lab.wans()} for label in tally)
    outcome = Outcome(flow.what, _tally_text(tally), expected, ok)
    print(outcome.line())
    return outcome


def check_inbound(lab, wan, address, port, target):
    connections = traffic.connect(lab, "inet", address, port, count=INBOUND_COUNT, rounds=2, interval=0.2)
    answered = sum(1 for connection in connections if connection.source)
    outcome = Outcome(f"inet -> {wan.name} {_with_port(address, port)} ({target})",
                      f"{answered}/{INBOUND_COUNT} answered", f"all answered via {wan.name}",
                      answered == INBOUND_COUNT)
    print(outcome.line())
    return outcome


def _with_port(address, port):
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _tally_text(tally):
    return " ".join(f"{label} {number}" for label, number in sorted(tally.items()))


def _strays(strays):
    return (" + " + _tally_text(Counter(strays))) if strays else ""


if __name__ == "__main__":
    sys.exit(main())
