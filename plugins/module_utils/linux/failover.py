# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The routes that follow which WANs are up: what the failover agent owns, as data.

The role converges a static layout (``linux.layout``) with the modules' tag; it is what the
router does with every WAN up, and it works on its own. The agent lays a second set of
routes over it, with a tag of its own (``routing["protocol"]``), one metric better, so that
its routes win while they exist and the static ones take over again if the agent is gone:

- table ``main``: the weighted default over the WANs that are up (the balance of new
  connections), one route per family;
- each policy's table: its default, through the policy's own WAN while it is up, else as its
  ``fallback`` says: ``balance`` (the WANs that are up), ``none`` (strict: still its own WAN,
  so its traffic never leaks to another), or another WAN's name (that WAN while it is up, else
  its own).

A family in which no WAN is up keeps every WAN: a route through a dead gateway drops no more
than no route, and recovery needs no decision. ``runtime_tables`` is a pure function of the
routing settings, the WANs that are up and the gateways in use, returning ``pbr_table``
config entries; the agent applies them through the ``pbr_table`` engine, and the role can
render the same for "every WAN up".

``routing`` (rendered by the role from the inventory, JSON)::

    {"protocol": "212", "metric": 0, "balance": true, "mask": "0xff00",
     "wans": [{"name": "wan1", "device": "wan1", "table": 101, "weight": 1, "families": ["ipv4"],
               "gateway": {"ipv4": "192.0.2.1"}}],
     "policies": [{"name": "https", "wan": "wan2", "table": 201, "families": ["ipv4"], "fallback": "balance"}]}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import IPV4, IPV6
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import INTERFACE
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import protocol_tag

FALLBACKS = ("balance", "none")
MAIN = "main"


def runtime_tables(routing, up_by_family, gateways=None):
    """``pbr_table`` config entries for table main and every policy table.

    ``up_by_family``: ``{family: [names of the WANs up]}``; ``gateways``: ``{name: {family: address
    or None}}`` in use (learned ones for DHCP/RA WANs), defaulting to the configured ones.
    """
    wans = [dict(wan, gateway=_gateways_in_use(wan, gateways)) for wan in routing["wans"]]
    by_name = dict((wan["name"], wan) for wan in wans)
    metric = int(routing.get("metric") or 0)
    tables = []
    if routing.get("balance", True):
        tables.append({"name": MAIN, "routes": [_default(members, family, metric) for family, members in
                                                _balance(wans, up_by_family).items()]})
    for policy in routing.get("policies") or []:
        routes = [_default(_policy_members(policy, by_name, wans, up_by_family, family), family, 0)
                  for family in policy["families"]]
        tables.append({"name": str(policy["table"]), "routes": routes})
    return tables


def _gateways_in_use(wan, gateways):
    configured = dict(wan.get("gateway") or {})
    learned = (gateways or {}).get(wan["name"])
    return dict(configured, **learned) if learned else configured


def _balance(wans, up_by_family):
    """``{family: [WANs the balance spreads new connections over]}``."""
    families = sorted(set(family for wan in wans for family in wan["families"]))
    return dict((family, _up_or_all([wan for wan in wans if family in wan["families"]], up_by_family, family))
                for family in families)


def _up_or_all(candidates, up_by_family, family):
    up = set(up_by_family.get(family) or ())
    alive = [wan for wan in candidates if wan["name"] in up]
    return alive or candidates


def _policy_members(policy, by_name, wans, up_by_family, family):
    own = by_name[policy["wan"]]
    up = set(up_by_family.get(family) or ())
    if own["name"] in up or policy["fallback"] == "none":
        return [own]
    if policy["fallback"] == "balance":
        return _up_or_all([wan for wan in wans if family in wan["families"]], up_by_family, family)
    other = by_name[policy["fallback"]]
    return [other] if other["name"] in up and family in other["families"] else [own]


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
    gateway = wan["gateway"].get(family)
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
    return wan["name"]


def _checked_families(families, field):
    if not isinstance(families, list) or not families or not set(families) <= set((IPV4, IPV6)):
        raise InvalidInput(field, families, "must be a non-empty list of ipv4, ipv6")
