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

Bad input changes nothing (issue 11, defect 7): every config made here goes through the engine
of the module that gets it, offline, as that module checks ``state: rendered``
(``core.role_input``), and a refusal names the inventory variable and its value. Nothing is
corrected on the way: ``distance: 0`` is refused (RouterOS takes 1-255), never turned into 1.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.role_input import Entry, Source, checked_records, inventory_list
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import (
    ros_mangle_exclusion, ros_route, ros_routing_rule, ros_routing_table)

RULE_ACTIONS = ("lookup", "lookup-only-in-table")
EXCLUSION_KEYS = ("lan_prefixes", "interfaces", "dns", "gateway_probes")
PLACEMENT_POSITIONS = ("top", "bottom", "before")
WANS, DESTINATIONS = "routeros_pbr_wans", "routeros_pbr_destinations"
EXCLUSIONS, PLACEMENT = "routeros_pbr_output_exclusions", "routeros_pbr_rule_placement"


def layout(wans, destinations=None, output_exclusions=None, placement=None):
    """``{tables, routes, rules, exclusions, only_in_table}`` for the modules and the audit, all checked."""
    wans = [_wan(wan, index) for index, wan in enumerate(inventory_list(wans, WANS))]
    wan_names = [wan["name"] for wan in wans]
    _unique(wan_names, WANS, "name")
    rules = []
    for index, destination in enumerate(inventory_list(destinations, DESTINATIONS)):
        rules.extend(_destination_rules(destination, index, wan_names))
    _unique([rule.config["name"] for rule in rules], DESTINATIONS, "name")
    _check_placement(placement)
    entries = {
        "tables": [_table(wan) for wan in wans],
        "routes": [_default_route(wan) for wan in wans],
        "rules": rules,
        "exclusions": _exclusions(output_exclusions or {}),
    }
    for key, engine in (("tables", ros_routing_table), ("routes", ros_route), ("rules", ros_routing_rule),
                        ("exclusions", ros_mangle_exclusion)):
        checked_records(engine.ENGINE, {}, entries[key])
    configs = dict((key, [entry.config for entry in value]) for key, value in entries.items())
    configs["only_in_table"] = [{"dst_address": rule["dst_address"], "table": rule["table"]}
                                for rule in configs["rules"] if rule["action"] == "lookup-only-in-table"]
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
    # distance and check_gateway go to ros_route as given: its own check refuses distance 0
    return {"name": str(wan["name"]), "gateway": str(wan["gateway"]), "distance": wan.get("distance"),
            "check_gateway": wan.get("check_gateway"), "item": wan, "variable": where}


def _table(wan):
    return Entry({"name": wan["name"], "fib": True}, wan["variable"], wan["item"],
                 {"name": Source(wan["variable"] + ".name", wan["item"]["name"])})


def _default_route(wan):
    route = {"name": "%s-default" % wan["name"], "dst_address": "0.0.0.0/0", "gateway": wan["gateway"],
             "distance": 1 if wan["distance"] is None else wan["distance"], "routing_table": wan["name"]}
    if wan["check_gateway"]:
        route["check_gateway"] = wan["check_gateway"]
    sources = dict((option, Source("%s.%s" % (wan["variable"], key), wan["item"].get(key))) for option, key in (
        ("name", "name"), ("routing_table", "name"), ("gateway", "gateway"), ("distance", "distance"),
        ("check_gateway", "check_gateway")))
    return Entry(route, wan["variable"], wan["item"], sources)


# ---------------------------------------------------------------------------
# Destinations


def _destination_rules(destination, index, wan_names):
    """One rule per address: ``<name>`` for a single address, ``<name>.1``, ``<name>.2`` ... for a list."""
    where = "%s[%d]" % (DESTINATIONS, index)
    if not isinstance(destination, dict) or not destination.get("name"):
        raise InvalidInput("%s.name" % where, destination, "is required")
    if destination.get("wan") not in wan_names:
        raise InvalidInput("%s.wan" % where, destination.get("wan"), "is not the name of a WAN in %s (%s)"
                           % (WANS, ", ".join(wan_names)))
    action = destination.get("action") or "lookup"
    if action not in RULE_ACTIONS:
        raise InvalidInput("%s.action" % where, action, "is not one of %s" % ", ".join(RULE_ACTIONS))
    given = destination.get("dst_address")
    if given in (None, "", []):
        raise InvalidInput("%s.dst_address" % where, given, "is required")
    addresses = given if isinstance(given, list) else [given]
    # A list always numbers its rules, so growing it renames nothing.
    names = [destination["name"]] if not isinstance(given, list) else [
        "%s.%d" % (destination["name"], number) for number in range(1, len(addresses) + 1)]
    return [_rule(destination, where, name, address, number if isinstance(given, list) else None, action)
            for number, (name, address) in enumerate(zip(names, addresses))]


def _rule(destination, where, name, address, number, action):
    address_variable = "%s.dst_address" % where + ("" if number is None else "[%d]" % number)
    sources = {"name": Source(where + ".name", destination["name"]), "dst_address": Source(address_variable, address),
               "table": Source(where + ".wan", destination["wan"]), "action": Source(where + ".action", action)}
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
