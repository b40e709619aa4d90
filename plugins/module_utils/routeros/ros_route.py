# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for RouterOS ``/ip/route``: static IPv4 routes in any routing table.

Identity is the ``name`` in the ownership tag (``comment=multiwan.pbr:<name> ...``), not
the destination: RouterOS allows several routes to one destination in one table (a
failover pair with different distances, one per gateway), a gateway can then change in
place, and a disabled route prints without its table (so the table cannot be part of a
key read from the device).

RouterOS prints a disabled route with only ``dst-address``, ``gateway`` and ``comment``
(7.23.7 survey, semantics.md 4.2); the fields it hides compare equal to anything while
the route stays disabled, and are set again when it is enabled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import Field

PATH = "/ip/route"
PATHS = (PATH,)
MENU = "/ip route"
# /ip/route add check-gateway, completion of RouterOS 7.22.2 (command-tree-7.22.2.json).
CHECK_GATEWAY = ("arp", "none", "ping")
HIDDEN_WHEN_DISABLED = ("distance", "scope", "target-scope", "routing-table", "check-gateway")


def gateways(value, option):
    """``IP``, ``IP%interface``, ``IP@table`` or an interface, comma-separated for ECMP.

    Addresses are canonical and ``@main`` dropped (RouterOS prints ``IP@main`` as ``IP``);
    the list is sorted because ECMP gateways have no order.
    """
    hops = [_gateway(hop.strip(), option) for hop in str(value).split(",")]
    if not all(hops):
        raise InvalidInput(option, value, "has an empty gateway")
    return ",".join(sorted(hops))


def _gateway(hop, option):
    if not hop:
        return ""
    address, table = _split_once(hop, "@")
    address, interface = _split_once(address, "%")
    if not (interface or table or _looks_like_an_address(address)):
        return records.word(hop, option)      # an interface name
    canonical = addresses.address(address, option, family=addresses.IPV4)
    suffix = ("%" + records.word(interface, option)) if interface else ""
    if table and table != "main":
        suffix += "@" + records.word(table, option)
    return canonical + suffix


def _split_once(text, separator):
    before, found, after = text.partition(separator)
    return before, after if found else ""


def _looks_like_an_address(text):
    return ":" in text or all(part.isdigit() for part in text.split("."))


ROUTE_FIELDS = (
    Field("dst_address", "dst-address", records.prefix_ipv4, default="0.0.0.0/0"),
    Field("gateway", "gateway", gateways, unsettable=True),
    Field("blackhole", "blackhole", records.boolean, default=False, unsettable=True, flag=True),
    Field("distance", "distance", records.integer(1, 255), default=1, unsettable=True),
    Field("scope", "scope", records.integer(0, 255), default=30, unsettable=True),
    Field("target_scope", "target-scope", records.integer(0, 255), default=10, unsettable=True),
    Field("check_gateway", "check-gateway", records.choice(CHECK_GATEWAY), unsettable=True),
    Field("routing_table", "routing-table", records.word, default="main"),
    Field("disabled", "disabled", records.boolean, default=False),
)

CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    dst_address=dict(type="str"),
    gateway=dict(type="str"),
    blackhole=dict(type="bool"),
    distance=dict(type="int"),
    scope=dict(type="int"),
    target_scope=dict(type="int"),
    check_gateway=dict(type="str", choices=list(CHECK_GATEWAY)),
    routing_table=dict(type="str"),
    disabled=dict(type="bool"),
    comment=dict(type="str"),
)
CONFIG_SPEC = dict(type="list", elements="dict", options=CONFIG_OPTIONS)


@dataclasses.dataclass(frozen=True)
class Route:
    """One static route; ``name`` (from the tag) is set on owned routes only."""

    IDENTITY = "tag"

    name: str
    dst_address: str
    gateway: str
    blackhole: bool
    distance: int
    scope: int
    target_scope: int
    check_gateway: str
    routing_table: str
    disabled: bool
    comment: str
    owned: bool
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)

    @property
    def key(self):
        return self.name if self.owned else self.device_id


def normalise(item, params, facts):
    route = records.record_from_item(Route, ROUTE_FIELDS, item, params)
    check_next_hop(route, complete=params.get("state") in ("replaced", "overridden", "rendered"))
    return route


def check_next_hop(route, complete):
    """A route has a gateway or is a blackhole; ``merged`` and ``deleted`` entries may be partial."""
    if route.blackhole and route.gateway:
        raise InvalidInput("blackhole", True, "a blackhole route has no gateway (gateway=%s)" % route.gateway)
    if complete and not route.blackhole and not route.gateway:
        raise InvalidInput("gateway", None, "route %s needs a gateway, or blackhole: true" % route.name)


def parse(dump, params, facts):
    return records.demote_duplicates([_route(row) for row in dump[PATH] if records.is_configuration(row)])


def _route(row):
    if not records.boolean(row.get("disabled", False), "disabled"):
        return records.record_from_row(Route, ROUTE_FIELDS, row)
    route = records.record_from_row(Route, ROUTE_FIELDS, row, unprinted=HIDDEN_WHEN_DISABLED)
    # A disabled route prints no `blackhole` either; without a gateway it can only be one.
    return dataclasses.replace(route, blackhole=not route.gateway)


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


def merge(current, wanted):
    """Fields given win; giving a gateway ends a blackhole and giving ``blackhole`` drops the gateway."""
    merged = records.merge(current, wanted)
    if "gateway" in wanted.given and "blackhole" not in wanted.given:
        merged = dataclasses.replace(merged, blackhole=False)
    if "blackhole" in wanted.given and wanted.blackhole and "gateway" not in wanted.given:
        merged = dataclasses.replace(merged, gateway=None)
    return merged


def render(ops, params):
    return records.render_ops(MENU, ROUTE_FIELDS, ops)


def render_state(routes, params):
    return records.render_state(MENU, ROUTE_FIELDS, routes)


def to_config(route):
    hidden = [field.option for field in ROUTE_FIELDS if field.keyword in HIDDEN_WHEN_DISABLED]
    return records.to_config(ROUTE_FIELDS, route, hidden=hidden if route.disabled else ())


def sort_key(route):
    return (route.routing_table if isinstance(route.routing_table, str) else "", route.dst_address,
            route.name or "", route.device_id or "")


ENGINE = Engine(
    name="ros_route", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, sort_key=sort_key, parse_running_config=parse_running_config)
