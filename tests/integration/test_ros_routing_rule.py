"""``ros_routing_rule`` run for real (module file as a process) against the RouterOS API simulator.

The module talks to the simulator through the real librouteros over loopback; the
simulator's counters say what reached the router (prints per menu, writes, tags).
"""

import pytest

from routeros_sim import Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

RULES = "/routing/rule"
WAN_RULES = [
    {"name": "dns-via-wan2", "dst_address": "198.51.100.53", "table": "wan2", "comment": "resolvers of ISP 2"},
    {"name": "wg-via-wan2", "dst_address": "203.0.113.0/24", "table": "wan2"},
]


@pytest.fixture
def sim():
    """A fresh router with tables wan1/wan2 and two hand-made rules (``*1``, ``*2``)."""
    with Simulator() as simulator:
        for name in ("wan1", "wan2"):
            simulator.state.menu("/routing/table").add({"name": name, "fib": ""})
        rules = simulator.state.menu(RULES)
        rules.add({"dst-address": "10.8.0.0/16", "table": "wan1", "comment": "office VPN"})
        rules.add({"src-address": "192.168.88.0/24", "table": "main"})
        simulator.reset_counters()
        yield simulator


def run(sim, check_mode=False, diff=False, **args):
    args.setdefault("hostname", "127.0.0.1")
    args.setdefault("port", sim.port)
    return run_module("ros_routing_rule", args, check_mode=check_mode, diff=diff)


def device_order(sim):
    """``(.id, comment)`` of every rule, in list order; RouterOS's built-in rules (7.22 ``default=true``,
    the simulator's ``builtin_rules`` switch) are left out."""
    return [(row[".id"], row.get("comment")) for row in sim.state.menu(RULES).rows() if row.get("default") != "true"]


def rule_id(sim, name):
    return next(rule_id for rule_id, comment in device_order(sim) if (comment or "").split()[0:1] == [
        "multiwan.pbr:" + name])


def foreign_ids(sim):
    return [rule_id for rule_id, comment in device_order(sim) if not (comment or "").startswith("multiwan.pbr:")]


def test_merged_at_the_top_then_idempotent_with_one_print_and_no_write(sim):
    first = run(sim, config=WAN_RULES, placement={"position": "top"}, diff=True)
    assert first["changed"] and not first.get("failed"), first
    assert [comment for _rule_id, comment in device_order(sim)] == [
        "multiwan.pbr:dns-via-wan2 resolvers of ISP 2", "multiwan.pbr:wg-via-wan2", "office VPN", None]
    assert first["diff"]["after"].splitlines()[0] == (
        '/routing rule add dst-address=198.51.100.53/32 table=wan2 comment="multiwan.pbr:dns-via-wan2 resolvers of ISP 2"')
    assert first["after"] == [
        {"name": "dns-via-wan2", "dst_address": "198.51.100.53/32", "action": "lookup", "table": "wan2",
         "disabled": False, "comment": "resolvers of ISP 2"},
        {"name": "wg-via-wan2", "dst_address": "203.0.113.0/24", "action": "lookup", "table": "wan2",
         "disabled": False}]
    assert not first.get("warnings")
    sim.reset_counters()
    second = run(sim, config=WAN_RULES, placement={"position": "top"})
    assert not second["changed"] and second["commands"] == []
    assert sim.print_counts == {RULES: 1} and sim.write_count == 0


def test_writes_are_pipelined_with_tags_and_each_menu_is_printed_once_per_read(sim):
    run(sim, config=WAN_RULES, placement={"position": "top"})
    writes = [command for command in sim.commands if command.verb != "print"]
    # the two adds together; the block's one move once both are answered (it names them)
    assert [command.verb for command in writes] == ["add", "add", "move"]
    assert all(command.tag for command in sim.commands)
    assert len(set(command.tag for command in sim.commands)) == len(sim.commands)
    assert sim.print_counts == {RULES: 1}       # one print per path per run, writes or not


def test_check_mode_reports_the_plan_and_writes_nothing(sim):
    before = device_order(sim)
    result = run(sim, check_mode=True, diff=True, config=WAN_RULES)
    # two adds, then one move putting them in config order: pipelined adds may land in any order
    assert result["changed"] and len(result["commands"]) == 3
    assert "multiwan.pbr:wg-via-wan2" in result["diff"]["after"]
    assert sim.write_count == 0 and device_order(sim) == before


@pytest.mark.parametrize("placement, expected", [
    ({"position": "top"}, ["dns-via-wan2", "wg-via-wan2", "*1", "*2"]),
    ({"position": "bottom"}, ["*1", "*2", "dns-via-wan2", "wg-via-wan2"]),
    (None, ["*1", "*2", "dns-via-wan2", "wg-via-wan2"]),
    ({"position": "before", "anchor": "*2"}, ["*1", "dns-via-wan2", "wg-via-wan2", "*2"]),
    ({"position": "before", "anchor": "office VPN"}, ["dns-via-wan2", "wg-via-wan2", "*1", "*2"]),
])
def test_placement_puts_the_block_in_config_order_and_never_moves_foreign_rules(sim, placement, expected):
    result = run(sim, config=WAN_RULES, placement=placement)
    assert not result.get("failed"), result
    names = [comment.split()[0][len("multiwan.pbr:"):] if (comment or "").startswith("multiwan.pbr:") else rule_id
             for rule_id, comment in device_order(sim)]
    assert names == expected
    assert not run(sim, config=WAN_RULES, placement=placement)["changed"]


def test_reordering_moves_only_owned_rules(sim):
    run(sim, config=WAN_RULES, placement={"position": "before", "anchor": "*2"})
    sim.state.menu(RULES).add({"dst-address": "192.0.2.0/24", "table": "main", "comment": "added later"})
    result = run(sim, config=list(reversed(WAN_RULES)), placement={"position": "before", "anchor": "*2"})
    assert [line.split()[2] for line in result["commands"]] == ["move"]
    assert foreign_ids(sim) == ["*1", "*2", "*5"]
    assert [comment for _rule_id, comment in device_order(sim)][1:3] == [
        "multiwan.pbr:wg-via-wan2", "multiwan.pbr:dns-via-wan2 resolvers of ISP 2"]


def test_replaced_overridden_deleted_gathered_leave_foreign_rules_alone(sim):
    run(sim, config=WAN_RULES)
    replaced = run(sim, state="replaced", config=[{"name": "wg-via-wan2", "dst_address": "203.0.113.0/24",
                                                   "table": "wan1", "disabled": True}])
    assert replaced["commands"][0].startswith("/routing rule set ")
    dns_id = rule_id(sim, "dns-via-wan2")
    overridden = run(sim, state="overridden", config=[{"name": "wg-via-wan2", "dst_address": "203.0.113.0/24",
                                                       "table": "wan1", "disabled": True}])
    assert overridden["commands"] == ["/routing rule remove " + dns_id]
    gathered = run(sim, state="gathered")
    assert gathered["gathered"] == [{"name": "wg-via-wan2", "dst_address": "203.0.113.0/24", "action": "lookup",
                                     "table": "wan1", "disabled": True}]
    deleted = run(sim, state="deleted", config=[])
    assert deleted["changed"] and run(sim, state="gathered")["gathered"] == []
    assert foreign_ids(sim) == ["*1", "*2"]


def test_a_rule_naming_a_missing_table_fails_with_routeros_message_and_is_undone(sim):
    if not sim.state.behaviour.rule_tables_must_exist:
        pytest.skip("under rule_tables_must_exist=false RouterOS takes a rule naming a missing table")
    result = run(sim, config=WAN_RULES + [{"name": "isp3", "dst_address": "192.0.2.0/24", "table": "isp3"}])
    assert result["failed"]
    assert result["command"] == "/routing rule add dst-address=192.0.2.0/24 table=isp3 comment=multiwan.pbr:isp3"
    assert result["device_message"] == "input does not match any value of table"
    assert result["rolled_back"] is True
    assert foreign_ids(sim) == [rule_id for rule_id, _comment in device_order(sim)] == ["*1", "*2"]


def test_wrong_password_is_a_clear_error(sim):
    result = run(sim, password="wrong", state="gathered")
    assert result["failed"]
    assert result["msg"] == ("cannot log in to 127.0.0.1:%d as admin: invalid user name or password (6)" % sim.port)


def test_a_connection_dropped_mid_run_leaves_a_state_a_rerun_completes(sim):
    many = [{"name": "r%d" % number, "dst_address": "192.0.2.%d/32" % number, "table": "wan2"}
            for number in range(20)]
    sim.arm_drop(12, mode="before-reply")       # login, print, then ten writes: the tenth is lost in flight
    failed = run(sim, config=many, placement={"position": "top"})
    assert failed["failed"] and "connection" in failed["msg"] and failed["command"].startswith("/routing rule add")
    assert failed["rolled_back"] is False
    completed = run(sim, config=many, placement={"position": "top"})
    assert completed["changed"] and not completed.get("failed"), completed
    assert not run(sim, config=many, placement={"position": "top"})["changed"]
    assert foreign_ids(sim) == ["*1", "*2"] and device_order(sim)[-2:] == [("*1", "office VPN"), ("*2", None)]


def test_a_thousand_rules_converge_in_one_run(sim):
    many = [{"name": "r%d" % number, "dst_address": "10.%d.%d.0/24" % (number // 256, number % 256),
             "table": "wan2"} for number in range(1000)]
    result = run(sim, config=many, placement={"position": "top"})
    assert result["changed"] and not result.get("failed") and not result.get("warnings")
    assert len(device_order(sim)) == 1002
    assert sim.print_counts == {RULES: 1}
    sim.reset_counters()
    assert not run(sim, config=many, placement={"position": "top"})["changed"]
    assert sim.print_counts == {RULES: 1} and sim.write_count == 0
