# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role ``routeros_dst_routing`` as data: inventory variables in, checked module configs out.

Seed 000's clean way: each WAN is a routing table with ``fib`` and a default route via
the WAN's gateway; each destination is a ``/routing rule dst-address=... table=<wan>``.
Optionally (seed 000's first remedy, for routers that must keep marking in
``chain=output``) ``action=return`` exclusions for LAN prefixes, tunnel interfaces, DNS and
gateway probes. Every name below becomes an ownership tag, so a second run matches the
entries the first one made.

Failover beyond the gateway (issue 14), per WAN:

- ``monitor: [targets]``: the recursive-route pattern (tests/routeros_sim/README.md, Route activity).
  A host route to each target via the WAN's gateway with ``scope=10``, in the WAN's table; the
  table's default via the targets, written ``target@<wan>`` so that it resolves in that table
  whichever table RouterOS picks for a gateway without ``@`` (``gateway_resolution``), with
  ``target-scope=11`` and ``check-gateway=ping``: when no target answers, the default goes
  inactive. A strict rule ``dst-address=<target> table=<wan>`` comes first in the rule block, so
  the router's own probes to a target (netwatch, and check-gateway however RouterOS routes it)
  leave by the WAN they measure, never by another one.
- ``distance`` orders the WANs; ``fallback: wans`` gives the WAN's table a default via each other
  WAN, above its own distance in their order, so its destinations leave by the next WAN that is up;
  ``fallback: main`` (the default) leaves the table with its own default only: ``lookup`` rules
  then fall through to ``main``.
- ``netwatch``: a ``/tool/netwatch`` entry per monitor target with the given scripts.

Per destination, ``strict: true`` is ``action=lookup-only-in-table`` (never another WAN: when the
WAN's table has no active default the traffic is unreachable); ``strict: false`` (default) is
``action=lookup``. ``action`` is accepted too, as RouterOS spells the same choice.

Bad input changes nothing (issue 11, defect 7): every config made here goes through the engine
of the module that gets it, offline, as that module checks ``state: rendered``
(``core.role_input``), and a refusal names the inventory variable and its value. Nothing is
corrected on the way: ``distance: 0`` is refused (RouterOS takes 1-255), never turned into 1.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.role_input import (
    Entry, Source, checked_records, inventory_list)
from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import integer
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import (
    ros_mangle_exclusion, ros_netwatch, ros_route, ros_routing_rule, ros_routing_table)

RULE_ACTIONS = ("lookup", "lookup-only-in-table")
STRICT_ACTION = {False: "lookup", True: "lookup-only-in-table"}
FALLBACKS = ("main", "wans")
NETWATCH_KEYS = ("up_script", "down_script", "type", "interval", "timeout")
# The recursive-route pattern: host routes at scope 10, defaults through them at target-scope 11.
MONITOR_SCOPE, MONITOR_TARGET_SCOPE = 10, 11
DISTANCE = integer(1, 255)
EXCLUSION_KEYS = ("lan_prefixes", "interfaces", "dns", "gateway_probes")
PLACEMENT_POSITIONS = ("top", "bottom", "before")
WANS, DESTINATIONS = "routeros_pbr_wans", "routeros_pbr_destinations"
EXCLUSIONS, PLACEMENT = "routeros_pbr_output_exclusions", "routeros_pbr_rule_placement"


def layout(wans, destinations=None, output_exclusions=None, placement=None):
    """``{tables, routes, rules, netwatch, exclusions, only_in_table}`` for the modules and the audit, all checked."""
    wans = [_wan(wan, index) for index, wan in enumerate(inventory_list(wans, WANS))]
    wan_names = [wan["name"] for wan in wans]
    _unique(wan_names, WANS, "name")
    _unique_targets(wans)
    rules = [rule for wan in wans for rule in _monitor_rules(wan)]
    for index, destination in enumerate(inventory_list(destinations, DESTINATIONS)):
        rules.extend(_destination_rules(destination, index, wans))
    _unique([rule.config["name"] for rule in rules], DESTINATIONS, "name")
    _check_placement(placement)
    entries = {
        "tables": [_table(wan) for wan in wans],
        "routes": [route for wan in wans for route in _wan_routes(wan, wans)],
        "rules": rules,
        "netwatch": [entry for wan in wans for entry in _netwatch_entries(wan)],
        "exclusions": _exclusions(output_exclusions or {}),
    }
    for key, engine in (("tables", ros_routing_table), ("routes", ros_route), ("rules", ros_routing_rule),
                        ("netwatch", ros_netwatch), ("exclusions", ros_mangle_exclusion)):
        checked_records(engine.ENGINE, {}, entries[key])
    configs = dict((key, [entry.config for entry in value]) for key, value in entries.items())
    configs["only_in_table"] = [{"dst_address": rule.config["dst_address"], "table": rule.config["table"]}
                                for rule in rules if rule.variable.startswith(DESTINATIONS)
                                and rule.config["action"] == "lookup-only-in-table"]
    return configs


# ---------------------------------------------------------------------------
# WANs


def _wan(wan, index):
    where = "%s[%d]" % (WANS, index)
    if not isinstance(wan, dict):
        raise InvalidInput(where, wan, "is not a dict with name and gateway")
    for key in ("name", "gateway"):
        if wan.get(key) in (None, ""):
            raise InvalidInput("%s.%s" % (where, key), wan.get(key), "is required")
    fallback = wan.get("fallback") or "main"
    if fallback not in FALLBACKS:
        raise InvalidInput(where + ".fallback", fallback, "is not one of %s" % ", ".join(FALLBACKS))
    # distance and check_gateway go to ros_route as given: its own check refuses distance 0
    checked = {"name": str(wan["name"]), "gateway": str(wan["gateway"]), "distance": wan.get("distance"),
               "check_gateway": wan.get("check_gateway"), "fallback": fallback, "item": wan, "variable": where}
    checked["monitor"] = _monitor_targets(wan.get("monitor"), where + ".monitor")
    checked["netwatch"] = _netwatch_settings(wan.get("netwatch"), where + ".netwatch", checked["monitor"])
    return checked


def _monitor_targets(targets, variable):
    """The monitor targets as canonical IPv4 addresses (routes here are IPv4), in the order given."""
    if targets is None:
        return []
    if not isinstance(targets, list) or not all(isinstance(target, str) for target in targets):
        raise InvalidInput(variable, targets, "is not a list of addresses")
    found = []
    for number, target in enumerate(targets):
        address = addresses.address(target, "%s[%d]" % (variable, number), family=addresses.IPV4)
        if address in found:
            raise InvalidInput("%s[%d]" % (variable, number), target, "appears more than once")
        found.append(address)
    return found


def _netwatch_settings(settings, variable, targets):
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise InvalidInput(variable, settings, "is not a dict with up_script, down_script ...")
    unknown = sorted(set(settings) - set(NETWATCH_KEYS))
    if unknown:
        raise InvalidInput(variable, unknown[0], "is not one of %s" % ", ".join(NETWATCH_KEYS))
    if not targets:
        raise InvalidInput(variable, settings, "watches the WAN's monitor targets; give the WAN a monitor list")
    return settings


def _unique_targets(wans):
    """A target is monitored through one WAN: its host route and its probes leave by that WAN only."""
    seen = {}
    for wan in wans:
        for number, target in enumerate(wan["monitor"]):
            if target in seen:
                raise InvalidInput("%s.monitor[%d]" % (wan["variable"], number), target,
                                   "is a monitor target of %s too; each WAN needs targets of its own" % seen[target])
            seen[target] = wan["variable"]


def _table(wan):
    return Entry({"name": wan["name"], "fib": True}, wan["variable"], wan["item"],
                 {"name": Source(wan["variable"] + ".name", wan["item"]["name"])})


def _wan_routes(wan, wans):
    """The WAN's host routes to its monitor targets, its table's default, and the backups through the others."""
    routes = [_host_route(wan, number, target) for number, target in enumerate(wan["monitor"])]
    routes.append(_route_entry(wan, "%s-default" % wan["name"], _given_distance(wan), wan, "distance"))
    if wan["fallback"] == "wans":
        backups = sorted((other for other in wans if other is not wan), key=_distance)
        own = _distance(wan)
        if own + len(backups) > 255:
            raise InvalidInput(wan["variable"] + ".distance", wan["distance"], "leaves no room above it for the %d "
                               "backup defaults of fallback: wans (distances go up to 255)" % len(backups))
        routes += [_route_entry(wan, "%s-via-%s" % (wan["name"], other["name"]), own + rank, other, "distance")
                   for rank, other in enumerate(backups, start=1)]
    return routes


def _given_distance(wan):
    """The distance as given (ros_route's own check refuses 0 or 256), 1 when not given."""
    return 1 if wan["distance"] is None else wan["distance"]


def _distance(wan):
    """The distance as a number, for ordering the WANs (the check ros_route makes, made first)."""
    return DISTANCE.normalise(_given_distance(wan), wan["variable"] + ".distance")


def _route_entry(wan, name, distance, via, distance_key):
    """A default route in ``wan``'s table, reaching out the way ``via``'s own default does."""
    route = dict({"name": name, "dst_address": "0.0.0.0/0", "distance": distance, "routing_table": wan["name"]},
                 **_next_hop(via))
    sources = _sources(wan, (("name", "name"), ("routing_table", "name"), ("distance", distance_key)))
    sources.update(_sources(via, (("gateway", "monitor" if via["monitor"] else "gateway"),
                                  ("check_gateway", "check_gateway"))))
    return Entry(route, wan["variable"], wan["item"], sources)


def _next_hop(wan):
    """How a default leaves by ``wan``: through its monitor targets (resolved in its table), or its gateway."""
    if wan["monitor"]:
        return {"gateway": ",".join("%s@%s" % (target, wan["name"]) for target in wan["monitor"]),
                "target_scope": MONITOR_TARGET_SCOPE, "check_gateway": "ping"}
    hop = {"gateway": wan["gateway"]}
    if wan["check_gateway"]:
        hop["check_gateway"] = wan["check_gateway"]
    return hop


def _host_route(wan, number, target):
    """The host route to a monitor target via the WAN's gateway, with the scope the default resolves through."""
    route = {"name": "%s-monitor-%s" % (wan["name"], target), "dst_address": target, "gateway": wan["gateway"],
             "scope": MONITOR_SCOPE, "routing_table": wan["name"]}
    if wan["check_gateway"]:
        route["check_gateway"] = wan["check_gateway"]
    sources = _sources(wan, (("routing_table", "name"), ("gateway", "gateway"), ("check_gateway", "check_gateway")))
    target_source = Source("%s.monitor[%d]" % (wan["variable"], number), target)
    sources.update(dict.fromkeys(("name", "dst_address"), target_source))
    return Entry(route, wan["variable"], wan["item"], sources)


def _sources(wan, pairs):
    return dict((option, Source("%s.%s" % (wan["variable"], key), wan["item"].get(key))) for option, key in pairs)


def _monitor_rules(wan):
    """Strict rules that keep the router's own probes to each monitor target on the WAN they measure."""
    return [Entry({"name": "%s-monitor-%s" % (wan["name"], target), "dst_address": target, "table": wan["name"],
                   "action": "lookup-only-in-table"}, "%s.monitor[%d]" % (wan["variable"], number), target,
                  {"name": Source("%s.monitor[%d]" % (wan["variable"], number), target)})
            for number, target in enumerate(wan["monitor"])]


def _netwatch_entries(wan):
    settings = wan["netwatch"]
    if settings is None:
        return []
    variable = wan["variable"] + ".netwatch"
    return [Entry(dict({"name": "%s-monitor-%s" % (wan["name"], target), "host": target},
                       **dict((key, value) for key, value in settings.items() if value is not None)),
                  variable, settings, dict((key, Source("%s.%s" % (variable, key), settings.get(key)))
                                           for key in NETWATCH_KEYS))
            for target in wan["monitor"]]


# ---------------------------------------------------------------------------
# Destinations


def _destination_rules(destination, index, wans):
    """One rule per address: ``<name>`` for a single address, ``<name>.1``, ``<name>.2`` ... for a list."""
    where = "%s[%d]" % (DESTINATIONS, index)
    if not isinstance(destination, dict) or not destination.get("name"):
        raise InvalidInput("%s.name" % where, destination, "is required")
    by_name = dict((wan["name"], wan) for wan in wans)
    if destination.get("wan") not in by_name:
        raise InvalidInput("%s.wan" % where, destination.get("wan"), "is not the name of a WAN in %s (%s)"
                           % (WANS, ", ".join(by_name)))
    action = _action(destination, where)
    wan = by_name[destination["wan"]]
    if action == "lookup-only-in-table" and wan["fallback"] == "wans":
        raise InvalidInput("%s.strict" % where, True, "cannot hold: %s's table falls back to the other WANs "
                           "(%s.fallback: wans); set strict: false, or fallback: main on %s"
                           % (wan["name"], wan["variable"], wan["name"]))
    given = destination.get("dst_address")
    if given in (None, "", []):
        raise InvalidInput("%s.dst_address" % where, given, "is required")
    listed = given if isinstance(given, list) else [given]
    _refuse_monitor_targets(listed, where, given, wans)
    # A list always numbers its rules, so growing it renames nothing.
    names = [destination["name"]] if not isinstance(given, list) else [
        "%s.%d" % (destination["name"], number) for number in range(1, len(listed) + 1)]
    return [_rule(destination, where, name, address, number if isinstance(given, list) else None, action)
            for number, (name, address) in enumerate(zip(names, listed))]


def _refuse_monitor_targets(destination_addresses, where, given, wans):
    """A monitor target is routed by the role already (a strict rule into its WAN, first in the block)."""
    targets = dict(("%s/32" % target, wan) for wan in wans for target in wan["monitor"])
    for number, address in enumerate(destination_addresses):
        try:
            prefix = addresses.prefix(address, "dst_address")
        except InvalidInput:
            continue        # the rule's own check names it, below
        if prefix in targets:
            variable = "%s.dst_address" % where + ("[%d]" % number if isinstance(given, list) else "")
            raise InvalidInput(variable, address, "is a monitor target of %s (%s.monitor), which the role already "
                               "routes strictly into %s's table; leave it out here"
                               % (targets[prefix]["name"], targets[prefix]["variable"], targets[prefix]["name"]))


def _action(destination, where):
    """``strict`` (true: lookup-only-in-table, false: lookup), or ``action`` as RouterOS spells it; not both at odds."""
    strict = destination.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise InvalidInput("%s.strict" % where, strict, "is not true or false")
    action = destination.get("action")
    if action is not None and action not in RULE_ACTIONS:
        raise InvalidInput("%s.action" % where, action, "is not one of %s" % ", ".join(RULE_ACTIONS))
    if strict is not None and action is not None and STRICT_ACTION[strict] != action:
        raise InvalidInput("%s.action" % where, action, "contradicts strict: %s (which is action: %s)"
                           % (str(strict).lower(), STRICT_ACTION[strict]))
    return action or STRICT_ACTION[bool(strict)]


def _rule(destination, where, name, address, number, action):
    address_variable = "%s.dst_address" % where + ("" if number is None else "[%d]" % number)
    sources = {"name": Source(where + ".name", destination["name"]), "dst_address": Source(address_variable, address),
               "table": Source(where + ".wan", destination["wan"]),
               "action": Source(where + ".action", action) if "action" in destination
               else Source(where + ".strict", destination.get("strict"))}
    return Entry({"name": name, "dst_address": str(address), "table": destination["wan"], "action": action},
                 where, destination, sources)


def _check_placement(placement):
    if placement is None:
        return
    if not isinstance(placement, dict):
        raise InvalidInput(PLACEMENT, placement, "is not a dict with position (and anchor)")
    position = placement.get("position") or "bottom"
    if position not in PLACEMENT_POSITIONS:
        raise InvalidInput(PLACEMENT + ".position", position, "is not one of %s" % ", ".join(PLACEMENT_POSITIONS))
    if position == "before" and placement.get("anchor") in (None, ""):
        raise InvalidInput(PLACEMENT + ".anchor", placement.get("anchor"), "is required with position: before")


# ---------------------------------------------------------------------------
# Output exclusions


def _exclusions(settings):
    """``ros_mangle_exclusion`` config: LAN prefixes, tunnel interfaces, DNS (udp, tcp), gateway probes."""
    if not isinstance(settings, dict):
        raise InvalidInput(EXCLUSIONS, settings, "is not a dict")
    unknown = sorted(set(settings) - set(EXCLUSION_KEYS))
    if unknown:
        raise InvalidInput(EXCLUSIONS, unknown[0], "is not one of %s" % ", ".join(EXCLUSION_KEYS))
    entries = _listed(settings, "lan_prefixes", lambda prefix: {"name": "exclude-lan-%s" % prefix,
                                                                "dst_address": prefix}, "dst_address")
    entries += _listed(settings, "interfaces", lambda name: {"name": "exclude-if-%s" % name,
                                                             "out_interface": name}, "out_interface")
    if settings.get("dns"):
        entries += [Entry({"name": "exclude-dns-%s" % protocol, "protocol": protocol, "dst_port": "53"},
                          EXCLUSIONS + ".dns", settings["dns"]) for protocol in ("udp", "tcp")]
    entries += _listed(settings, "gateway_probes", lambda address: {"name": "exclude-probe-%s" % address,
                                                                    "dst_address": address}, "dst_address")
    return entries


def _listed(settings, key, config_of, option):
    values = settings.get(key) or []
    if isinstance(values, str) or not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise InvalidInput("%s.%s" % (EXCLUSIONS, key), values, "is not a list of strings")
    entries = []
    for number, value in enumerate(values):
        variable = "%s.%s[%d]" % (EXCLUSIONS, key, number)
        sources = {option: Source(variable, value), "name": Source(variable, value)}
        entries.append(Entry(config_of(value), variable, value, sources))
    return entries


# ---------------------------------------------------------------------------
# Small checks


def _unique(names, variable, key):
    seen = set()
    for name in names:
        if name in seen:
            raise InvalidInput("%s[].%s" % (variable, key), name, "appears more than once")
        seen.add(name)
