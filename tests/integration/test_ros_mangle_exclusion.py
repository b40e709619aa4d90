"""``ros_mangle_exclusion`` run for real (module file as a process) against the RouterOS API simulator."""

import pytest

from routeros_sim import Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

MANGLE = "/ip/firewall/mangle"
EXCLUSIONS = [{"name": "lan", "dst_address": "192.168.88.0/24"}, {"name": "wg1", "out_interface": "ether5"},
              {"name": "dns-udp", "protocol": "udp", "dst_port": "53"},
              {"name": "probe", "dst_address": "10.254.15.129/32"}]


@pytest.fixture
def sim():
    """Seed 000's two marking rules in chain=output after a forward-chain rule."""
    with Simulator() as simulator:
        simulator.state.menu("/routing/table").add({"name": "cell", "fib": ""})
        mangle = simulator.state.menu(MANGLE)
        mangle.add({"chain": "forward", "action": "change-mss", "new-mss": "1400", "protocol": "tcp",
                    "tcp-flags": "syn"})
        mangle.add({"chain": "output", "dst-address": "47.109.74.243", "action": "mark-connection",
                    "new-connection-mark": "cell-wan-mark"})
        mangle.add({"chain": "output", "connection-mark": "cell-wan-mark", "action": "mark-routing",
                    "new-routing-mark": "cell", "passthrough": "no"})
        simulator.reset_counters()
        yield simulator


def run(sim, check_mode=False, diff=False, **args):
    args.setdefault("hostname", "127.0.0.1")
    args.setdefault("port", sim.port)
    return run_module("ros_mangle_exclusion", args, check_mode=check_mode, diff=diff)


def order(sim):
    return [row.get("comment") or row[".id"] for row in sim.state.menu(MANGLE).rows()]


def test_check_mode_plans_and_writes_nothing(sim):
    result = run(sim, check_mode=True, diff=True, config=EXCLUSIONS, state="overridden")
    assert result["changed"] and sim.write_count == 0, result
    assert result["diff"]["after"].splitlines()[1] == (
        "/ip firewall mangle add chain=output action=return dst-address=192.168.88.0/24 comment=multiwan.pbr:lan")


def test_exclusions_land_before_the_marking_rules_then_nothing_to_do(sim):
    first = run(sim, config=EXCLUSIONS, state="overridden")
    assert first["changed"] and not first.get("failed") and not first.get("warnings"), first
    assert order(sim) == ["*1", "multiwan.pbr:lan", "multiwan.pbr:wg1", "multiwan.pbr:dns-udp",
                          "multiwan.pbr:probe", "*2", "*3"]
    assert sim.state.menu(MANGLE).rows()[4]["dst-address"] == "10.254.15.129"
    sim.reset_counters()
    second = run(sim, config=EXCLUSIONS, state="overridden")
    assert second["changed"] is False and sim.write_count == 0
    assert sim.print_counts[MANGLE] == 1


def test_reorder_and_removal_keep_foreign_rules_in_place(sim):
    run(sim, config=EXCLUSIONS, state="overridden")
    result = run(sim, config=[EXCLUSIONS[2], EXCLUSIONS[0]], state="overridden")
    assert result["changed"] and not result.get("warnings"), result
    assert order(sim) == ["*1", "multiwan.pbr:dns-udp", "multiwan.pbr:lan", "*2", "*3"]
    assert run(sim, state="deleted")["changed"]
    assert order(sim) == ["*1", "*2", "*3"]


def test_a_marking_rule_added_later_in_front_gets_the_block_moved_before_it(sim):
    run(sim, config=EXCLUSIONS[:2], state="overridden")
    mangle = sim.state.menu(MANGLE)
    mangle.add({"chain": "output", "action": "mark-connection", "new-connection-mark": "early",
                "place-before": mangle.rows()[1][".id"], "comment": "early mark"})
    result = run(sim, config=EXCLUSIONS[:2], state="overridden")
    assert result["changed"]
    assert order(sim) == ["*1", "multiwan.pbr:lan", "multiwan.pbr:wg1", "early mark", "*2", "*3"]


def test_a_missing_interface_fails_with_routeros_message_and_nothing_stays_half_done(sim):
    result = run(sim, config=[EXCLUSIONS[0], {"name": "wg9", "out_interface": "wg9"}], state="overridden")
    assert result["failed"] and "input does not match any value of" in result["msg"], result
    assert order(sim) == ["*1", "*2", "*3"] and result["rolled_back"]
