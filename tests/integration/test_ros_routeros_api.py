"""The RouterOS runner against the simulator: pipelining, TLS, connection failures."""

import math

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import converge_ops
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_routing_rule as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import WINDOW, RouterOsApi
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.commands import FLAG, Added, ApiCommand
from routeros_sim import Simulator
from routeros_sim.behaviours import every_value
from support.modules import run_module

pytestmark = pytest.mark.routeros

RULES = "/routing/rule"


def runner_for(sim, **params):
    params = dict(dict(hostname="127.0.0.1", port=sim.port, state="merged"), **params)
    return RouterOsApi(params, [RULES])


def test_a_thousand_rules_placed_at_the_top_cost_five_round_trips():
    """1,000 adds go out in windows of 256, each window's replies read before the next is sent: 4 round
    trips. The block then goes to the top in one ``move`` that names every added rule, so it waits for the
    last window's replies: the 5th round trip. Before the writer ordered dependent writes this was 8 (a
    move per rule, pipelined behind the adds) and correct only if RouterOS ran tagged commands in arrival order."""
    with Simulator() as sim:
        sim.state.menu(RULES).add({"dst-address": "10.8.0.0/16", "comment": "office VPN"})
        runner = runner_for(sim)
        params = dict(state="merged", placement={"position": "top"}, encoding="ASCII")
        wanted = [engine.normalise({"name": "r%d" % n, "dst_address": "10.%d.%d.0/24" % (n // 256, n % 256)},
                                   params, None) for n in range(1000)]
        current = engine.parse(runner.dump(), params, None)
        runner.round_trips = 0
        runner.apply(engine.render(converge_ops(engine.ENGINE, wanted, current, "merged", params), params))
        runner.close()
        assert runner.round_trips == math.ceil(1000 / WINDOW) + 1 == 5
        assert sim.write_count == 1001 and len(set(command.tag for command in sim.commands)) == 1002
        rows = [row for row in sim.state.menu(RULES).rows() if row.get("default") != "true"]     # built-in rules out
        assert [row.get("comment") for row in rows][:2] == ["multiwan.pbr:r0", "multiwan.pbr:r1"]
        assert rows[-1]["comment"] == "office VPN"


@every_value("execution_order")
def test_dependent_writes_come_out_right_whatever_order_routeros_runs_pipelined_commands_in(behaviour):
    """Issue 14, item 2: a route and rules naming a table added in the same run, a move of rules added
    in the run, a set of one of them, and the removal of another table. Sent as one pipelined stream,
    RouterOS could run the route before its table, the move before the adds (or with ids not known yet)
    and the removal before a write that is then refused. Each dependent write waits for its
    prerequisite's reply; independent ones share a round trip."""
    def add(menu, *attributes):
        return ApiCommand(menu, "add", None, attributes)

    rule_a, rule_b = Added(RULES, "multiwan.pbr:a"), Added(RULES, "multiwan.pbr:b")
    commands = [
        add("/routing/table", ("name", "wan3"), ("fib", FLAG), ("comment", "multiwan.pbr")),
        add("/ip/route", ("gateway", "192.0.2.1"), ("routing-table", "wan3"), ("comment", "multiwan.pbr:r")),
        add(RULES, ("dst-address", "192.0.2.0/24"), ("table", "wan3"), ("comment", rule_a.comment)),
        add(RULES, ("dst-address", "198.51.100.0/24"), ("table", "wan3"), ("comment", rule_b.comment)),
        ApiCommand(RULES, "move", (rule_a, rule_b), (("destination", "*1"),)),
        ApiCommand(RULES, "set", rule_b, (("disabled", "yes"),)),
    ]
    with Simulator(behaviour=behaviour) as sim:
        old_table = sim.state.menu("/routing/table").add({"name": "old", "comment": "multiwan.pbr"})
        assert sim.state.menu(RULES).add({"dst-address": "10.8.0.0/16", "comment": "office VPN"}) == "*1"
        runner = runner_for(sim)
        runner.apply(commands + [ApiCommand("/routing/table", "remove", old_table)])
        runner.close()
        rules = sim.state.menu(RULES).rows()
        assert [(row.get("comment"), row["table"], row["disabled"]) for row in rules] == [
            ("multiwan.pbr:a", "wan3", "false"), ("multiwan.pbr:b", "wan3", "true"), ("office VPN", "main", "false")]
        assert [row["name"] for row in sim.state.menu("/routing/table").rows()] == ["main", "wan3"]
        route = next(row for row in sim.state.menu("/ip/route").rows() if row.get("comment") == "multiwan.pbr:r")
        assert route["routing-table"] == "wan3"
        # the table add; the route and both rule adds; the move and the set; the table removal
        assert runner.round_trips == 4


def test_one_print_per_menu_per_read_all_in_one_round_trip():
    with Simulator() as sim:
        runner = RouterOsApi(dict(hostname="127.0.0.1", port=sim.port, state="gathered"),
                             [RULES, "/routing/table", "/ip/route"])
        dump = runner.dump()
        runner.close()
        assert sorted(dump) == ["/ip/route", RULES, "/routing/table"]
        assert sim.print_counts == {RULES: 1, "/routing/table": 1, "/ip/route": 1}
        assert runner.round_trips == 1 and [row["name"] for row in dump["/routing/table"]] == ["main"]


def test_a_trap_names_the_line_and_routeros_message():
    with Simulator() as sim:
        if not sim.state.behaviour.rule_tables_must_exist:
            pytest.skip("under rule_tables_must_exist=false RouterOS takes a rule naming a missing table")
        runner = runner_for(sim)
        with pytest.raises(ApplyFailed) as error:
            runner.apply([ApiCommand(RULES, "add", None, (("table", "nosuch"), ("comment", "multiwan.pbr:x"))),
                          ApiCommand(RULES, "add", None, (("table", "main"), ("comment", "multiwan.pbr:y")))])
        runner.close()
        assert error.value.command == "/routing rule add table=nosuch comment=multiwan.pbr:x"
        assert error.value.device_message == "input does not match any value of table"


def test_nothing_listening_is_a_clear_error():
    with Simulator() as sim:
        port = sim.port
    with pytest.raises(DeviceError) as error:
        RouterOsApi(dict(hostname="127.0.0.1", port=port, state="gathered"), [RULES]).dump()
    assert str(error.value).startswith("cannot talk to the RouterOS API at 127.0.0.1:%d: " % port)
    assert "refused" in str(error.value)


@pytest.fixture(scope="module")
def tls_sim():
    with Simulator(tls=True) as sim:
        yield sim


def gather(sim, **args):
    args = dict(dict(hostname="127.0.0.1", port=sim.port, state="gathered", tls=True), **args)
    return run_module("ros_routing_table", args)


def test_tls_with_the_routers_ca_works(tls_sim):
    result = gather(tls_sim, ca_path=tls_sim.certificate, validate_cert_hostname=True)
    assert result["gathered"] == [] and not result.get("failed"), result


def test_tls_without_the_ca_fails_on_verification(tls_sim):
    result = gather(tls_sim)
    assert result["failed"] and result["msg"].startswith("TLS with 127.0.0.1:%d failed: " % tls_sim.port)
    assert "certificate verify failed" in result["msg"]


def test_tls_checks_the_hostname_by_default():
    # issue 11, defect 11: a valid certificate for another host used to be accepted unless asked
    with Simulator(tls=True, host="127.0.0.2") as sim:       # its certificate names localhost, 127.0.0.1
        result = gather(sim, hostname="127.0.0.2", ca_path=sim.certificate)
        assert result["failed"] and "127.0.0.2" in result["msg"] and "mismatch" in result["msg"].lower()
        assert not gather(sim, hostname="127.0.0.2", ca_path=sim.certificate, validate_cert_hostname=False).get("failed")


def test_tls_without_validation_works(tls_sim):
    assert gather(tls_sim, validate_certs=False)["gathered"] == []


def test_plain_api_against_the_tls_port_is_a_clear_error(tls_sim):
    result = gather(tls_sim, tls=False, timeout=2)
    assert result["failed"] and "127.0.0.1:%d" % tls_sim.port in result["msg"]


def test_tls_against_a_router_without_a_certificate():
    with Simulator(tls=True, tls_anonymous=True) as sim:
        assert gather(sim, validate_certs=False)["gathered"] == []


@pytest.mark.parametrize("args, field", [
    ({"encoding": "no-such-codec"}, "encoding"),
    ({"password": "p\u00e4ss"}, "password"),
    ({"config": [{"name": "x", "dst_address": "not an address"}]}, "dst_address"),
])
def test_bad_values_fail_before_anything_reaches_the_router(args, field):
    """Issue 11, defect 17: on main a bad encoding was a traceback, a password ASCII cannot carry
    printed a character of it and blamed the port, and a bad config value came after login and a print."""
    with Simulator() as sim:
        module_args = dict(dict(hostname="127.0.0.1", port=sim.port, state="merged",
                                config=[{"name": "dns", "dst_address": "198.51.100.53"}]), **args)
        result = run_module("ros_routing_rule", module_args)
        assert result["failed"] and result["field"] == field, result
        assert sim.sentences_received == 0
        assert "port" not in result["msg"] and "\u00e4" not in result["msg"] and "xe4" not in result["msg"]
