"""Menu semantics through librouteros: defaults, normalisation, references, order, traps."""

import operator

import pytest
from librouteros import connect
from librouteros.exceptions import TrapError
from librouteros.query import Key

from routeros_sim import Behaviour, Simulator

pytestmark = pytest.mark.routeros


def trap_message(call, *args, **kwargs):
    with pytest.raises(TrapError) as raised:
        result = call(*args, **kwargs)
        if result is not None and not isinstance(result, str):
            tuple(result)
    return raised.value.message


def by_id(path, item_id):
    (row,) = [row for row in path if row[".id"] == item_id]
    return row


# -- fresh router ------------------------------------------------------------------------------


def test_a_fresh_router_looks_like_a_fresh_chr(api):
    assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
    interfaces = list(api.path("interface"))
    assert [row["name"] for row in interfaces] == ["ether1", "ether2", "ether3", "ether4", "ether5", "lo"]
    assert interfaces[0]["type"] == "ether" and interfaces[-1]["type"] == "loopback"
    assert list(api.path("routing", "table")) == [
        {".id": "*0", "name": "main", "fib": "", "dynamic": True, "invalid": False}]
    for empty in (("routing", "rule"), ("ip", "route"), ("ip", "firewall", "mangle"),
                  ("ip", "firewall", "address-list"), ("ip", "address")):
        assert list(api.path(*empty)) == []


def test_identity_can_be_renamed(api):
    tuple(api.path("system", "identity")("set", name="edge-1"))
    assert list(api.path("system", "identity")) == [{"name": "edge-1"}]


# -- /routing/table ----------------------------------------------------------------------------


def test_tables_print_fib_as_an_empty_flag_and_omit_it_when_unset(api):
    tables = api.path("routing", "table")
    with_fib = tables.add(name="wan1", fib="")
    without_fib = tables.add(name="wan2", comment="backup")
    assert by_id(tables, with_fib) == {".id": with_fib, "name": "wan1", "fib": "", "dynamic": False,
                                       "invalid": False, "disabled": False}
    assert "fib" not in by_id(tables, without_fib) and by_id(tables, without_fib)["comment"] == "backup"
    tables.update(**{".id": with_fib, "!fib": ""})
    assert "fib" not in by_id(tables, with_fib)
    tables.update(**{".id": "wan2", "fib": "yes"})          # any value sets the flag; by name too
    assert by_id(tables, without_fib)["fib"] == ""


def test_main_cannot_be_changed_or_removed_and_names_are_unique(api):
    tables = api.path("routing", "table")
    assert trap_message(tables.remove, "*0") == "failure: can not change dynamic"
    tables.add(name="wan1")
    assert trap_message(tables.add, name="wan1") == "failure: already have routing table with such name"
    assert trap_message(tables.add, comment="no name") == "missing value(s) of argument(s) name"


# -- /routing/rule -----------------------------------------------------------------------------


@pytest.fixture
def wan_tables(api):
    tables = api.path("routing", "table")
    return {name: tables.add(name=name, fib="") for name in ("wan1", "wan2")}


def test_rules_print_defaults_and_keep_host_prefixes(api, wan_tables):
    rules = api.path("routing", "rule")
    rule_id = rules.add(**{"dst-address": "203.0.113.100", "src-address": "10.1.2.3/24"})
    assert by_id(rules, rule_id) == {".id": rule_id, "dst-address": "203.0.113.100/32",
                                     "src-address": "10.1.2.0/24", "action": "lookup",
                                     "table": "main", "disabled": False, "inactive": False}


def test_rule_fields_and_actions_follow_the_command_tree(api, wan_tables):
    rules = api.path("routing", "rule")
    rule_id = rules.add(**{"routing-mark": "wan1", "interface": "ether2", "action": "lookup-only-in-table",
                           "table": "wan2", "min-prefix": 0, "disabled": True, "comment": "123"})
    row = by_id(rules, rule_id)
    assert row["routing-mark"] == "wan1" and row["interface"] == "ether2"
    assert row["min-prefix"] == 0 and row["disabled"] is True
    assert row["comment"] == 123           # librouteros casts a numeric comment to int
    for action in ("drop", "unreachable", "mangle"):
        rules.update(**{".id": rule_id, "action": action})
    assert rules.add(chain="user", table="local")


def test_rules_refuse_missing_tables_bad_enums_and_unknown_arguments(api, wan_tables):
    rules = api.path("routing", "rule")
    assert trap_message(rules.add, table="nosuch") == "input does not match any value of table"
    assert trap_message(rules.add, **{"routing-mark": "x"}) == "input does not match any value of routing-mark"
    assert trap_message(rules.add, interface="eth9") == "input does not match any value of interface"
    assert trap_message(rules.add, action="foo") == "input does not match any value of action"
    assert trap_message(rules.add, gateway="1.2.3.4") == "unknown parameter gateway"
    assert trap_message(rules.add, **{"dst-address": "300.1.1.1"}) == "invalid value for argument dst-address"
    assert list(rules) == []


def test_rule_chain_and_mangle_action_exist_only_from_7_22():
    with Simulator(version="7.21.4") as sim:
        api = connect("127.0.0.1", "admin", "", port=sim.port)
        rules = api.path("routing", "rule")
        assert trap_message(rules.add, chain="user") == "unknown parameter chain"
        assert trap_message(rules.add, action="mangle") == "input does not match any value of action"
        api.close()


def test_missing_tables_can_be_allowed_for_rules():
    with Simulator(behaviour=Behaviour(rule_tables_must_exist=False)) as sim:
        rule_id = sim.state.menu("/routing/rule").add({"table": "later"})
        assert sim.state.menu("/routing/rule").rows()[0]["inactive"] == "true"
        sim.state.menu("/routing/table").add({"name": "later"})
        assert sim.state.menu("/routing/rule").rows()[0] == {
            ".id": rule_id, "action": "lookup", "table": "later", "disabled": "false", "inactive": "false"}


def test_set_unset_and_bang_unset(api, wan_tables):
    rules = api.path("routing", "rule")
    rule_id = rules.add(**{"dst-address": "192.0.2.0/24", "src-address": "198.51.100.0/24",
                           "table": "wan1", "comment": "c"})
    rules.update(**{".id": rule_id, "!dst-address": "", "comment": ""})
    tuple(rules("unset", numbers=rule_id, **{"value-name": "src-address"}))
    assert by_id(rules, rule_id) == {".id": rule_id, "action": "lookup", "table": "wan1",
                                     "disabled": False, "inactive": False}
    message = trap_message(rules, "unset", numbers=rule_id, **{"value-name": "table"})
    assert message == "input does not match any value of value-name"
    assert trap_message(rules.update, **{".id": "*99", "comment": "x"}) == "no such item (4)"


def test_move_places_rules_before_the_destination_keeping_ids(api):
    rules = api.path("routing", "rule")
    ids = [rules.add(comment=f"r{index}") for index in range(5)]

    def order():
        return [row[".id"] for row in rules]

    tuple(rules("move", numbers=ids[4], destination=ids[0]))
    assert order() == [ids[4], ids[0], ids[1], ids[2], ids[3]]
    tuple(rules("move", numbers=f"{ids[0]},{ids[2]}", destination=ids[4]))
    assert order() == [ids[0], ids[2], ids[4], ids[1], ids[3]]
    tuple(rules("move", numbers=ids[0]))                        # no destination: to the end
    assert order()[-1] == ids[0]
    tuple(rules("move", numbers=ids[2], destination="*77"))    # unknown destination: the end
    assert order()[-1] == ids[2]
    assert trap_message(rules, "move", numbers=ids[1], destination=ids[1]) == \
        "failure: can not move object before itself"
    assert trap_message(rules, "move", numbers="*77", destination=ids[1]) == "no such item (4)"


def test_place_before_and_copy_from_on_add(api):
    rules = api.path("routing", "rule")
    first = rules.add(comment="first", **{"dst-address": "192.0.2.0/24"})
    second = rules.add(**{"place-before": first, "copy-from": first})
    assert [row[".id"] for row in rules] == [second, first]
    assert by_id(rules, second)["dst-address"] == "192.0.2.0/24"
    assert trap_message(rules.update, **{".id": first, "place-before": second}) == \
        "unknown parameter place-before"


def test_remove_takes_a_comma_list_and_is_all_or_nothing(api):
    rules = api.path("routing", "rule")
    ids = [rules.add(comment=str(index)) for index in range(3)]
    assert trap_message(rules.remove, ids[0], "*99") == "no such item (4)"
    assert len(list(rules)) == 3
    rules.remove(ids[0], ids[2])
    assert [row[".id"] for row in rules] == [ids[1]]


def test_enable_disable_and_comment_commands(api):
    rules = api.path("routing", "rule")
    rule_id = rules.add()
    tuple(rules("disable", numbers=rule_id))
    assert by_id(rules, rule_id)["disabled"] is True
    tuple(rules("enable", numbers=rule_id))
    tuple(rules("comment", numbers=rule_id, comment="note"))
    assert by_id(rules, rule_id)["disabled"] is False and by_id(rules, rule_id)["comment"] == "note"


def test_removing_a_used_table_leaves_a_dangling_inactive_reference(api, wan_tables):
    rules = api.path("routing", "rule")
    rule_id = rules.add(table="wan1")
    api.path("routing", "table").remove(wan_tables["wan1"])
    row = by_id(rules, rule_id)
    assert row["table"] == wan_tables["wan1"] and row["inactive"] is True


def test_removing_a_used_table_can_be_refused():
    with Simulator(behaviour=Behaviour(table_removal="refuse")) as sim:
        tables, rules = sim.state.menu("/routing/table"), sim.state.menu("/routing/rule")
        table_id = tables.add({"name": "wan1"})
        rules.add({"table": "wan1"})
        with pytest.raises(Exception, match="routing table is in use"):
            tables.remove({".id": table_id})


def test_renaming_a_table_shows_through_references(api, wan_tables):
    rules = api.path("routing", "rule")
    rule_id = rules.add(table="wan1")
    api.path("routing", "table").update(**{".id": wan_tables["wan1"], "name": "isp-a"})
    assert by_id(rules, rule_id)["table"] == "isp-a"


# -- print: .proplist, queries, count-only ----------------------------------------------------------


def test_proplist_returns_exactly_the_listed_properties(api, wan_tables):
    rules = api.path("routing", "rule")
    rules.add(table="wan1", comment="a")
    assert list(rules.select(Key("table"), Key("comment"))) == [{"table": "wan1", "comment": "a"}]
    assert list(rules.select(Key(".id"), Key("nosuch"))) == [{".id": "*1"}]


def test_proplist_can_always_keep_the_id():
    with Simulator(behaviour=Behaviour(proplist_keeps_id=True)) as sim:
        api = connect("127.0.0.1", "admin", "", port=sim.port)
        assert list(api.path("routing", "table").select(Key("name"))) == [{".id": "*0", "name": "main"}]
        api.close()


def test_librouteros_queries_compare_typed_values(api, wan_tables):
    rules = api.path("routing", "rule")
    enabled = rules.add(table="wan1", **{"dst-address": "192.0.2.1"})
    disabled = rules.add(table="wan2", disabled=True)
    table, dst, state = Key("table"), Key("dst-address"), Key("disabled")
    # Key's == builds a query word rather than comparing; operator.eq says so (`state == False` reads as a bool test)
    assert [r[".id"] for r in rules.select(Key(".id")).where(operator.eq(state, False))] == [enabled]
    assert [r[".id"] for r in rules.select(Key(".id")).where(dst == "192.0.2.1")] == [enabled]
    assert [r[".id"] for r in rules.select(Key(".id")).where(table != "wan1")] == [disabled]
    assert [r[".id"] for r in rules.select(Key(".id")).where(table.In("wan1", "wan2"))] == [enabled, disabled]
    assert [r[".id"] for r in rules.select(Key(".id")).where(Key(".id") > "*1")] == [disabled]


def test_count_only_through_librouteros(api):
    assert list(api("/routing/table/print", **{"count-only": ""})) == [{"ret": 1}]


def test_getall_is_print(api):
    assert list(api("/routing/table/getall")) == list(api.path("routing", "table"))


# -- /ip/route ---------------------------------------------------------------------------------


def test_routes_print_defaults_and_normalised_destinations(api):
    api.path("ip", "address").add(address="192.0.2.1/24", interface="ether1")
    routes = api.path("ip", "route")
    route_id = routes.add(gateway="192.0.2.254", **{"dst-address": "8.8.8.8"})
    assert route_id.startswith("*8000")
    assert by_id(routes, route_id) == {
        ".id": route_id, "dst-address": "8.8.8.8/32", "gateway": "192.0.2.254",
        "immediate-gw": "192.0.2.254%ether1", "distance": 1, "routing-table": "main", "scope": 30,
        "target-scope": 10, "dynamic": False, "static": True, "inactive": False, "active": True}
    assert by_id(routes, routes.add(gateway="192.0.2.254", **{"dst-address": "10.9.8.7/8"}))[
        "dst-address"] == "10.0.0.0/8"


def test_host_bits_can_be_kept_or_refused():
    for policy, expected in (("keep", "10.9.8.7/8"), ("refuse", None)):
        with Simulator(behaviour=Behaviour(host_bits=policy)) as sim:
            routes = sim.state.menu("/ip/route")
            if expected is None:
                with pytest.raises(Exception, match="invalid value for argument dst-address"):
                    routes.add({"dst-address": "10.9.8.7/8", "gateway": "ether1"})
            else:
                routes.add({"dst-address": "10.9.8.7/8", "gateway": "ether1"})
                assert routes.rows()[0]["dst-address"] == expected


def test_connected_routes_appear_for_addresses(api):
    api.path("ip", "address").add(address="192.0.2.1/24", interface="ether1")
    (connected,) = [row for row in api.path("ip", "route") if row.get("connect")]
    assert connected["dst-address"] == "192.0.2.0/24" and connected["dynamic"] is True
    assert connected["local-address"] == "192.0.2.1%ether1"
    assert connected[".id"].startswith("*2018")


def test_gateway_forms(api, wan_tables):
    routes = api.path("ip", "route")
    forms = {"192.0.2.1%ether2": "192.0.2.1%ether2", "ether3": "ether3",
             "198.51.100.1@main": "198.51.100.1", "198.51.100.1@wan1": "198.51.100.1@wan1",
             "192.0.2.1,192.0.2.2": "192.0.2.1,192.0.2.2"}
    for written, printed in forms.items():
        route_id = routes.add(gateway=written, **{"routing-table": "wan2"})
        assert by_id(routes, route_id)["gateway"] == printed
    assert by_id(routes, routes.add(gateway="ether3"))["immediate-gw"] == "ether3"
    assert trap_message(routes.add, gateway="eth9") == "input does not match any value of gateway"


def test_unreachable_gateway_is_inactive(api):
    routes = api.path("ip", "route")
    row = by_id(routes, routes.add(gateway="203.0.113.1"))
    assert row["inactive"] is True and "active" not in row and row["immediate-gw"] == ""


def test_blackhole_and_disabled_routes_print_reduced_shapes(api):
    routes = api.path("ip", "route")
    blackhole = routes.add(blackhole=True, **{"dst-address": "10.0.0.0/8"})
    assert by_id(routes, blackhole) == {".id": blackhole, "dst-address": "10.0.0.0/8", "blackhole": "",
                                        "distance": 1, "routing-table": "main", "dynamic": False,
                                        "static": True, "inactive": False, "active": True}
    routes.update(**{".id": blackhole, "!blackhole": "", "gateway": "ether1"})
    assert "blackhole" not in by_id(routes, blackhole)
    disabled = routes.add(gateway="ether2", disabled="yes", comment="off")
    assert by_id(routes, disabled) == {".id": disabled, "dst-address": "0.0.0.0/0", "gateway": "ether2",
                                       "disabled": True, "inactive": False, "static": True,
                                       "comment": "off"}


def test_route_validation(api):
    routes = api.path("ip", "route")
    assert trap_message(routes.add, gateway="192.0.2.1", **{"routing-table": "nosuch"}) == \
        "input does not match any value of routing-table"
    assert trap_message(routes.add, gateway="192.0.2.1", distance=300) == \
        "value of distance out of range (1..255)"
    assert trap_message(routes.add, gateway="192.0.2.1", distance="x") == \
        "invalid value for argument distance"
    assert trap_message(routes.add, **{"check-gateway": "bogus"}) == \
        "input does not match any value of check-gateway"
    assert trap_message(routes.add, **{"routing-mark": "x"}) == "unknown parameter routing-mark"
    route_id = routes.add(gateway="ether1", distance=5, **{"check-gateway": "ping"})
    assert trap_message(routes.update, **{".id": route_id, "!routing-table": ""}) == \
        "input does not match any value of value-name"
    tuple(routes("unset", numbers=route_id, **{"value-name": "distance"}))
    assert by_id(routes, route_id)["distance"] == 1
    assert trap_message(routes, "move", numbers=route_id) == "no such command"


# -- /ip/firewall/mangle and address-list -------------------------------------------------------------


def test_mangle_prints_audit_fields_the_routeros_way(api, wan_tables):
    mangle = api.path("ip", "firewall", "mangle")
    rule_id = mangle.add(chain="prerouting", action="mark-routing", **{
        "new-routing-mark": "wan1", "dst-address": "203.0.113.7/32", "src-address": "!10.0.0.0/8",
        "connection-state": "new,established", "in-interface": "!ether1", "protocol": "tcp",
        "dst-port": "80,443", "connection-mark": "no-mark", "src-address-list": "lan",
        "passthrough": "no", "comment": "wan1 web"})
    row = by_id(mangle, rule_id)
    assert row == {".id": rule_id, "chain": "prerouting", "action": "mark-routing",
                   "src-address": "!10.0.0.0/8", "dst-address": "203.0.113.7",
                   "src-address-list": "lan", "in-interface": "!ether1", "protocol": "tcp",
                   "dst-port": "80,443", "connection-state": "established,new",
                   "connection-mark": "no-mark", "new-routing-mark": "wan1", "passthrough": False,
                   "bytes": 0, "packets": 0, "dynamic": False, "invalid": False, "comment": "wan1 web"}


def test_mangle_prints_disabled_log_only_once_written(api):
    mangle = api.path("ip", "firewall", "mangle")
    plain = mangle.add(chain="output", action="mark-connection", **{"new-connection-mark": "wan2"})
    written = mangle.add(chain="output", action="return", disabled="no", log="no")
    assert "disabled" not in by_id(mangle, plain) and by_id(mangle, plain)["passthrough"] is True
    assert by_id(mangle, written)["disabled"] is False and by_id(mangle, written)["log"] is False


def test_mangle_validation_and_order(api, wan_tables):
    mangle = api.path("ip", "firewall", "mangle")
    assert trap_message(mangle.add, chain="prerouting", action="mark-routing",
                        **{"new-routing-mark": "nosuch"}) == \
        "input does not match any value of new-routing-mark"
    assert trap_message(mangle.add, chain="forward", **{"out-interface": "eth9"}) == \
        "input does not match any value of interface"
    assert trap_message(mangle.add, chain="forward", **{"connection-state": "bogus"}) == \
        "input does not match any value of connection-state"
    assert trap_message(mangle.add, action="accept") == "missing value(s) of argument(s) chain"
    assert trap_message(mangle.add, chain="x", action="drop") == "input does not match any value of action"
    first = mangle.add(chain="output", action="return", **{"dst-address": "192.168.0.0/16"})
    second = mangle.add(chain="output", action="mark-connection", **{"new-connection-mark": "x"})
    tuple(mangle("move", numbers=second, destination=first))
    assert [row[".id"] for row in mangle] == [second, first]
    assert trap_message(mangle, "unset", numbers=first, **{"value-name": "disabled"}) == \
        "input does not match any value of value-name"
    tuple(mangle("unset", numbers=first, **{"value-name": "dst-address"}))
    assert "dst-address" not in by_id(mangle, first)


def test_address_list_entries(api):
    lists = api.path("ip", "firewall", "address-list")
    entry = lists.add(list="wan2-dst", address="10.10.10.10/32", timeout="24h")
    row = by_id(lists, entry)
    assert (row["address"], row["timeout"], row["dynamic"]) == ("10.10.10.10", "1d", False)
    assert "creation-time" in row
    assert trap_message(lists.add, list="wan2-dst", address="10.10.10.10") == \
        "failure: already have such entry"
    assert lists.add(list="wan2-dst", address="192.0.2.10-192.0.2.20")
    assert lists.add(list="wan2-dst", address="example.com")


# -- the Python API ---------------------------------------------------------------------------------


# -- /tool/netwatch ----------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [Behaviour(), Behaviour(netwatch_print="written")], ids=["all", "written"])
def test_netwatch_entries_probe_their_host_and_print_per_the_switch(behaviour):
    with Simulator(behaviour=behaviour) as sim:
        api = connect("127.0.0.1", sim.username, sim.password, port=sim.port, timeout=5)
        netwatch = api.path("tool", "netwatch")
        added = netwatch.add(host="198.18.2.2", timeout="00:00:00.5", **{"down-script": ":log warning down"})
        defaults = {"type": "simple", "interval": "10s"} if behaviour.netwatch_print == "all" else {}
        assert by_id(netwatch, added) == dict(defaults, **{
            ".id": added, "host": "198.18.2.2", "timeout": "500ms", "down-script": ":log warning down",
            "status": "up", "disabled": False})
        sim.set_reachable("198.18.2.2", False)
        assert by_id(netwatch, added)["status"] == "down"
        netwatch.update(**{".id": added, "interval": "90", "!down-script": "", "type": "icmp"})
        changed = by_id(netwatch, added)
        assert (changed["interval"], changed["type"], "down-script" in changed) == ("1m30s", "icmp", False)
        assert trap_message(netwatch.add, host="198.18.3.3", timeout="5ms") == "value of timeout out of range (10ms..4w)"
        assert trap_message(netwatch.add, host="198.18.3.3", type="ping") == "input does not match any value of type"
        assert trap_message(netwatch.add, type="icmp") == "missing value(s) of argument(s) host"
        netwatch.remove(added)
        assert list(netwatch) == []
        api.close()


def test_state_can_be_seeded_and_inspected_directly(sim, api):
    sim.state.menu("/routing/table").add({"name": "wan1", "fib": True})
    sim.state.menu("/routing/rule").add({"dst-address": "192.0.2.0/24", "table": "wan1",
                                         "disabled": False})
    assert [row["table"] for row in api.path("routing", "rule")] == ["wan1"]
    api.path("routing", "rule").add(comment="from the client")
    assert [row.get("comment") for row in sim.state.menu("/routing/rule").rows()] == [
        None, "from the client"]
