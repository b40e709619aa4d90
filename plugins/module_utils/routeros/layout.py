# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role ``routeros_dst_routing`` as data: inventory variables in, module configs out.

Seed 000's clean way: each WAN is a routing table with ``fib`` and a default route via
the WAN's gateway; each destination is a ``/routing rule dst-address=... table=<wan>``.
Optionally (seed 000's first remedy, for routers that must keep marking in
``chain=output``) ``action=return`` exclusions for LAN prefixes, tunnel interfaces, DNS and
gateway probes. Every name below becomes an ownership tag, so a second run matches the
entries the first one made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

RULE_ACTIONS = ("lookup", "lookup-only-in-table")
EXCLUSION_KEYS = ("lan_prefixes", "interfaces", "dns", "gateway_probes")


def layout(wans, destinations=None, output_exclusions=None):
    """``{tables, routes, rules, exclusions, only_in_table}`` for the modules and the audit."""
    wans = [_wan(wan, index) for index, wan in enumerate(wans or [])]
    wan_names = [wan["name"] for wan in wans]
    _unique(wan_names, "routeros_pbr_wans", "name")
    rules = []
    for index, destination in enumerate(destinations or []):
        rules.extend(_destination_rules(destination, index, wan_names))
    _unique([rule["name"] for rule in rules], "routeros_pbr_destinations", "name")
    return {
        "tables": [{"name": wan["name"], "fib": True} for wan in wans],
        "routes": [_default_route(wan) for wan in wans],
        "rules": rules,
        "exclusions": exclusions(output_exclusions or {}),
        "only_in_table": [{"dst_address": rule["dst_address"], "table": rule["table"]}
                          for rule in rules if rule["action"] == "lookup-only-in-table"],
    }


def _wan(wan, index):
    where = "routeros_pbr_wans[%d]" % index
    if not isinstance(wan, dict):
        raise InvalidInput(where, wan, "is not a dict with name and gateway")
    for key in ("name", "gateway"):
        if not wan.get(key):
            raise InvalidInput("%s.%s" % (where, key), wan.get(key), "is required")
    return {"name": str(wan["name"]), "gateway": str(wan["gateway"]), "distance": wan.get("distance") or 1,
            "check_gateway": wan.get("check_gateway")}


def _default_route(wan):
    route = {"name": "%s-default" % wan["name"], "dst_address": "0.0.0.0/0", "gateway": wan["gateway"],
             "distance": wan["distance"], "routing_table": wan["name"]}
    if wan["check_gateway"]:
        route["check_gateway"] = wan["check_gateway"]
    return route


def _destination_rules(destination, index, wan_names):
    """One rule per address: ``<name>`` for a single address, ``<name>.1``, ``<name>.2`` ... for a list."""
    where = "routeros_pbr_destinations[%d]" % index
    if not isinstance(destination, dict) or not destination.get("name"):
        raise InvalidInput("%s.name" % where, destination, "is required")
    if destination.get("wan") not in wan_names:
        raise InvalidInput("%s.wan" % where, destination.get("wan"), "is not the name of a WAN in routeros_pbr_wans "
                           "(%s)" % ", ".join(wan_names))
    action = destination.get("action") or "lookup"
    if action not in RULE_ACTIONS:
        raise InvalidInput("%s.action" % where, action, "is not one of %s" % ", ".join(RULE_ACTIONS))
    given = destination.get("dst_address")
    addresses = [given] if isinstance(given, str) else list(given or [])
    if not addresses:
        raise InvalidInput("%s.dst_address" % where, given, "is required")
    # A list always numbers its rules, so growing it renames nothing.
    names = [destination["name"]] if isinstance(given, str) else [
        "%s.%d" % (destination["name"], number) for number in range(1, len(addresses) + 1)]
    return [{"name": name, "dst_address": str(address), "table": destination["wan"], "action": action}
            for name, address in zip(names, addresses)]


def exclusions(settings):
    """``ros_mangle_exclusion`` config: LAN prefixes, tunnel interfaces, DNS (udp, tcp), gateway probes."""
    unknown = sorted(set(settings) - set(EXCLUSION_KEYS))
    if unknown:
        raise InvalidInput("routeros_pbr_output_exclusions", unknown[0], "is not one of %s" % ", ".join(EXCLUSION_KEYS))
    config = [{"name": "exclude-lan-%s" % prefix, "dst_address": prefix} for prefix in _strings(settings, "lan_prefixes")]
    config += [{"name": "exclude-if-%s" % name, "out_interface": name} for name in _strings(settings, "interfaces")]
    if settings.get("dns"):
        config += [{"name": "exclude-dns-%s" % protocol, "protocol": protocol, "dst_port": "53"} for protocol in ("udp", "tcp")]
    config += [{"name": "exclude-probe-%s" % address, "dst_address": address}
               for address in _strings(settings, "gateway_probes")]
    return config


def _strings(settings, key):
    values = settings.get(key) or []
    if isinstance(values, str) or not all(isinstance(value, str) for value in values):
        raise InvalidInput("routeros_pbr_output_exclusions.%s" % key, values, "is not a list of strings")
    return values


def _unique(names, variable, key):
    seen = set()
    for name in names:
        if name in seen:
            raise InvalidInput("%s[].%s" % (variable, key), name, "appears more than once")
        seen.add(name)
