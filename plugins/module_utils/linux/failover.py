# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the failover agent owns, as data: the routes and rules that follow health and run-time facts.

The role converges a static layout (``linux.layout``) with the modules' tag: what the router does
with every WAN up, built only from what the inventory says. The agent lays a second set of routes
and rules over it, with a tag of its own (``routing["protocol"]``), computed here from what it sees:

- **health** (which WANs are up), one metric better than the static routes, so that the agent's
  win while they exist and the static ones take over again if the agent is gone:

  - table ``main``: the weighted default over the WANs that are up (the balance of new
    connections), one route per family;
  - each policy's table: its default, through the policy's own WAN while it is up, else as its
    ``fallback`` says: ``balance`` (the WANs that are up), ``none`` (strict: still its own WAN,
    so its traffic never leaks to another), or another WAN's name (that WAN while it is up, else
    its own).

- **run-time facts** (addresses and gateways), for the *dynamic* families of a WAN: those whose
  gateway is ``dhcp`` (learned from the DHCP client's or the RA's default route) or absent
  (point-to-point: routed by device), and those whose address the inventory does not give. No
  static layout can hold these: the role leaves them out, and the agent keeps them, whatever the
  WAN's health (its probes leave through them):

  - the WAN table's connected route (``<subnet> dev <WAN> src <address>``, or the peer's /32 of a
    point-to-point address) and default (``via <gateway>``, or ``dev <WAN>`` alone);
  - the ``from <WAN address> lookup <WAN table>`` rule, at the priority the layout gives it.

A WAN family is *usable* when the agent knows its address (when it knows facts at all) and its
gateway (or it routes by device). The balance and the fallbacks take only usable WANs; a family in
which no usable WAN is up keeps every usable WAN (a route through a dead gateway drops no more than
no route, and recovery needs no decision), and a family with no usable WAN gets no route from the
agent (the static ones, if any, carry on).

``facts``: ``{wan: {family: {"address": "198.51.100.2/24" or None, "peer": None or "100.64.9.1",
"gateway": "198.51.100.1" or None}}}``, what the agent reads off the kernel (``agent.uplinks``);
``None`` stands for "as configured" (the role's check: every WAN has its configured gateway).

``routing`` (rendered by the role from the inventory, JSON)::

    {"protocol": "212", "metric": 0, "balance": true, "mask": "0xff00",
     "wans": [{"name": "wan1", "device": "wan1", "table": 101, "weight": 1, "families": ["ipv4"],
               "gateway": {"ipv4": "dhcp"}, "dynamic": ["ipv4"], "from_priority": 1011}],
     "policies": [{"name": "https", "wan": "wan2", "table": 201, "families": ["ipv4"], "fallback": "balance"}]}

``gateway`` per family: an address, ``dhcp``, or absent (point-to-point). ``dynamic`` (default none)
and ``from_priority`` (needed when ``dynamic`` is not empty) say what the agent owns of the WAN.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import IPV4, IPV6
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import INTERFACE
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import protocol_tag

FALLBACKS = ("balance", "none")
MAIN = "main"
DHCP = "dhcp"
HOST_PREFIX = {IPV4: 32, IPV6: 128}


def runtime_tables(routing, up_by_family, facts=None):
    """``pbr_table`` config entries: the dynamic WAN tables, table main and every policy table.

    ``up_by_family``: ``{family: [names of the WANs up]}``; ``facts``: see the module docstring.
    """
    wans = [dict(wan, uplink=_uplinks(wan, facts)) for wan in routing["wans"]]
    by_name = dict((wan["name"], wan) for wan in wans)
    metric = int(routing.get("metric") or 0)
    tables = [table for table in (_wan_table(wan) for wan in wans) if table]
    if routing.get("balance", True):
        tables.append({"name": MAIN, "routes": [_default(members, family, metric) for family, members in
                                                _balance(wans, up_by_family).items() if members]})
    for policy in routing.get("policies") or []:
        defaults = [(family, _policy_members(policy, by_name, wans, up_by_family, family))
                    for family in policy["families"]]
        tables.append({"name": str(policy["table"]),
                       "routes": [_default(members, family, 0) for family, members in defaults if members]})
    return tables


def runtime_rules(routing, facts):
    """``pbr_rule`` config entries: ``from <WAN address> lookup <WAN table>`` for every dynamic family
    whose address the agent knows."""
    rules = []
    for wan in routing["wans"]:
        for family in wan.get("dynamic") or ():
            address = _fact(facts, wan, family).get("address")
            if address:
                rules.append({"priority": int(wan["from_priority"]), "family": family,
                              "from": _host(address), "table": int(wan["table"])})
    return rules


def usable(wan, family, facts):
    """Whether new connections can be routed through ``wan``'s ``family`` with what is known of it."""
    if family not in wan["families"]:
        return False
    if facts is None:
        return (wan.get("gateway") or {}).get(family) != DHCP
    uplink = _fact(facts, wan, family)
    return bool(uplink.get("address")) and bool(uplink.get("gateway") or _point_to_point(wan, family))


# -- the facts in use


def _fact(facts, wan, family):
    return ((facts or {}).get(wan["name"]) or {}).get(family) or {}


def _point_to_point(wan, family):
    return family not in (wan.get("gateway") or {})


def _uplinks(wan, facts):
    """``{family: {"usable", "gateway", "address", "peer"}}`` of one WAN: learned facts over configured ones."""
    uplinks = {}
    for family in wan["families"]:
        configured = (wan.get("gateway") or {}).get(family)
        uplink = dict(_fact(facts, wan, family)) if facts is not None else {}
        if facts is None:
            uplink["gateway"] = None if configured == DHCP else configured
        uplinks[family] = dict(uplink, usable=usable(wan, family, facts))
    return uplinks


def _host(address):
    return str(ipaddress.ip_interface(address).ip)


# -- the dynamic WAN tables


def _wan_table(wan):
    routes = []
    for family in wan.get("dynamic") or ():
        uplink = wan["uplink"][family]
        if not uplink.get("address"):
            continue
        routes.append(_connected(wan, family, uplink))
        if uplink["usable"]:
            routes.append(_default([wan], family, 0))
    return {"name": str(wan["table"]), "routes": routes} if routes else None


def _connected(wan, family, uplink):
    """The WAN's subnet (or, point-to-point, its peer) through the device, from the WAN's address."""
    interface = ipaddress.ip_interface(uplink["address"])
    destination = "%s/%d" % (uplink["peer"], HOST_PREFIX[family]) if uplink.get("peer") else str(interface.network)
    route = {"dst": destination, "dev": wan["device"], "src": str(interface.ip)}
    if family == IPV4:          # IPv6 routes have no scope but global (pbr_table refuses another)
        route["scope"] = "link"
    return route


# -- the balance and the policies


def _balance(wans, up_by_family):
    """``{family: [WANs the balance spreads new connections over]}``."""
    families = sorted(set(family for wan in wans for family in wan["families"]))
    return dict((family, _up_or_all(_usable_in(wans, family), up_by_family, family)) for family in families)


def _usable_in(wans, family):
    return [wan for wan in wans if family in wan["families"] and wan["uplink"][family]["usable"]]


def _up_or_all(candidates, up_by_family, family):
    up = set(up_by_family.get(family) or ())
    alive = [wan for wan in candidates if wan["name"] in up]
    return alive or candidates


def _is_up(wan, family, up_by_family):
    return wan["name"] in (up_by_family.get(family) or ()) and wan["uplink"][family]["usable"]


def _policy_members(policy, by_name, wans, up_by_family, family):
    own = by_name[policy["wan"]]
    own_route = [own] if family in own["families"] and own["uplink"][family]["usable"] else []
    if _is_up(own, family, up_by_family) or policy["fallback"] == "none":
        return own_route
    if policy["fallback"] == "balance":
        return _up_or_all(_usable_in(wans, family), up_by_family, family)
    other = by_name[policy["fallback"]]
    return [other] if family in other["families"] and _is_up(other, family, up_by_family) else own_route


def _default(members, family, metric):
    """One default route over ``members``: a plain route for one, a weighted multipath one for more."""
    route = {"dst": "default", "family": family}
    if family == IPV6:
        metric = max(metric, 1)         # the kernel stores IPv6 metric 0 as 1024
    if metric:
        route["metric"] = metric
    hops = [_hop(wan, family) for wan in members]
    if len(hops) == 1:
        route.update((key, value) for key, value in hops[0].items() if key != "weight")
    else:
        route["nexthops"] = hops
    return route


def _hop(wan, family):
    gateway = wan["uplink"][family].get("gateway")
    hop = {"dev": wan["device"], "weight": int(wan.get("weight") or 1)}
    if gateway:
        hop["via"] = gateway
    return hop


def check_routing(routing):
    """``InvalidInput`` naming the first thing in ``routing`` that ``runtime_tables`` could not use."""
    if not isinstance(routing, dict):
        raise InvalidInput("routing", routing, "must be an object")
    protocol_tag(routing.get("protocol"), None, "routing.protocol")
    wans = routing.get("wans")
    if not isinstance(wans, list) or not wans:
        raise InvalidInput("routing.wans", wans, "must be a non-empty list")
    names = [_checked_wan(wan, "routing.wans[%d]" % index) for index, wan in enumerate(wans)]
    for index, policy in enumerate(routing.get("policies") or []):
        field = "routing.policies[%d]" % index
        if not isinstance(policy, dict) or policy.get("wan") not in names:
            raise InvalidInput(field + ".wan", policy.get("wan") if isinstance(policy, dict) else policy,
                               "is not one of the WANs: %s" % ", ".join(names))
        if policy.get("fallback") not in FALLBACKS + tuple(names):
            raise InvalidInput(field + ".fallback", policy.get("fallback"),
                               "must be balance, none or a WAN's name")
        _checked_families(policy.get("families"), field + ".families")
    return routing


def _checked_wan(wan, field):
    if not isinstance(wan, dict) or not isinstance(wan.get("name"), str):
        raise InvalidInput(field + ".name", wan, "is required")
    INTERFACE.normalise(wan.get("device"), field + ".device")
    _checked_families(wan.get("families"), field + ".families")
    dynamic = wan.get("dynamic") or []
    if not isinstance(dynamic, list) or not set(dynamic) <= set(wan["families"]):
        raise InvalidInput(field + ".dynamic", dynamic, "must list some of the WAN's families")
    if dynamic:
        for key in ("table", "from_priority"):
            value = wan.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2 ** 32:
                raise InvalidInput("%s.%s" % (field, key), value, "must be a number 1 .. 2^32-1 for a WAN with dynamic "
                                   "families")
    gateways = wan.get("gateway") or {}
    if not isinstance(gateways, dict) or not set(gateways) <= set(wan["families"]):
        raise InvalidInput(field + ".gateway", gateways, "must map some of the WAN's families to an address or dhcp")
    return wan["name"]


def _checked_families(families, field):
    if not isinstance(families, list) or not families or not set(families) <= set((IPV4, IPV6)):
        raise InvalidInput(field, families, "must be a non-empty list of ipv4, ipv6")
