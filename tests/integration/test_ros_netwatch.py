"""``ros_netwatch`` run for real against the RouterOS API simulator."""

import pytest

from routeros_sim import Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

NETWATCH = "/tool/netwatch"
ENTRIES = [
    {"name": "fiber-probe", "host": "198.18.2.2", "type": "icmp", "interval": "30s", "timeout": "00:00:00.5",
     "down_script": ':log warning "fiber down"', "up_script": ":log info fiber-up"},
    {"name": "cell-probe", "host": "198.18.3.3", "comment": "cellular"},
]


@pytest.fixture
def sim():
    """A router with a hand-made netwatch entry (its print shape per ROUTEROS_SIM_BEHAVIOUR's netwatch_print)."""
    with Simulator() as simulator:
        simulator.state.menu(NETWATCH).add({"host": "192.0.2.1", "comment": "gateway watch by hand"})
        simulator.reset_counters()
        yield simulator


def run(sim, check_mode=False, diff=False, **args):
    return run_module("ros_netwatch", dict(dict(hostname="127.0.0.1", port=sim.port), **args),
                      check_mode=check_mode, diff=diff)


def by_comment(sim):
    return dict((row.get("comment"), row) for row in sim.state.menu(NETWATCH).rows())


def test_merged_then_idempotent_check_mode_writes_nothing(sim):
    checked = run(sim, check_mode=True, diff=True, config=ENTRIES)
    assert checked["changed"] and sim.write_count == 0
    assert '/tool netwatch add host=198.18.3.3 comment="multiwan.pbr:cell-probe cellular"\n' in checked["diff"]["after"]
    result = run(sim, config=ENTRIES)
    assert result["changed"] and not result.get("failed") and not result.get("warnings"), result
    assert result["commands"] == [
        '/tool netwatch add host=198.18.2.2 type=icmp interval=30s timeout=500ms up-script=":log info fiber-up" '
        'down-script=":log warning \\"fiber down\\"" comment=multiwan.pbr:fiber-probe',
        '/tool netwatch add host=198.18.3.3 comment="multiwan.pbr:cell-probe cellular"']
    sim.reset_counters()
    again = run(sim, config=ENTRIES)
    assert not again["changed"] and sim.write_count == 0 and sim.print_counts == {NETWATCH: 1}
    assert by_comment(sim)["gateway watch by hand"]["host"] == "192.0.2.1"


def test_status_follows_the_network_and_the_scripts_are_stored(sim):
    run(sim, config=ENTRIES)
    sim.set_reachable("198.18.2.2", False)
    fiber = by_comment(sim)["multiwan.pbr:fiber-probe"]
    assert fiber["status"] == "down" and fiber["down-script"] == ':log warning "fiber down"'
    sim.set_reachable("198.18.2.2", True)
    assert by_comment(sim)["multiwan.pbr:fiber-probe"]["status"] == "up"


def test_replaced_overridden_deleted_gathered_spare_the_hand_made_entry(sim):
    run(sim, config=ENTRIES)
    replaced = run(sim, state="replaced", config=[{"name": "fiber-probe", "host": "198.18.2.9", "interval": "1m"}])
    fiber_id = by_comment(sim)["multiwan.pbr:fiber-probe"][".id"]
    assert replaced["commands"] == [
        "/tool netwatch set {0} host=198.18.2.9 type=simple interval=1m timeout=3s; "
        "/tool netwatch unset {0} value-name=up-script; /tool netwatch unset {0} value-name=down-script".format(fiber_id)]
    overridden = run(sim, state="overridden", config=[{"name": "fiber-probe", "host": "198.18.2.9", "interval": "60"}])
    assert len(overridden["commands"]) == 1 and overridden["commands"][0].startswith("/tool netwatch remove")
    assert run(sim, state="gathered")["gathered"] == [
        {"name": "fiber-probe", "host": "198.18.2.9", "type": "simple", "interval": "1m", "timeout": "3s",
         "disabled": False}]
    assert run(sim, state="deleted", config=[])["changed"]
    assert run(sim, state="gathered")["gathered"] == [] and list(by_comment(sim)) == ["gateway watch by hand"]


def test_a_refused_value_fails_with_routeros_message_and_changes_nothing(sim):
    sim.arm_trap(2, message="failure: simulated by routeros_sim")
    result = run(sim, config=ENTRIES)
    assert result["failed"] and result["rolled_back"], result
    assert list(by_comment(sim)) == ["gateway watch by hand"]
