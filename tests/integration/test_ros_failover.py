"""Issue 14, end to end on the simulator's route model: what the role renders for monitor targets, applied by the
modules in the role's order; a target goes dark, the WAN's default goes inactive, destinations fall back or stay
strict as the inventory says, the target returns, they return.

The WANs' gateways are written ``IP%interface`` so the scenario holds whichever table RouterOS resolves a plain
gateway in (the simulator's ``gateway_resolution``); the defaults' ``target@wan`` gateways name their table.
"""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.layout import layout
from routeros_sim import Behaviour, Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

FIBER_GW, CELL_GW, DSL_GW = "192.0.2.1%ether1", "10.254.15.129%ether2", "203.0.113.1%ether3"
FIBER_TARGETS, CELL_TARGET = ("198.18.2.2", "198.18.2.3"), "198.18.3.3"
WANS = [
    {"name": "fiber", "gateway": "192.0.2.1%ether1", "monitor": list(FIBER_TARGETS)},
    {"name": "cell", "gateway": "10.254.15.129%ether2", "distance": 2, "monitor": [CELL_TARGET], "fallback": "wans",
     "netwatch": {"down_script": ":log warning cell-down", "up_script": ":log info cell-up"}},
]
OFFICE, LICENCE, VIDEO = "100.64.1.5", "100.64.2.9", "100.64.3.7"
DESTINATIONS = [
    {"name": "office", "dst_address": "100.64.1.0/24", "wan": "fiber"},                  # strict: false
    {"name": "licence", "dst_address": LICENCE, "wan": "fiber", "strict": True},
    {"name": "video", "dst_address": "100.64.3.0/24", "wan": "cell"},                    # cell falls back to fiber
]
# What the role's tasks run, in their order (roles/routeros_dst_routing/tasks/main.yml).
ROLE_TASKS = (("ros_routing_table", "tables", "merged"), ("ros_route", "routes", "overridden"),
              ("ros_routing_rule", "rules", "overridden"), ("ros_netwatch", "netwatch", "overridden"))


def seeded(behaviour=None):
    """Three uplinks; main's own default (by hand) leaves by the third, so a fallback to main shows."""
    simulator = Simulator(behaviour=behaviour)
    simulator.start()
    for address, interface in (("192.0.2.2/24", "ether1"), ("10.254.15.130/30", "ether2"),
                               ("203.0.113.2/24", "ether3")):
        simulator.state.menu("/ip/address").add({"address": address, "interface": interface})
    simulator.state.menu("/ip/route").add({"gateway": DSL_GW, "comment": "main default by hand"})
    simulator.reset_counters()
    return simulator


@pytest.fixture
def sim():
    simulator = seeded()
    yield simulator
    simulator.stop()


def apply_role(sim, wans=None, destinations=None):
    configs = layout(WANS if wans is None else wans, DESTINATIONS if destinations is None else destinations)
    for module, key, state in ROLE_TASKS:
        extra = {"placement": {"position": "top"}} if module == "ros_routing_rule" else {}
        result = run_module(module, dict(hostname="127.0.0.1", port=sim.port, config=configs[key], state=state,
                                         **extra))
        assert not result.get("failed") and not result.get("warnings"), result
    return configs


def where(sim, destination):
    """``(action, table, gateway)`` of the routing decision for the router's own packet to ``destination``;
    the immediate gateways of an ECMP route once each (two targets behind one gateway lead to it twice)."""
    decision = sim.lookup(destination)
    gateways = ",".join(sorted(set(decision.gateway.split(",")))) if decision.gateway else None
    return decision.action, decision.table, gateways


def route_row(sim, name):
    return next(row for row in sim.state.menu("/ip/route").rows() if row.get("comment") == "multiwan.pbr:" + name)


def test_a_target_goes_dark_destinations_fall_back_or_stay_strict_and_return(sim):
    apply_role(sim)
    up = {OFFICE: ("forward", "fiber", FIBER_GW), LICENCE: ("forward", "fiber", FIBER_GW),
          VIDEO: ("forward", "cell", CELL_GW)}
    assert dict((dst, where(sim, dst)) for dst in up) == up

    sim.set_reachable(FIBER_TARGETS[0], False)          # one of fiber's two targets: fiber still works
    assert dict((dst, where(sim, dst)) for dst in up) == up
    assert route_row(sim, "fiber-default")["active"] == "true"

    sim.set_reachable(FIBER_TARGETS[1], False)          # none answers: fiber's default goes inactive
    assert route_row(sim, "fiber-default")["inactive"] == "true"
    assert where(sim, OFFICE) == ("forward", "main", DSL_GW)            # strict: false falls back to main
    assert where(sim, LICENCE)[0] == "unreachable"                       # strict: true never leaves by another
    assert where(sim, VIDEO) == ("forward", "cell", CELL_GW)
    assert where(sim, FIBER_TARGETS[1]) == ("forward", "fiber", FIBER_GW)   # probes still leave by fiber

    sim.set_reachable(CELL_TARGET, False)               # cell dark too: its backup via fiber is dark as well
    assert where(sim, VIDEO) == ("forward", "main", DSL_GW)
    assert where(sim, CELL_TARGET) == ("forward", "cell", CELL_GW)

    for target in FIBER_TARGETS:                         # fiber returns: cell's table falls back to it
        sim.set_reachable(target, True)
    assert where(sim, VIDEO) == ("forward", "cell", FIBER_GW)
    assert route_row(sim, "cell-via-fiber")["active"] == "true"
    assert where(sim, OFFICE) == where(sim, LICENCE) == ("forward", "fiber", FIBER_GW)

    sim.set_reachable(CELL_TARGET, True)                # everything returns
    assert dict((dst, where(sim, dst)) for dst in up) == up


def test_the_audit_reports_the_strict_destination_while_its_wan_is_down(sim):
    configs = apply_role(sim)
    audit = run_module("ros_mangle_audit", dict(hostname="127.0.0.1", port=sim.port,
                                                only_in_table=configs["only_in_table"]))
    assert audit["findings"] == [], audit["summary"]
    for target in FIBER_TARGETS:
        sim.set_reachable(target, False)
    audit = run_module("ros_mangle_audit", dict(hostname="127.0.0.1", port=sim.port,
                                                only_in_table=configs["only_in_table"]))
    strict = [finding for finding in audit["findings"] if finding["code"] == "only-in-table-without-active-default"]
    assert sorted(finding["explanation"].split(",")[0] for finding in strict) == [
        "action=lookup-only-in-table table=fiber"] * 3       # the two target rules and licence
    assert not [finding for finding in audit["findings"] if finding["code"].startswith("monitor-target")]


def test_netwatch_entries_follow_the_cell_target(sim):
    apply_role(sim)
    (entry,) = sim.state.menu("/tool/netwatch").rows()
    assert (entry["host"], entry["status"], entry["comment"]) == (CELL_TARGET, "up",
                                                                  "multiwan.pbr:cell-monitor-198.18.3.3")
    sim.set_reachable(CELL_TARGET, False)
    assert sim.state.menu("/tool/netwatch").rows()[0]["status"] == "down"
    apply_role(sim, [dict(WANS[0]), dict(WANS[1], netwatch=None)])      # asked for no longer: removed
    assert sim.state.menu("/tool/netwatch").rows() == []


def test_a_second_run_changes_nothing(sim):
    apply_role(sim)
    sim.reset_counters()
    apply_role(sim)
    assert sim.write_count == 0


def command_order(sim):
    """The comments of the route writes, in the order RouterOS ran them (a set names its route by .id)."""
    comments = dict((row[".id"], row.get("comment")) for row in sim.state.menu("/ip/route").rows())
    return [command.attributes.get("comment") or comments.get(command.attributes.get(".id"))
            for command in sim.commands if command.path == "/ip/route" and command.verb in ("add", "set")]


@pytest.mark.parametrize("order", ["arrival", "reversed", "shuffled"])
def test_host_routes_are_written_before_the_defaults_that_resolve_through_them(order):
    """From the plain defaults a role without monitor made to the recursive pattern, whatever order RouterOS runs
    pipelined commands in; the defaults never read inactive for want of their host route."""
    simulator = seeded(Behaviour.from_environment(execution_order=order, execution_seed=7))
    try:
        plain = [dict(wan, monitor=None, netwatch=None, fallback=None) for wan in WANS]
        apply_role(simulator, plain, DESTINATIONS)
        simulator.reset_counters()
        apply_role(simulator)
        written = command_order(simulator)

        def before(first, then):
            return written.index("multiwan.pbr:" + first) < written.index("multiwan.pbr:" + then)
        for target in FIBER_TARGETS:      # cell's backup resolves through fiber's host routes too
            assert before("fiber-monitor-" + target, "fiber-default"), written
            assert before("fiber-monitor-" + target, "cell-via-fiber"), written
        assert before("cell-monitor-" + CELL_TARGET, "cell-default"), written
        assert all(route_row(simulator, name)["active"] == "true" for name in ("fiber-default", "cell-default"))
        assert route_row(simulator, "cell-via-fiber")["inactive"] == "false"     # usable, behind cell's own
    finally:
        simulator.stop()
