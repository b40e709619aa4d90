# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for RouterOS ``/ip/route``: static IPv4 routes in any routing table.

Identity is the ``name`` in the ownership tag (``comment=multiwan.pbr:<name> ...``), not
the destination: RouterOS allows several routes to one destination in one table (a
failover pair with different distances, one per gateway), a gateway can then change in
place, and a disabled route prints without its table (so the table cannot be part of a
key read from the device).

RouterOS prints a disabled route with only ``dst-address``, ``gateway`` and ``comment`` (the
7.23.7 survey in tests/routeros_sim/README.md, ``disabled_route_print``); the fields it hides
compare equal to anything while the route stays disabled, and are set again when it is enabled.

A route whose gateway resolves through another route of the plan (the recursive-route pattern:
a default via a monitor target, through the host route to that target) is written after it and
removed before it (``revise_plan``, ``routeros.resolution``), so neither is ever inactive for
want of the other; the writer keeps that order on the wire (``commands.InFlight``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses, fields
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import BOOLEAN, Field, Kind, choice, integer
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD, DELETE
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records, resolution
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import COMMENT, NAME, PREFIX_IPV4

PATH = "/ip/route"
PATHS = (PATH,)
# /ip/route add check-gateway, as RouterOS 7.22.2 completes it (tests/routeros_sim/menus.py less bfd).
CHECK_GATEWAY = ("arp", "none", "ping")
HIDDEN_WHEN_DISABLED = ("distance", "scope", "target-scope", "routing-table", "check-gateway")


def gateways(value, field_name):
    """``IP``, ``IP%interface``, ``IP@table`` or an interface, comma-separated for ECMP.

    Addresses are canonical and ``@main`` dropped (RouterOS prints ``IP@main`` as ``IP``);
    the list is sorted because ECMP gateways have no order.
    """
    hops = [_gateway(hop.strip(), field_name) for hop in str(value).split(",")]
    if not all(hops):
        raise InvalidInput(field_name, value, "has an empty gateway")
    return ",".join(sorted(hops))


def _gateway(hop, field_name):
    if not hop:
        return ""
    address, table = _split_once(hop, "@")
    address, interface = _split_once(address, "%")
    if not (interface or table or _looks_like_an_address(address)):
        return NAME.normalise(hop, field_name)      # an interface name
    canonical = addresses.address(address, field_name, family=addresses.IPV4)
    suffix = ("%" + NAME.normalise(interface, field_name)) if interface else ""
    if table and table != "main":
        suffix += "@" + NAME.normalise(table, field_name)
    return canonical + suffix


def _split_once(text, separator):
    before, found, after = text.partition(separator)
    return before, after if found else ""


def _looks_like_an_address(text):
    return ":" in text or all(part.isdigit() for part in text.split("."))


GATEWAYS = Kind("str", gateways)

ROUTE_FIELDS = (
    records.name_field("route"),
    Field("dst_address", PREFIX_IPV4, keyword="dst-address", device_default="0.0.0.0/0", doc=(
        "The destination prefix (C(dst-address)); RouterOS's default is C(0.0.0.0/0).",)),
    Field("gateway", GATEWAYS, keyword="gateway", unsettable=True, doc=(
        "The next hop (C(gateway)) as C(IP), C(IP%interface), C(IP@table) or an interface name; several, "
        "comma-separated, for ECMP. C(IP@main) is the same as C(IP).",
        "Required unless O(config[].blackhole=true); a new route without either is refused.")),
    Field("blackhole", BOOLEAN, keyword="blackhole", device_default=False, unsettable=True, flag=True, doc=(
        "Whether the route drops what it matches (the C(blackhole) flag); such a route has no gateway.",)),
    Field("distance", integer(1, 255), keyword="distance", device_default=1, unsettable=True, doc=(
        "Administrative distance, 1 to 255 (C(distance)); RouterOS's default is 1.",)),
    Field("scope", integer(0, 255), keyword="scope", device_default=30, unsettable=True, doc=(
        "Scope, 0 to 255 (C(scope)); RouterOS's default is 30.",)),
    Field("target_scope", integer(0, 255), keyword="target-scope", device_default=10, unsettable=True, doc=(
        "Target scope, 0 to 255 (C(target-scope)); RouterOS's default is 10.",)),
    Field("check_gateway", choice(*CHECK_GATEWAY), keyword="check-gateway", unsettable=True, doc=(
        "How RouterOS checks that the gateway is alive (C(check-gateway)); unset by default.",)),
    Field("routing_table", NAME, keyword="routing-table", device_default="main", doc=(
        "The routing table the route belongs to (C(routing-table)); RouterOS's default is C(main).",)),
    Field("disabled", BOOLEAN, keyword="disabled", device_default=False, doc=(
        "Whether the route is disabled (C(disabled)).",)),
    COMMENT,
)

CONFIG_OPTIONS = fields.options_spec(ROUTE_FIELDS)
CONFIG_SPEC = records.config_spec(ROUTE_FIELDS)


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
    if not BOOLEAN.normalise(row.get("disabled", False), "disabled"):
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
    check_next_hop(merged, complete=True)
    return merged


def finish_plan(ops, wanted, current, predicted, params):
    """No ops to add; a route ``merged`` adds must be complete (one it changes is, through ``merge``)."""
    for op in ops:
        if op.verb == ADD:
            check_next_hop(op.record, complete=True)
    return []


def revise_plan(ops, wanted, current, params):
    """The plan with every route a gateway resolves through written before that route, and removed after it."""
    changes = [op for op in ops if op.verb != DELETE]
    deletions = [op for op in ops if op.verb == DELETE]
    return resolvers_first(changes) + resolvers_first(deletions, reverse=True)


def resolvers_first(ops, reverse=False):
    """``ops`` in their order except that an op writing a route another op's gateway may resolve
    through comes before that op (after it when ``reverse``: removals). A cycle keeps its order."""
    prerequisites = _prerequisites(ops, reverse)
    if not any(prerequisites):
        return ops
    placed, ordered, pending = set(), [], list(range(len(ops)))
    while pending:
        ready = [index for index in pending if prerequisites[index] <= placed]
        if not ready:
            ready = pending             # a cycle: no order helps
        placed.update(ready)
        ordered.extend(ready)
        pending = [index for index in pending if index not in placed]
    return [ops[index] for index in ordered]


def _prerequisites(ops, reverse):
    """``[set of op indexes]``: for each op, those that must come before it."""
    destinations = resolution.Destinations()
    for index, op in enumerate(ops):
        route = op.record
        if not route.disabled:          # a disabled route resolves nothing, and needs nothing resolved
            destinations.add(route.dst_address, _known(route.scope), _known(route.routing_table), index)
    prerequisites = [set() for _op in ops]
    for index, op in enumerate(ops):
        if op.record.disabled:
            continue
        target_scope = _known(op.record.target_scope)
        for address, table in resolution.resolved_hops(op.record.gateway):
            for resolver in destinations.covering(address, table, target_scope):
                if resolver != index:
                    (prerequisites[resolver] if reverse else prerequisites[index]).add(
                        index if reverse else resolver)
    return prerequisites


def _known(value):
    """A value the device printed, or ``None`` for one it did not (a disabled route's scopes and table)."""
    return None if value is records.UNPRINTED else value


def render(ops, params):
    return records.render_ops(PATH, ROUTE_FIELDS, ops)


def render_state(routes, params):
    return records.render_state(PATH, ROUTE_FIELDS, routes)


def to_config(route):
    hidden = [field.option for field in ROUTE_FIELDS if field.keyword in HIDDEN_WHEN_DISABLED]
    return records.to_config(ROUTE_FIELDS, route, hidden=hidden if route.disabled else ())


def sort_key(route):
    return (route.routing_table if isinstance(route.routing_table, str) else "", route.dst_address,
            route.name or "", route.device_id or "")


ENGINE = Engine(
    name="ros_route", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, sort_key=sort_key, finish_plan=finish_plan,
    revise_plan=revise_plan, parse_running_config=parse_running_config,
    config_fields=ROUTE_FIELDS)
