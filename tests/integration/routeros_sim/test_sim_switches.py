"""The unverified behaviours, each value seen through librouteros, and route activity in print."""

import librouteros
import pytest
from librouteros.exceptions import TrapError

from routeros_sim import Behaviour, Simulator
from routeros_sim.behaviours import every_value, simulator_fixture, variants
from routeros_sim.state import switch_values

pytestmark = pytest.mark.routeros


def connected(sim):
    return librouteros.connect("127.0.0.1", "admin", "", port=sim.port, timeout=5)


def rows(api, *path):
    return list(api.path(*path))


def trap_message(call, *args, **kwargs):
    with pytest.raises(TrapError) as raised:
        result = call(*args, **kwargs)
        if result is not None and not isinstance(result, str):
            tuple(result)
    return raised.value.message


# -- routing tables still in use ---------------------------------------------------------------


@every_value("table_removal")
def test_removing_a_table_in_use(behaviour):
    with Simulator(behaviour=behaviour) as sim:
        api = connected(sim)
        table = api.path("routing", "table").add(name="wan2", fib="")
        api.path("routing", "rule").add(table="wan2", comment="user")
        api.path("ip", "route").add(gateway="ether1", **{"routing-table": "wan2"})
        api.path("ip", "firewall", "mangle").add(chain="prerouting", action="mark-routing",
                                                 **{"new-routing-mark": "wan2"})
        if behaviour.table_removal == "refuse":
            assert trap_message(api.path("routing", "table").remove, table) == "failure: routing table is in use"
            return
        api.path("routing", "table").remove(table)
        (mangle,) = rows(api, "ip", "firewall", "mangle")
        assert mangle["new-routing-mark"] == table                   # mangle dangles either way
        if behaviour.table_removal == "cascade":
            assert rows(api, "routing", "rule") == [] and rows(api, "ip", "route") == []
        else:
            (rule,) = rows(api, "routing", "rule")
            (route,) = rows(api, "ip", "route")
            assert rule["table"] == table and rule["inactive"] is True
            assert route["routing-table"] == table and route["inactive"] is True


# -- built-in routing rules (7.22) -------------------------------------------------------------


@every_value("builtin_rules")
def test_builtin_rules_and_the_default_property(behaviour):
    with Simulator(behaviour=behaviour) as sim:
        api = connected(sim)
        rules = api.path("routing", "rule")
        user = rules.add(comment="user")
        printed = rows(api, "routing", "rule")
        if behaviour.builtin_rules == "absent":
            assert [rule[".id"] for rule in printed] == [user] and "default" not in printed[0]
            return
        user_row = next(rule for rule in printed if rule[".id"] == user)
        assert user_row["default"] is False
        if behaviour.builtin_rules == "flag-only":
            assert len(printed) == 1
            return
        assert [(rule.get("chain"), rule["default"]) for rule in printed] == [
            ("local", True), (None, False), ("main", True)]
        local, main = printed[0][".id"], printed[-1][".id"]
        assert printed[0]["table"] == "local" and printed[-1]["table"] == "main"
        for refused in (lambda: rules.remove(local), lambda: rules.update(**{".id": main, "comment": "x"}),
                        lambda: tuple(rules("move", numbers=main, destination=user))):
            assert trap_message(refused) == "failure: can not change dynamic"
        second = rules.add(comment="second")
        tuple(rules("move", numbers=second, destination=local))
        assert [rule.get("comment") for rule in rows(api, "routing", "rule")] == [None, "second", "user", None]
        assert sim.lookup("8.8.8.8").action == "unreachable"        # built-ins add no decision of their own


def test_no_default_property_before_7_22():
    with Simulator(version="7.21.4", behaviour=Behaviour(builtin_rules="present")) as sim:
        sim.state.menu("/routing/rule").add({"comment": "user"})
        (rule,) = sim.state.menu("/routing/rule").rows()
        assert "default" not in rule


# -- disabled routes ---------------------------------------------------------------------------


@every_value("disabled_route_print")
def test_disabled_route_print_shapes(behaviour):
    with Simulator(behaviour=behaviour) as sim:
        api = connected(sim)
        routes = api.path("ip", "route")
        via = routes.add(gateway="ether2", disabled="yes", comment="off", **{"routing-table": "main"})
        hole = routes.add(blackhole="", disabled="yes", **{"dst-address": "10.0.0.0/8"})
        by_id = {row[".id"]: row for row in rows(api, "ip", "route")}
        shape = behaviour.disabled_route_print or "reduced"
        if shape == "full":
            assert by_id[via] == {".id": via, "dst-address": "0.0.0.0/0", "gateway": "ether2", "immediate-gw": "",
                                  "distance": 1, "routing-table": "main", "scope": 30, "target-scope": 10,
                                  "disabled": True, "dynamic": False, "static": True, "inactive": False,
                                  "comment": "off"}
            assert by_id[hole]["blackhole"] == "" and by_id[hole]["routing-table"] == "main"
            return
        assert by_id[via] == {".id": via, "dst-address": "0.0.0.0/0", "gateway": "ether2", "disabled": True,
                              "inactive": False, "static": True, "comment": "off"}
        assert by_id[hole] == dict({".id": hole, "dst-address": "10.0.0.0/8", "disabled": True,
                                    "inactive": False, "static": True},
                                   **({"blackhole": ""} if shape == "reduced-blackhole" else {}))


# -- route activity as print shows it ----------------------------------------------------------


def test_a_recursive_default_goes_inactive_in_print_when_its_monitor_target_goes_dark():
    with Simulator() as sim:
        api = connected(sim)
        api.path("ip", "address").add(address="198.51.100.2/24", interface="ether2")
        api.path("routing", "table").add(name="wan2", fib="")
        routes = api.path("ip", "route")
        routes.add(gateway="198.51.100.1", scope=10, **{"dst-address": "198.18.2.2"})
        default = routes.add(gateway="198.18.2.2", **{"target-scope": 11, "check-gateway": "ping",
                                                      "routing-table": "wan2"})
        api.path("routing", "rule").add(table="wan2", action="lookup-only-in-table",
                                        **{"dst-address": "203.0.113.0/24"})

        def wan2_default():
            return next(row for row in routes if row[".id"] == default)

        assert wan2_default()["active"] is True and wan2_default()["immediate-gw"] == "198.51.100.1%ether2"
        assert list(routes.select(".id").where(librouteros.query.Key("active") == "yes"))   # as librouteros sends True
        sim.set_reachable("198.18.2.2", False)
        assert wan2_default()["inactive"] is True and "active" not in wan2_default()
        assert sim.lookup("203.0.113.9").action == "unreachable"
        sim.set_reachable("198.18.2.2")
        assert sim.lookup("203.0.113.9").gateway == "198.51.100.1%ether2"


# -- the parametrization helpers ---------------------------------------------------------------


def test_variants_cover_every_value_of_every_configuration_switch_once():
    configuration = switch_values(include_session=False)
    every = variants()
    assert every[0] == Behaviour()
    assert len(every) == 1 + sum(len(values) - 1 for values in configuration.values())
    assert "login_methods" not in configuration and "execution_order" in configuration


def test_the_environment_sets_the_default_behaviour(monkeypatch):
    monkeypatch.setenv("ROUTEROS_SIM_BEHAVIOUR", "execution_order=reversed; table_removal=cascade")
    with Simulator() as sim:
        assert sim.state.behaviour == Behaviour(execution_order="reversed", table_removal="cascade")
    monkeypatch.setenv("ROUTEROS_SIM_BEHAVIOUR", "table_removal=sometimes")
    with pytest.raises(ValueError, match="table_removal='sometimes': must be one of dangle, refuse, cascade"):
        Simulator()


def _with_wan2(sim):
    sim.state.menu("/routing/table").add({"name": "wan2", "fib": ""})


seeded = simulator_fixture(_with_wan2, "table_removal")


def test_simulator_fixture_runs_once_per_value_on_a_seeded_router(seeded):
    assert seeded.state.behaviour in variants("table_removal")
    assert seeded.state.menu("/routing/table").find_by_name("wan2") is not None and seeded.commands == []
