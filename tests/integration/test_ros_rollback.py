"""Issue 11, defect 6: after a ``!trap`` the RouterOS modules put the router back exactly, or say they did not.

A plan that adds, sets (with unsets), moves and removes is refused by an injected trap at every
write position in turn, under every order RouterOS might run pipelined commands in
(``execution_order``). For each, either ``rolled_back`` is true and the router prints exactly what
it printed before the run (foreign entries with their ``.id``s and order, owned rules at their
positions: order is policy), or ``rolled_back`` is false and the message says the router was not
verified. On main before the fix the undo re-placed owned rules by ``placement`` and still
reported ``rolled_back: true``, and a table the plan removed last was removed even when an earlier
write was refused (re-created under a new ``.id``).
"""

import functools
import importlib

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import run_resource
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import reported_as_failure
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import runner_factory
from routeros_sim import Behaviour, Simulator

pytestmark = pytest.mark.routeros

RULES, TABLES, ROUTES = "/routing/rule", "/routing/table", "/ip/route"
ORDERS = [Behaviour(execution_order=order) for order in ("arrival", "reversed", "shuffled")]


def seed_rules(sim):
    """Owned rules a, b, c between hand-made ones: not where ``placement: top`` would put them."""
    for name in ("wan1", "wan2"):
        sim.state.menu(TABLES).add({"name": name, "fib": ""})
    rules = sim.state.menu(RULES)
    rules.add({"dst-address": "10.8.0.0/16", "table": "wan1", "comment": "office VPN"})
    rules.add({"dst-address": "192.0.2.1", "table": "wan1", "comment": "multiwan.pbr:a"})
    rules.add({"src-address": "192.168.88.0/24", "table": "main", "comment": "by hand"})
    rules.add({"dst-address": "192.0.2.2", "table": "wan1", "interface": "ether2", "comment": "multiwan.pbr:b"})
    rules.add({"dst-address": "192.0.2.3", "table": "wan1", "comment": "multiwan.pbr:c"})
    rules.add({"dst-address": "198.51.100.0/24", "table": "main"})


RULE_RUN = dict(state="overridden", placement={"position": "top"}, config=[
    {"name": "d", "dst_address": "203.0.113.4", "table": "wan2"},        # add
    {"name": "e", "dst_address": "203.0.113.5", "table": "wan2"},        # add
    {"name": "b", "dst_address": "192.0.2.2", "table": "wan2"},          # set table, unset interface
    {"name": "a", "dst_address": "192.0.2.1", "table": "wan1"},          # unchanged; c is removed
])                                                                       # then the block moves to the top


def seed_tables(sim):
    tables = sim.state.menu(TABLES)
    tables.add({"name": "vpn", "fib": "", "comment": "by hand"})
    for name in ("t1", "t2", "t3"):
        tables.add({"name": name, "fib": "", "comment": "multiwan.pbr"})
    sim.state.menu(RULES).add({"dst-address": "10.8.0.0/16", "table": "vpn", "comment": "office VPN"})


TABLE_RUN = dict(state="overridden", config=[
    {"name": "t1"},                          # unset fib
    {"name": "t2", "fib": True, "comment": "ISP 2"},                    # set comment
    {"name": "t4", "fib": True}, {"name": "t5", "fib": True},           # add; t3 is removed, last
])


def seed_routes(sim):
    sim.state.menu(TABLES).add({"name": "wan2", "fib": ""})
    sim.state.menu("/ip/address").add({"address": "192.0.2.2/24", "interface": "ether1"})
    routes = sim.state.menu(ROUTES)
    routes.add({"gateway": "192.0.2.1", "comment": "default by hand"})
    routes.add({"gateway": "192.0.2.1", "routing-table": "wan2", "check-gateway": "ping", "comment": "multiwan.pbr:r1"})
    routes.add({"gateway": "192.0.2.1", "routing-table": "wan2", "distance": "10", "comment": "multiwan.pbr:r2"})
    routes.add({"dst-address": "10.0.0.0/8", "blackhole": "", "comment": "multiwan.pbr:r3"})


ROUTE_RUN = dict(state="overridden", config=[
    {"name": "r1", "gateway": "192.0.2.9", "routing_table": "wan2"},                    # set gateway, unset check
    {"name": "r2", "gateway": "192.0.2.1", "routing_table": "wan2", "distance": 20},  # set distance
    {"name": "r4", "dst_address": "198.51.100.0/24", "gateway": "192.0.2.1"},          # add
    {"name": "r5", "dst_address": "203.0.113.0/24", "blackhole": True},                # add; r3 is removed
])

CASES = {"ros_routing_rule": (seed_rules, RULE_RUN), "ros_routing_table": (seed_tables, TABLE_RUN),
         "ros_route": (seed_routes, ROUTE_RUN)}


def is_owned(row):
    return (row.get("comment") or "").startswith("multiwan.pbr")


def snapshot(sim):
    """What the router prints, as far as "exactly as before" goes: every foreign entry with its
    ``.id``, in order; owned entries without theirs (one re-created gets a new one) - in order
    where order is policy (rules), as a sorted list elsewhere."""
    state = {}
    for path in (RULES, TABLES, ROUTES):
        rows = sim.state.menu(path).rows()
        shown = [row if not is_owned(row) else dict((k, v) for k, v in row.items() if k != ".id") for row in rows]
        if path != RULES:
            shown = [row for row in shown if not is_owned(row)] + sorted(
                (row for row in shown if is_owned(row)), key=lambda row: row["comment"])
        state[path] = shown
    return state


def owned_table_ids(sim):
    return dict((row["name"], row[".id"]) for row in sim.state.menu(TABLES).rows() if is_owned(row))


# What AnsibleModule would hand the shell besides the run's own arguments.
DEFAULTS = dict(username="admin", password="", tls=False, validate_certs=True, validate_cert_hostname=True,
                timeout=10, encoding="ASCII", running_config=None, placement=None)


class Failed(Exception):
    """``fail_json`` of a module: the shell's failure result, as the user would see it."""


class Shell(object):
    def fail_json(self, **result):
        raise Failed(dict(result, failed=True))


def run(sim, module, args):
    """The module's run in this process (the shell's engine, runner and error reporting, without
    a process per run: the sweep runs a hundred of them)."""
    engine = importlib.import_module("ansible_collections.multiwan.pbr.plugins.module_utils.routeros." + module)
    params = dict(DEFAULTS, hostname="127.0.0.1", port=sim.port, **args)
    runner = runner_factory(engine.ENGINE, engine.PATHS)(None, params)
    try:
        with reported_as_failure(Shell()):
            return run_resource(engine.ENGINE, runner, params)
    except Failed as failed:
        return failed.args[0]
    finally:
        runner.close()


@functools.lru_cache(maxsize=None)
def writes_of(module):
    """How many writes the run sends when nothing is refused."""
    seed, args = CASES[module]
    with Simulator(behaviour=Behaviour()) as sim:
        seed(sim)
        sim.reset_counters()
        result = run(sim, module, args)
        assert result["changed"] and not result.get("failed"), result
        assert not run(sim, module, args)["changed"]
        return sim.write_count


@pytest.mark.parametrize("behaviour", ORDERS, ids=lambda behaviour: behaviour.execution_order)
@pytest.mark.parametrize("module", sorted(CASES))
def test_a_trap_at_every_write_is_undone_exactly_or_reported(module, behaviour):
    seed, args = CASES[module]
    writes = writes_of(module)
    assert writes >= 5
    for position in range(1, writes + 1):
        with Simulator(behaviour=behaviour) as sim:
            seed(sim)
            before, table_ids = snapshot(sim), owned_table_ids(sim)
            sim.arm_trap(position)
            result = run(sim, module, args)
            where = "%s, trap at write %d of %d: %s" % (module, position, writes, result.get("msg"))
            assert result["failed"] and result["device_message"] == "failure: simulated by routeros_sim", where
            if result["rolled_back"]:
                assert snapshot(sim) == before, where
            else:
                assert "NOT verified" in result["msg"], where
            # every undo here can be exact, and is
            assert result["rolled_back"] is True, where
            if module == "ros_routing_table":
                # the removal of t3 comes after every other write succeeded: whichever write was refused,
                # t3 was never removed and re-created, and keeps its .id
                assert owned_table_ids(sim)["t3"] == table_ids["t3"], where
            # and the next run converges from wherever the failure left the router
            rerun = run(sim, module, args)
            assert rerun["changed"] and not rerun.get("failed"), where
