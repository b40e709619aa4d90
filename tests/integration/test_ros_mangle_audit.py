"""``ros_mangle_audit`` run for real (module file as a process) against the RouterOS API simulator."""

import pytest

from routeros_sim import Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

MANGLE = "/ip/firewall/mangle"
AUDITED = ("/ip/firewall/mangle", "/routing/rule", "/routing/table", "/ip/route")


@pytest.fixture
def sim():
    """Seed 000 on a router: table cell with its default route, both marks in chain=output."""
    with Simulator() as simulator:
        state = simulator.state
        state.menu("/ip/address").add({"address": "10.254.15.130/30", "interface": "ether2"})
        state.menu("/routing/table").add({"name": "cell", "fib": ""})
        state.menu("/ip/route").add({"gateway": "10.254.15.129", "routing-table": "cell"})
        state.menu(MANGLE).add({"chain": "output", "dst-address": "47.109.74.243", "action": "mark-connection",
                                "new-connection-mark": "cell-wan-mark"})
        state.menu(MANGLE).add({"chain": "output", "connection-mark": "cell-wan-mark", "action": "mark-routing",
                                "new-routing-mark": "cell", "passthrough": "no"})
        simulator.reset_counters()
        yield simulator


def run(sim, check_mode=False, **args):
    args.setdefault("hostname", "127.0.0.1")
    args.setdefault("port", sim.port)
    return run_module("ros_mangle_audit", args, check_mode=check_mode)


def test_reports_the_pollution_with_one_print_per_menu_and_no_write(sim):
    result = run(sim)
    assert not result.get("failed") and result["changed"] is False, result
    assert [(f["severity"], f["code"], f["position"], f["id"]) for f in result["findings"]] == [
        ("error", "output-connmark-unguarded", 0, "*1"),
        ("error", "output-routemark-from-output-connmark", 1, "*2")]
    assert result["counts"] == {"error": 2, "warning": 0, "info": 0}
    assert result["summary"][0].startswith("2 errors, 0 warnings")
    assert dict(sim.print_counts) == dict((path, 1) for path in AUDITED)
    assert sim.write_count == 0


def test_fail_on_error_fails_and_still_returns_the_findings(sim):
    result = run(sim, fail_on_error=True)
    assert result["failed"]
    assert result["msg"].startswith("the audit found 2 errors: ERROR   /ip/firewall/mangle #0 (*1)")
    assert len(result["findings"]) == 2 and sim.write_count == 0


def test_exclusions_first_leave_warnings_only_and_fail_on_error_passes(sim):
    mangle = sim.state.menu(MANGLE)
    first = mangle.rows()[0][".id"]
    for exclusion in ({"dst-address": "192.168.1.0/24"}, {"out-interface": "ether5"}):
        mangle.add(dict(exclusion, chain="output", action="return", **{"place-before": first}))
    result = run(sim, fail_on_error=True)
    assert not result.get("failed"), result
    assert [(f["code"], f["position"]) for f in result["findings"]] == [
        ("output-connmark-exclusions-incomplete", 2), ("output-routemark-from-output-connmark-excluded", 3)]


def test_check_mode_reads_the_same(sim):
    assert run(sim, check_mode=True)["findings"] == run(sim)["findings"]
    assert sim.write_count == 0


def test_only_in_table_destination_using_plain_lookup_is_flagged(sim):
    rule_id = sim.state.menu("/routing/rule").add({"dst-address": "203.0.113.0/24", "table": "cell"})
    result = run(sim, only_in_table=[{"dst_address": "203.0.113.0/24", "table": "cell"}])
    assert ("only-in-table-falls-back-to-main", "/routing/rule", rule_id) in [
        (f["code"], f["path"], f["id"]) for f in result["findings"]]


def test_a_bad_destination_fails_before_the_router_is_read(sim):
    result = run(sim, only_in_table=[{"dst_address": "no-such-address"}])
    assert result["failed"] and result["field"] == "only_in_table[0].dst_address"
    assert sim.sentences_received == 0


def test_a_wrong_password_fails_with_routeros_message(sim):
    result = run(sim, password="wrong")
    assert result["failed"] and "invalid user name or password" in result["msg"]
