# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role ``linux_multiwan`` as data: inventory variables in, module configs out.

A pure function, so that every decision the role makes (table ids, marks, rule
priorities, which routes go where) is unit-tested without a router, and the role's
tasks only hand the result to the modules.

The priority band, relative to ``priority_base`` (default 1000):

===============  ===========================================================
base + 0         ``lookup main suppress_prefixlength 0``: local and connected
                 destinations (and every route more specific than a default)
                 keep winning over the WAN tables.
base + 10 + i    ``from <WAN i address> lookup <WAN i>``: traffic that already
                 has a WAN's source address leaves by that WAN (router-originated,
                 and replies conntrack could not mark, seed 002).
base + 100 + i   ``fwmark <WAN i mark>/<mask> lookup <WAN i>``: every packet of a
                 connection classified by nft_connmark stays on its WAN.
base + 1000 ...  policies, ten priorities each (one per destination prefix).
base + 1999      the end of the band; the user's own rules go outside it.
===============  ===========================================================

Tables: WAN ``i`` gets ``table_base + i`` unless it names one; policies with
``exclude`` get ``table_base + 100 + i`` (a copy of the WAN's default plus ``throw``
routes, seed 004). Every WAN and policy table ends in a last-resort route
(``unreachable`` by default) so marked traffic never falls through to another WAN.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import IPV4, IPV6
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

FAMILIES = {"ipv4": (IPV4,), "ipv6": (IPV6,), "both": (IPV4, IPV6)}
# Every real route beats it. Not 0xffffffff: `ip -6 route flush` never removes an IPv6
# `unreachable default metric 0xffffffff` (it spares what it takes for the kernel's null
# route), so multiwan-pbr.service's flush by protocol would leave those behind.
LAST_RESORT_METRIC = 4294967294
POLICY_BAND, POLICY_BAND_END, POLICY_STRIDE = 1000, 1999, 10
DEFAULTS = dict(priority_base=1000, table_base=100, mask="0xff00", protocol="211", balance=True,
                balance_metric=0, last_resort="unreachable", nft_table="multiwan_pbr")


def layout(wans, policies=None, lan_networks=None, exclude=None, settings=None, interfaces=None):
    """Module configs for ``pbr_table``, ``pbr_rule`` and ``nft_connmark``, plus sysctls.

    ``interfaces`` is ``ip -json addr show`` from the router, used for WAN addresses
    the inventory does not give.
    """
    settings = dict(DEFAULTS, **(settings or {}))
    wan_list = [_wan(item, index, settings, interfaces or []) for index, item in enumerate(wans or [], 1)]
    _reject_duplicates(wan_list, "multiwan_wans", ("name", "device", "table", "mark"))
    by_name = dict((wan["name"], wan) for wan in wan_list)
    policy_list = [_policy(item, index, by_name, settings) for index, item in enumerate(policies or [], 1)]
    _reject_duplicates(policy_list, "multiwan_policies", ("name",))
    return {
        "tables": _wan_tables(wan_list, settings) + _policy_tables(policy_list, settings)
        + _main_table(wan_list, settings),
        "rules": _base_rules(wan_list, settings) + [rule for policy in policy_list for rule in policy["rules"]],
        "nft": _nft(wan_list, exclude or {}, settings),
        "sysctls": _sysctls(wan_list),
        "wans": wan_list,
        "lan_networks": [addresses.prefix(value, "multiwan_lan_networks") for value in lan_networks or []],
    }


# ---------------------------------------------------------------------------
# WANs


def _wan(item, index, settings, interfaces):
    field = "multiwan_wans[%d]" % (index - 1)
    name, device = _required(item, field, "name"), _required(item, field, "device")
    family = item.get("family") or IPV4
    if family not in FAMILIES:
        raise InvalidInput(field + ".family", family, "must be one of ipv4, ipv6, both")
    gateways = _by_family(item.get("gateway"), field + ".gateway", FAMILIES[family])
    given = _by_family(item.get("address"), field + ".address", FAMILIES[family], prefixes=True)
    found = _interface_addresses(interfaces, device)
    return {
        "name": name,
        "device": device,
        "index": index,
        "weight": _positive(item.get("weight", 1), field + ".weight"),
        "table": int(item.get("table") or settings["table_base"] + index),
        "mark": item.get("mark") or derived_mark(index, settings["mask"]),
        "masquerade": item.get("masquerade", True),
        "families": FAMILIES[family],
        "gateway": gateways,
        "address": dict((fam, given.get(fam) or _found(found, fam, field, device)) for fam in FAMILIES[family]),
    }


def derived_mark(index, mask):
    """WAN ``index`` (1-based) shifted to the lowest bit of ``mask``: 0xff00 -> 0x100, 0x200 ..."""
    mask_value = int(str(mask), 0)
    if mask_value <= 0:
        raise InvalidInput("multiwan_mark_mask", mask, "must have at least one bit set")
    lowest_bit = mask_value & -mask_value
    mark = index * lowest_bit
    if mark & ~mask_value:
        raise InvalidInput("multiwan_wans", index, "more WANs than the mark mask %s can number" % mask)
    return "0x%x" % mark


def _by_family(value, field, families, prefixes=False):
    values = value if isinstance(value, list) else [value] if value else []
    normalise = addresses.prefix if prefixes else addresses.address
    found = {}
    for text in values:
        normalised = normalise(text, field)
        family = addresses.family_of(normalised)
        if family not in families:
            raise InvalidInput(field, text, "is %s but the WAN's family is %s" % (family, "/".join(families)))
        found[family] = _host_prefix(text, normalised) if prefixes else normalised
    if not prefixes:
        for family in families:
            if family not in found:
                raise InvalidInput(field, value, "needs an %s gateway" % family)
    return found


def _host_prefix(text, network):
    """Keep the host part of ``198.51.100.2/30``: the WAN's address, and its subnet."""
    host = addresses.address(str(text).split("/", maxsplit=1)[0], "address")
    return {"address": host, "network": network}


def _interface_addresses(interfaces, device):
    for link in interfaces:
        if link.get("ifname") == device:
            return [info for info in link.get("addr_info", []) if info.get("scope") == "global"]
    return []


def _found(found, family, field, device):
    wanted_family = "inet6" if family == IPV6 else "inet"
    for info in found:
        if info.get("family") == wanted_family:
            text = "%s/%s" % (info["local"], info["prefixlen"])
            return _host_prefix(text, addresses.prefix(text, field + ".address"))
    raise InvalidInput(field + ".address", None,
                       "is not given and device %s has no global %s address" % (device, family))


# ---------------------------------------------------------------------------
# Policies


def _policy(item, index, wans_by_name, settings):
    field = "multiwan_policies[%d]" % (index - 1)
    name, wan_name = _required(item, field, "name"), _required(item, field, "wan")
    if wan_name not in wans_by_name:
        raise InvalidInput(field + ".wan", wan_name, "is not the name of a WAN in multiwan_wans")
    wan = wans_by_name[wan_name]
    base = settings["priority_base"]
    priority = int(item.get("priority") or base + POLICY_BAND + POLICY_STRIDE * (index - 1))
    if not base + POLICY_BAND <= priority <= base + POLICY_BAND_END:
        raise InvalidInput(field + ".priority", priority, "is outside the policy band %d-%d"
                           % (base + POLICY_BAND, base + POLICY_BAND_END))
    excludes = [addresses.prefix(value, field + ".exclude") for value in item.get("exclude") or []]
    policy = {"name": name, "wan": wan, "excludes": excludes, "index": index,
              "table": settings["table_base"] + 100 + index if excludes else wan["table"],
              "table_name": "%s_%s" % (wan["name"], name) if excludes else wan["name"]}
    policy["rules"] = _policy_rules(item, field, policy, priority)
    return policy


def _policy_rules(item, field, policy, priority):
    selectors = dict((key, item[key]) for key in ("from", "ipproto", "sport", "dport", "iif", "uidrange")
                     if item.get(key) not in (None, ""))
    destinations = item.get("to") or [None]
    destinations = destinations if isinstance(destinations, list) else [destinations]
    if len(destinations) > POLICY_STRIDE:
        raise InvalidInput(field + ".to", destinations, "has more than %d prefixes" % POLICY_STRIDE)
    rules = []
    for offset, destination in enumerate(destinations):
        for family in _rule_families(policy["wan"], destination, selectors.get("from"), field):
            rule = dict(selectors, priority=priority + offset, table=policy["table"], family=family)
            if destination:
                rule["to"] = destination
            rules.append(rule)
    return rules


def _rule_families(wan, destination, source, field):
    given = [addresses.family_of(addresses.prefix(value, field)) for value in (destination, source) if value]
    families = tuple(sorted(set(given))) if given else wan["families"]
    for family in families:
        if family not in wan["families"]:
            raise InvalidInput(field, destination or source, "is %s but WAN %s carries %s"
                               % (family, wan["name"], "/".join(wan["families"])))
    return families


# ---------------------------------------------------------------------------
# Module configs


def _wan_tables(wans, settings):
    return [{"name": wan["name"], "id": wan["table"],
             "routes": _wan_routes(wan) + _last_resort(wan["families"], settings)} for wan in wans]


def _wan_routes(wan):
    routes = []
    for family in wan["families"]:
        address = wan["address"][family]
        connected = {"dst": address["network"], "dev": wan["device"], "src": address["address"]}
        if family == IPV4:          # IPv6 routes have no scope but global (pbr_table refuses another)
            connected["scope"] = "link"
        routes.append(connected)
        routes.append({"dst": addresses.DEFAULT_PREFIX[family], "via": wan["gateway"][family], "dev": wan["device"]})
    return routes


def _last_resort(families, settings):
    if settings["last_resort"] == "default":       # fall through to the main table, like mwan3's "default"
        return []
    return [{"dst": addresses.DEFAULT_PREFIX[family], "type": settings["last_resort"], "metric": LAST_RESORT_METRIC}
            for family in families]


def _policy_tables(policies, settings):
    tables = []
    for policy in (p for p in policies if p["excludes"]):
        wan = policy["wan"]
        throws = [{"dst": prefix, "type": "throw"} for prefix in policy["excludes"]]
        defaults = [route for route in _wan_routes(wan) if addresses.is_default(route["dst"])]
        tables.append({"name": policy["table_name"], "id": policy["table"],
                       "routes": throws + defaults + _last_resort(wan["families"], settings)})
    return tables


def _main_table(wans, settings):
    if not settings["balance"] or not wans:
        return []
    routes = []
    for family in (IPV4, IPV6):
        members = [wan for wan in wans if family in wan["families"]]
        if members:
            route = {"dst": addresses.DEFAULT_PREFIX[family], "metric": _balance_metric(family, settings)}
            route.update(_next_hops(members, family))
            routes.append(route)
    return [{"name": "main", "routes": routes}]


def _balance_metric(family, settings):
    # The kernel stores IPv6 metric 0 as 1024: behind every router advertisement's default.
    # 1 is the best IPv6 metric there is.
    metric = int(settings["balance_metric"])
    return max(metric, 1) if family == IPV6 else metric


def _next_hops(members, family):
    # A multipath route needs two next hops (pbr_table refuses one, as `ip` would print it
    # back as a plain route): a family that one WAN carries gets a plain via/dev route.
    if len(members) == 1:
        return {"via": members[0]["gateway"][family], "dev": members[0]["device"]}
    return {"nexthops": [{"via": wan["gateway"][family], "dev": wan["device"], "weight": wan["weight"]}
                         for wan in members]}


def _base_rules(wans, settings):
    base, mask = settings["priority_base"], settings["mask"]
    families = sorted(set(family for wan in wans for family in wan["families"]))
    rules = [{"priority": base, "family": family, "table": "main", "suppress_prefixlength": 0} for family in families]
    for wan in wans:
        for family in wan["families"]:
            rules.append({"priority": base + 10 + wan["index"], "family": family,
                          "from": wan["address"][family]["address"], "table": wan["table"]})
            rules.append({"priority": base + 100 + wan["index"], "family": family,
                          "fwmark": wan["mark"], "fwmask": mask, "table": wan["table"]})
    return rules


def _nft(wans, exclude, settings):
    return {
        "table": settings["nft_table"],
        "mask": settings["mask"],
        "wans": [{"name": wan["name"], "device": wan["device"], "mark": wan["mark"],
                  "masquerade": bool(wan["masquerade"])} for wan in wans],
        "exclude": {"devices": list(exclude.get("devices") or []),
                    "destinations": list(exclude.get("destinations") or [])},
    }


def _sysctls(wans):
    # rp_filter's effective value is max(all, device): loose (2) on the WANs is enough,
    # and the LAN keeps whatever strictness the admin chose.
    values = {"net.ipv4.ip_forward": "1", "net.ipv4.fib_multipath_hash_policy": "1"}
    for wan in wans:
        device = wan["device"].replace(".", "/")       # sysctl spells VLAN dots as slashes
        values["net.ipv4.conf.%s.rp_filter" % device] = "2"
        values["net.ipv4.conf.%s.src_valid_mark" % device] = "1"
    if any(IPV6 in wan["families"] for wan in wans):
        values["net.ipv6.conf.all.forwarding"] = "1"
        values["net.ipv6.fib_multipath_hash_policy"] = "1"
    return values


def sysctl_changes(wanted, current_values):
    """``key=value`` for every wanted setting whose current value (``sysctl -n``, in
    ``wanted``'s order) differs; whitespace inside values is not significant to sysctl."""
    changes = []
    for (key, value), current in zip(wanted.items(), current_values):
        if " ".join(str(current).split()) != " ".join(str(value).split()):
            changes.append("%s=%s" % (key, value))
    return changes


# ---------------------------------------------------------------------------
# Small checks


def _required(item, field, key):
    value = item.get(key)
    if value in (None, ""):
        raise InvalidInput("%s.%s" % (field, key), value, "is required")
    return value


def _positive(value, field):
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise InvalidInput(field, value, "must be a whole number of at least 1")
    return number


def _reject_duplicates(items, field, keys):
    for key in keys:
        seen = set()
        for item in items:
            if item[key] in seen:
                raise InvalidInput("%s[].%s" % (field, key), item[key], "appears more than once")
            seen.add(item[key])
