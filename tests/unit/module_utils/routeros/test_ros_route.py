"""``/ip/route``: identity by name, gateway forms, disabled routes printed without their table."""

import json
import os

import dataclasses

import pytest
from hypothesis import given, settings

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_route as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    DELETE, converge_ops, run_resource, simulate)
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import UNPRINTED
from unit.strategies_routeros import PARAMS, route_configs

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "routeros")
with open(os.path.join(FIXTURES, "ros7_ip_route_print.json")) as handle:
    FIXTURE_ROWS = json.load(handle)


HIDDEN_OPTIONS = [field.option for field in engine.ROUTE_FIELDS if field.keyword in engine.HIDDEN_WHEN_DISABLED]


def params(**overrides):
    return dict(PARAMS, **overrides)


class FakeRunner(object):
    def __init__(self, rows):
        self.rows, self.applied = rows, []

    def dump(self):
        return {engine.PATH: self.rows}

    def apply(self, lines):
        self.applied.extend(command.text for command in lines)


def run(state, config=None, check_mode=False):
    runner = FakeRunner(FIXTURE_ROWS)
    return run_resource(engine.ENGINE, runner, params(state=state, config=config), check_mode, True), runner


def normalise(item, state="replaced"):
    return engine.normalise(item, params(state=state), None)


def test_connected_routes_are_left_out_and_owned_routes_are_named():
    routes = engine.parse({engine.PATH: FIXTURE_ROWS}, params(), None)
    assert [(route.key, route.owned) for route in routes] == [
        ("*80000001", False), ("wan1-default", True), ("wan2-default", True), ("wan2-failover", True),
        ("rfc1918-blackhole", True)]


def test_gathered_shows_what_routeros_prints():
    result, _runner = run("gathered")
    assert result["gathered"] == [
        # disabled: RouterOS prints no table, distance or scopes (sorted first, table unknown)
        {"name": "wan2-failover", "dst_address": "0.0.0.0/0", "gateway": "192.0.2.1", "blackhole": False,
         "disabled": True},
        {"name": "rfc1918-blackhole", "dst_address": "10.0.0.0/8", "blackhole": True, "distance": 1,
         "scope": 30, "target_scope": 10, "routing_table": "main", "disabled": False, "comment": "no leaks"},
        {"name": "wan1-default", "dst_address": "0.0.0.0/0", "gateway": "192.0.2.1", "blackhole": False,
         "distance": 1, "scope": 30, "target_scope": 10, "check_gateway": "ping", "routing_table": "wan1",
         "disabled": False},
        {"name": "wan2-default", "dst_address": "0.0.0.0/0", "gateway": "198.51.100.1", "blackhole": False,
         "distance": 1, "scope": 30, "target_scope": 10, "routing_table": "wan2", "disabled": False},
    ]


def test_the_same_routes_written_differently_plan_nothing():
    result, runner = run("merged", [
        {"name": "wan1-default", "gateway": "192.0.2.1@main", "routing_table": "wan1", "check_gateway": "ping",
         "dst_address": "0.0.0.0/0", "distance": 1},
        {"name": "wan2-failover", "gateway": "192.0.2.1", "routing_table": "wan2", "distance": 10, "disabled": True},
        {"name": "rfc1918-blackhole", "dst_address": "10.1.2.3/8", "blackhole": True}])
    assert result["changed"] is False and runner.applied == []


def test_enabling_a_disabled_route_writes_the_fields_routeros_hid():
    result, runner = run("merged", [{"name": "wan2-failover", "disabled": False}])
    assert runner.applied == ["/ip route set *80000004 disabled=no"]
    result, runner = run("replaced", [{"name": "wan2-failover", "gateway": "192.0.2.1", "routing_table": "wan2",
                                       "distance": 10}])
    assert runner.applied == [
        "/ip route set *80000004 distance=10 scope=30 target-scope=10 routing-table=wan2 disabled=no; "
        "/ip route unset *80000004 value-name=check-gateway"]


def test_a_gateway_changes_in_place_and_a_blackhole_drops_it():
    result, runner = run("merged", [{"name": "wan2-default", "gateway": "203.0.113.1,198.51.100.1"},
                                    {"name": "wan1-default", "blackhole": True}])
    assert runner.applied == [
        "/ip route set *80000003 gateway=198.51.100.1,203.0.113.1",
        "/ip route set *80000002 blackhole; /ip route unset *80000002 value-name=gateway",
    ]


def test_overridden_removes_owned_routes_and_keeps_the_rest():
    result, runner = run("overridden", [{"name": "wan2-default", "gateway": "198.51.100.1",
                                         "routing_table": "wan2"}])
    assert runner.applied == ["/ip route remove *80000002", "/ip route remove *80000004", "/ip route remove *80000005"]


def test_rendered_lines():
    result = run_resource(engine.ENGINE, None, params(state="rendered", config=[
        {"name": "wan2-default", "gateway": "203.0.113.1", "routing_table": "wan2", "check_gateway": "ping"},
        {"name": "rfc1918", "dst_address": "10.0.0.0/8", "blackhole": True, "comment": "no leaks"}]))
    assert result["rendered"] == [
        "/ip route add gateway=203.0.113.1 check-gateway=ping routing-table=wan2 comment=multiwan.pbr:wan2-default",
        '/ip route add dst-address=10.0.0.0/8 blackhole comment="multiwan.pbr:rfc1918 no leaks"',
    ]


@pytest.mark.parametrize("item, field, value", [
    ({"name": "x"}, "gateway", None),
    ({"name": "x", "gateway": "192.0.2.1", "blackhole": True}, "blackhole", True),
    ({"name": "x", "gateway": "192.0.2.300"}, "gateway", "192.0.2.300"),
    ({"name": "x", "gateway": "2001:db8::1"}, "gateway", "2001:db8::1"),
    ({"name": "x", "gateway": "192.0.2.1", "dst_address": "2001:db8::/32"}, "dst_address", "2001:db8::/32"),
    ({"name": "x", "gateway": "192.0.2.1", "distance": 0}, "distance", 0),
    ({"name": "x", "gateway": "192.0.2.1", "scope": 256}, "scope", 256),
])
def test_bad_routes_are_refused_naming_field_and_value(item, field, value):
    with pytest.raises(InvalidInput) as error:
        normalise(item)
    assert error.value.field == field and error.value.value == value


@settings(max_examples=60)
@given(config=route_configs(), existing=route_configs())
def test_plans_converge_and_spare_foreign_routes(config, existing):
    current = engine.parse({engine.PATH: FIXTURE_ROWS}, params(), None)
    for state in ("merged", "replaced", "overridden"):
        wanted = [normalise(item) for item in config]
        ops = converge_ops(engine.ENGINE, wanted, current, state, params(state=state))
        after = simulate(current, ops)
        assert converge_ops(engine.ENGINE, wanted, after, state, params(state=state)) == []
        assert [route.key for route in after if not route.owned] == ["*80000001"]
        assert state != "merged" or not any(op.verb == DELETE for op in ops)


@settings(max_examples=60)
@given(config=route_configs())
def test_to_config_round_trips(config):
    for item in config:
        route = normalise(item)
        # A disabled route's config holds only what RouterOS prints; the rest is unknown.
        shown = dataclasses.replace(route, **dict.fromkeys(HIDDEN_OPTIONS, UNPRINTED)) if route.disabled else route
        assert normalise(engine.to_config(route)) == shown


def test_a_new_route_needs_a_gateway_or_blackhole_whatever_the_state():
    """Issue 11, defect 16: ``merged`` added a route with neither gateway nor blackhole (only
    ``replaced``/``overridden`` were checked). A partial ``merged`` entry still changes an existing route."""
    with pytest.raises(InvalidInput) as error:
        run("merged", [{"name": "new", "dst_address": "192.0.2.0/24", "distance": 5}], check_mode=True)
    assert (error.value.field, error.value.value) == ("gateway", None) and "new" in error.value.reason
    with pytest.raises(InvalidInput) as error:      # the blackhole it was, taken away with nothing in its place
        run("merged", [{"name": "rfc1918-blackhole", "blackhole": False}], check_mode=True)
    assert error.value.field == "gateway"
    result, _runner = run("merged", [{"name": "wan2-default", "distance": 5}], check_mode=True)
    assert result["commands"] == ["/ip route set *80000003 distance=5"]


# The recursive-route pattern (tests/routeros_sim/README.md, Route activity): a host route to the
# monitor target with scope=10, and the table's default via the target with target-scope=11.
HOST_ROUTE = {"name": "wan1-monitor-198.18.2.2", "dst_address": "198.18.2.2", "gateway": "192.0.2.1", "scope": 10,
              "routing_table": "wan1"}
RECURSIVE_DEFAULT = {"name": "wan1-default", "gateway": "198.18.2.2@wan1", "target_scope": 11,
                     "check_gateway": "ping", "routing_table": "wan1"}
UNRELATED = {"name": "wan2-default", "gateway": "198.51.100.1", "routing_table": "wan2"}


@pytest.mark.parametrize("config", [
    [RECURSIVE_DEFAULT, UNRELATED, HOST_ROUTE], [RECURSIVE_DEFAULT, HOST_ROUTE, UNRELATED],
    [HOST_ROUTE, RECURSIVE_DEFAULT, UNRELATED], [UNRELATED, RECURSIVE_DEFAULT, HOST_ROUTE]])
def test_a_host_route_is_added_before_the_route_that_resolves_through_it(config):
    rendered = run_resource(engine.ENGINE, None, params(state="rendered", config=config))["rendered"]
    names = [line.split("comment=multiwan.pbr:")[1] for line in rendered]
    assert names.index(HOST_ROUTE["name"]) < names.index(RECURSIVE_DEFAULT["name"]), rendered
    assert sorted(names) == sorted(route["name"] for route in config)


def test_a_host_route_is_removed_after_the_route_that_resolves_through_it():
    rows = [{".id": "*80000001", "dst-address": "198.18.2.2/32", "gateway": "192.0.2.1", "scope": "10",
             "target-scope": "10", "routing-table": "wan1", "comment": "multiwan.pbr:" + HOST_ROUTE["name"]},
            {".id": "*80000002", "dst-address": "0.0.0.0/0", "gateway": "198.18.2.2@wan1", "scope": "30",
             "target-scope": "11", "check-gateway": "ping", "routing-table": "wan1",
             "comment": "multiwan.pbr:wan1-default"}]
    result = run_resource(engine.ENGINE, FakeRunner(rows), params(state="deleted", config=[]), True, False)
    assert result["commands"] == ["/ip route remove *80000002", "/ip route remove *80000001"]


def test_switching_a_default_to_a_monitor_target_adds_the_host_route_first():
    current = [{".id": "*80000002", "dst-address": "0.0.0.0/0", "gateway": "192.0.2.1", "routing-table": "wan1",
                "comment": "multiwan.pbr:wan1-default"}]
    result = run_resource(engine.ENGINE, FakeRunner(current), params(state="overridden",
                                                                     config=[RECURSIVE_DEFAULT, HOST_ROUTE]), True, False)
    assert result["commands"] == [
        "/ip route add dst-address=198.18.2.2/32 gateway=192.0.2.1 scope=10 routing-table=wan1 "
        "comment=multiwan.pbr:wan1-monitor-198.18.2.2",
        "/ip route set *80000002 gateway=198.18.2.2@wan1 target-scope=11 check-gateway=ping"]
