"""The RouterOS module and role tests under every value of every simulator ``Behaviour`` switch.

Each switch stands for something no source settles (tests/routeros_sim/README.md, "Configurable, and why"),
so the collection must be right under each of its values, not only the simulator's default. Every value
runs, in a fresh pytest, under ``ROUTEROS_SIM_BEHAVIOUR=<switch>=<value>`` (every ``Simulator()`` built
without ``behaviour=`` reads it), the module and role tests whose outcome that switch could change
(``CONCERNS``): every test_ros_* suite under each of the 20-odd values takes about ten minutes, these
subsets about two. The loop in the simulator's README runs the whole suites under every value.

The session switches concern logging in: RouterOS 7 takes the plain login, so ``login_methods=challenge``
(a router older than 6.43) must fail clearly, before anything is read or written.
"""

import os
import subprocess
import sys

import pytest

from routeros_sim import Behaviour, Simulator
from routeros_sim.behaviours import settings
from routeros_sim.state import ENVIRONMENT_VARIABLE, switch_values
from support.modules import run_module

# A suite already running under one switch value (the README's loop over tests/integration/test_ros_*.py, which this
# file's name keeps out) does not start the matrix again inside it.
pytestmark = [pytest.mark.routeros, pytest.mark.skipif(
    bool(os.environ.get(ENVIRONMENT_VARIABLE)), reason="the matrix sets %s itself" % ENVIRONMENT_VARIABLE)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
T = "tests/integration/"
ROUTE = (T + "test_ros_route.py::test_merged_then_idempotent_check_mode_writes_nothing",
         T + "test_ros_route.py::test_replaced_overridden_deleted_gathered")
DISABLED_ROUTE = (T + "test_ros_route.py::test_a_disabled_route_stays_idempotent_and_is_restored_when_enabled",)
RULE_STATES = (T + "test_ros_routing_rule.py::test_replaced_overridden_deleted_gathered_leave_foreign_rules_alone",
               T + "test_ros_routing_rule.py::test_a_rule_naming_a_missing_table_fails_with_routeros_message_and_is_undone")
PLACEMENT = (T + "test_ros_routing_rule.py::test_placement_puts_the_block_in_config_order_and_never_moves_foreign_rules",)
TABLES = (T + "test_ros_routing_table.py::test_every_state_converges_and_spares_main_and_foreign_tables",
          T + "test_ros_routing_table.py::test_a_table_hand_made_rules_and_routes_use_is_refused_before_any_write",
          T + "test_ros_routing_table.py::test_tables_come_first_so_rules_and_routes_can_use_them")
TABLE_ROLLBACK = (T + "test_ros_rollback.py::test_a_trap_at_every_write_is_undone_exactly_or_reported"
                      "[ros_routing_table-arrival]",)
MANGLE = (T + "test_ros_mangle_exclusion.py::test_reorder_and_removal_keep_foreign_rules_in_place",
          T + "test_ros_mangle_audit.py::test_check_mode_reads_the_same")
NETWATCH = (T + "test_ros_netwatch.py",)
FAILOVER = (T + "test_ros_failover.py::test_a_target_goes_dark_destinations_fall_back_or_stay_strict_and_return",
            T + "test_ros_failover.py::test_the_audit_reports_the_strict_destination_while_its_wan_is_down")
ROLE_NETWATCH = (T + "test_ros_failover.py::test_netwatch_entries_follow_the_cell_target",)
ROUTE_ORDER = (T + "test_ros_failover.py::test_host_routes_are_written_before_the_defaults_that_resolve_through_them"
                   "[arrival]",)

# What each switch could change, and so the tests that run under each of its values.
CONCERNS = {
    "emit_empty": NETWATCH + TABLES[:1],                                  # prints with no rows
    "host_bits": ROUTE + RULE_STATES[:1],                                 # 10.1.2.3/8 in routes and rules
    "strip_gateway_main": ROUTE + FAILOVER[:1],                           # IP@main, target@wan
    "rule_tables_must_exist": RULE_STATES[:1] + TABLES[2:],              # tables still come first
    "table_removal": TABLES + TABLE_ROLLBACK,
    "proplist_keeps_id": PLACEMENT,
    "show_nextid": PLACEMENT + MANGLE[:1],                                # ordered menus print .nextid
    "mangle_prints_written_only": MANGLE,
    "execution_order": FAILOVER + ROUTE_ORDER + PLACEMENT + TABLES[2:],   # what the writer orders
    "builtin_rules": PLACEMENT + FAILOVER + MANGLE[1:],                   # placement skips built-in rules
    "disabled_route_print": DISABLED_ROUTE + ROUTE[1:],
    "fibless_route_print": FAILOVER,
    "gateway_resolution": FAILOVER + ROUTE[:1],
    "netwatch_print": NETWATCH + ROLE_NETWATCH,
}
SESSION = {"login_methods=plain": NETWATCH, "fatal_before_login=false": NETWATCH}


def run_under(setting, tests):
    environment = dict(os.environ, **{ENVIRONMENT_VARIABLE: setting})
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"] + list(tests),
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600, check=False)


def test_every_configuration_switch_names_the_tests_it_concerns():
    assert set(CONCERNS) == set(switch_values(include_session=False))


@pytest.mark.parametrize("setting", settings(*CONCERNS), ids=str)
def test_the_tests_a_switch_concerns_pass_under_each_of_its_values(setting):
    completed = run_under(setting, CONCERNS[setting.split("=")[0]])
    assert completed.returncode == 0, "under %s:\n%s" % (setting, completed.stdout[-6000:])
    assert " passed" in completed.stdout.splitlines()[-1] and "skipped" not in completed.stdout.splitlines()[-1]


@pytest.mark.parametrize("setting", sorted(SESSION))
def test_the_modules_log_in_under_the_session_switches_of_routeros_7(setting):
    completed = run_under(setting, SESSION[setting])
    assert completed.returncode == 0, "under %s:\n%s" % (setting, completed.stdout[-6000:])


def test_a_router_older_than_6_43_is_refused_clearly_before_anything_is_written():
    with Simulator(behaviour=Behaviour(login_methods=("challenge",))) as sim:
        result = run_module("ros_netwatch", dict(hostname="127.0.0.1", port=sim.port, config=[
            {"name": "probe", "host": "198.18.2.2"}]))
        assert result["failed"] and sim.write_count == 0
    assert "answered the plain login of RouterOS 6.43 and later with a challenge" in result["msg"]
