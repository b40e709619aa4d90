# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role ``linux_multiwan`` as data: inventory variables in, checked module configs out.

A pure function, so that every decision the role makes (table ids, marks, rule
priorities, which routes go where) is unit-tested without a router, and the role's
tasks only hand the result to the modules.

Bad input changes nothing (issue 11, defect 7): ``layout`` checks every variable, then runs
every config it made through the engine of the module that will get it, offline, exactly as
that module checks ``state: rendered`` (``core.role_input``). A refusal is ``InvalidInput``
naming the inventory variable and its value (``multiwan_policies[2].dport='0'``). Without
``interfaces`` (the role's first task, before anything is installed or read on the router)
a WAN address the inventory leaves to the device is a documentation placeholder
(``PLACEHOLDER_ADDRESS``): that result is for the check only.

Identities depend on names, never on positions (defect 13): reordering ``multiwan_wans``,
adding or removing a WAN must not renumber another WAN's mark or table, because a new mark
resets every connection conntrack holds for the WAN (its NAT bindings with it).

- a WAN's mark: ``mark``, else derived from its name (``nft_connmark.default_mark``);
- a WAN's table: ``table``, else ``table_base + 1 .. table_base + 999`` derived from its name;
- a policy's own table (policies with ``exclude``): ``table``, else
  ``table_base + 1001 .. table_base + 1999`` derived from its name;
- a derived value that another WAN or policy already has is refused, never moved: the
  message asks for an explicit value on the one that was added and names free ones.

Outputs are sorted by table id, so the order of ``multiwan_wans`` changes nothing the
modules see, not even the order of a multipath route's next hops.

The priority band, relative to ``priority_base`` (default 1000):

===============  ===========================================================
base + 0         ``lookup main suppress_prefixlength 0``: local and connected
                 destinations (and every route more specific than a default)
                 keep winning over the WAN tables.
base + 10 + r    ``from <WAN address> lookup <WAN>``: traffic that already
                 has a WAN's source address leaves by that WAN (router-originated,
                 and replies conntrack could not mark, seed 002).
base + 100 + r   ``fwmark <WAN mark>/<mask> lookup <WAN>``: every packet of a
                 connection classified by nft_connmark stays on its WAN.
base + 1000 ...  policies, ten priorities each (one per destination prefix).
base + 1999      the end of the band; the user's own rules go outside it.
===============  ===========================================================

``r`` is the WAN's rank by table id (1 for the lowest). These rules do not overlap
(distinct source addresses, distinct marks), so their order among WANs means nothing; a
WAN added below others moves their rules by one priority, each added before the old one
goes, their tables and marks unchanged.

Every WAN and policy table ends in a last-resort route (``unreachable`` by default) so
marked traffic never falls through to another WAN.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import config as agent_config
from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import IPV4, IPV6
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import (
    BOOLEAN, INTERFACE, PORT_RANGE, UID_RANGE, choice, integer, number_from_name)
from ansible_collections.multiwan.pbr.plugins.module_utils.core.role_input import Entry, Source, checked_records, inventory_list
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import failover, nft_connmark, pbr_rule, pbr_table
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import protocol_tag

FAMILIES = {"ipv4": (IPV4,), "ipv6": (IPV6,), "both": (IPV4, IPV6)}
# Every real route beats it. Not 0xffffffff: `ip -6 route flush` never removes an IPv6
# `unreachable default metric 0xffffffff` (it spares what it takes for the kernel's null
# route), so multiwan-pbr.service's flush by protocol would leave those behind.
LAST_RESORT_METRIC = 4294967294
BAND, POLICY_BAND, POLICY_BAND_END, POLICY_STRIDE = 1999, 1000, 1999, 10
FROM_RULES, MARK_RULES, MAX_WANS = 10, 100, 89
# The kernel's own rules: `lookup local` at 0, `lookup main` at 32766, `lookup default` at 32767.
KERNEL_PRIORITIES = (0, 32766, 32767)
TABLE_SLOTS, POLICY_TABLES = 999, 1000
RESERVED_TABLE_IDS = (0, 253, 254, 255)
# iproute2 ignores an rt_tables.d line whose id is 2^31 or more (issue 11, defect 15).
MAX_TABLE_ID = 2 ** 31 - 1
MAX_U32 = 4294967295
PLACEHOLDER_ADDRESS = {IPV4: "192.0.2.1/32", IPV6: "2001:db8::1/128"}
PLACEHOLDER_GATEWAY = {IPV4: "192.0.2.254", IPV6: "fe80::1"}
UNIT_NAME = "multiwan-pbr.service"
STATUS_FILE = "/run/multiwan-pbr/status.json"
FALLBACKS = ("balance", "none")

DEFAULTS = dict(priority_base=1000, table_base=100, mask="0xff00", protocol="211", balance=True,
                balance_metric=0, last_resort="unreachable", nft_table="multiwan_pbr",
                failover=True, agent_protocol="212", status_file=STATUS_FILE,
                hooks_dir=agent_config.DEFAULT_HOOKS_DIRECTORY, hook_timeout=agent_config.DEFAULT_HOOK_TIMEOUT,
                metrics_file="", metrics_listen="",
                config_dir="/etc/multiwan-pbr", sysctl_file="/etc/sysctl.d/60-multiwan-pbr.conf",
                unit_file="/etc/systemd/system/" + UNIT_NAME)
# The inventory variable behind each setting, for messages.
VARIABLES = dict(priority_base="multiwan_priority_base", table_base="multiwan_table_base", mask="multiwan_mark_mask",
                 protocol="multiwan_protocol", balance="multiwan_balance", balance_metric="multiwan_balance_metric",
                 last_resort="multiwan_last_resort", nft_table="multiwan_nft_table",
                 failover="multiwan_failover", agent_protocol="multiwan_agent_protocol",
                 status_file="multiwan_status_file", hooks_dir="multiwan_hooks_dir",
                 hook_timeout="multiwan_hook_timeout", metrics_file="multiwan_metrics_file",
                 metrics_listen="multiwan_metrics_listen",
                 config_dir="multiwan_config_dir", sysctl_file="multiwan_sysctl_file", unit_file="multiwan_unit_file")
WAN_KEYS = dict(name="name", device="device", gateway="gateway", weight="weight", table="table", mark="mark",
                masquerade="masquerade", family="family", address="address", track="track")
SELECTORS = ("from", "ipproto", "sport", "dport", "iif", "uidrange")


def layout(wans, policies=None, lan_networks=None, exclude=None, settings=None, interfaces=None):
    """Module configs for ``pbr_table``, ``pbr_rule`` and ``nft_connmark``, plus sysctls, all checked.

    ``interfaces`` is ``ip -json addr show`` from the router, used for WAN addresses the inventory
    does not give; ``None`` checks the inventory before the router is read (placeholders instead).
    """
    settings = checked_settings(dict(DEFAULTS, **(settings or {})))
    wan_list = _wans(inventory_list(wans, "multiwan_wans"), settings, interfaces)
    by_name = dict((wan["name"], wan) for wan in wan_list)
    policy_list = _policies(inventory_list(policies, "multiwan_policies"), by_name, settings)
    exclude = _exclusions(exclude)
    result = {
        "tables": _wan_tables(wan_list, settings) + _policy_tables(policy_list, settings)
        + _main_table(wan_list, settings),
        "agent": _agent_config(wan_list, policy_list, settings),
        "rules": sorted(_base_rules(wan_list, settings) + [entry for policy in policy_list for entry in policy["rules"]],
                        key=lambda entry: (entry.config["priority"], entry.config["family"])),
        "nft": _nft(wan_list, exclude, settings),
        "sysctls": _sysctls(wan_list),
        "live_sysctls": _live_sysctls(_sysctls(wan_list), wan_list, interfaces),
        "wans": [_public(wan) for wan in wan_list],
        "lan_networks": [addresses.prefix(value, "multiwan_lan_networks[%d]" % index)
                         for index, value in enumerate(inventory_list(lan_networks, "multiwan_lan_networks"))],
    }
    _check_with_engines(result, settings)
    return dict(result, tables=[entry.config for entry in result["tables"]],
                rules=[entry.config for entry in result["rules"]], nft=result["nft"].config)


def sysctl_changes(wanted, current_values):
    """``key=value`` for every wanted setting whose current value (``sysctl -n``, in
    ``wanted``'s order) differs; whitespace inside values is not significant to sysctl."""
    changes = []
    for (key, value), current in zip(wanted.items(), current_values):
        if " ".join(str(current).split()) != " ".join(str(value).split()):
            changes.append("%s=%s" % (key, value))
    return changes


# ---------------------------------------------------------------------------
# Settings


def checked_settings(settings):
    """The role's single-valued variables, each checked; numbers become ints."""
    checked = dict(settings)
    for key, check in _SETTING_CHECKS:
        checked[key] = check(settings[key], VARIABLES[key])
    checked["agent_protocol"] = _protocol(settings["agent_protocol"], VARIABLES["agent_protocol"])
    if checked["agent_protocol"] == checked["protocol"]:
        raise InvalidInput(VARIABLES["agent_protocol"], settings["agent_protocol"], "must differ from "
                           "multiwan_protocol (%s): the agent's routes and the modules' are told apart by it"
                           % settings["protocol"])
    return checked


def _priority_base(value, variable):
    base = integer(1, MAX_U32 - BAND).normalise(value, variable)
    inside = [priority for priority in KERNEL_PRIORITIES if base <= priority <= base + BAND]
    if inside:
        raise InvalidInput(variable, value, "puts the role's band %d-%d over the kernel's own rule at priority %d "
                           "(0 local, 32766 main, 32767 default)" % (base, base + BAND, inside[0]))
    return base


def _protocol(value, variable):
    # A name would resolve only through the router's rt_protos files, which a fresh router may not
    # have before its packages are installed; multiwan-pbr.service also flushes by this number.
    if not re.match(r"\s*\d+\s*\Z", str(value)):
        raise InvalidInput(variable, value, "must be a number 1-255: the role writes it into multiwan-pbr.service "
                           "and checks it before anything changes")
    integer(1, 255).normalise(value, variable)
    return protocol_tag(value, field=variable)


def _mask(value, variable):
    mask = nft_connmark.MARK.normalise(value, variable)
    if mask == 0:
        raise InvalidInput(variable, value, "must have at least one bit set")
    return mask


def _path(suffix):
    def check(value, variable):
        # ExecStart= splits on blanks and expands '%': the unit names these paths as they are
        if not isinstance(value, str) or not re.match(r"/[A-Za-z0-9_./@+-]*\Z", value) or "/../" in value + "/":
            raise InvalidInput(variable, value, "must be an absolute path of letters, digits and _ . / @ + -")
        if not value.endswith(suffix):
            raise InvalidInput(variable, value, "must end in %s" % suffix)
        return value
    return check


def _unless_empty(check):
    return lambda value, variable: value if value in (None, "") else check(value, variable)


_SETTING_CHECKS = (
    ("priority_base", _priority_base),
    ("table_base", integer(0, MAX_TABLE_ID - BAND).normalise),
    ("mask", _mask),
    ("protocol", _protocol),
    ("balance", BOOLEAN.normalise),
    ("balance_metric", integer(0, MAX_U32).normalise),
    ("last_resort", choice("unreachable", "blackhole", "prohibit", "default").normalise),
    ("failover", BOOLEAN.normalise),
    ("nft_table", nft_connmark.TABLE_NAME.normalise),
    ("config_dir", _path("")),
    ("sysctl_file", _path(".conf")),
    ("unit_file", _path("/" + UNIT_NAME)),
    ("status_file", _path(".json")),
    ("hooks_dir", _path("")),
    ("metrics_file", _unless_empty(_path(".prom"))),
)


# ---------------------------------------------------------------------------
# WANs


def _wans(items, settings, interfaces):
    wans = [_wan(item, index, settings, interfaces) for index, item in enumerate(items)]
    for key in ("name", "device"):
        _reject_duplicates(wans, key)
    if len(wans) > MAX_WANS:
        raise InvalidInput("multiwan_wans", len(wans), "has more than %d WANs (one rule priority each)" % MAX_WANS)
    _assign(wans, "table", lambda wan: derived_table(wan["name"], settings["table_base"] + 1, "wan table"),
            lambda taken: free_tables(taken, settings["table_base"] + 1))
    _assign(wans, "mark", lambda wan: nft_connmark.default_mark(wan["name"], settings["mask"]),
            lambda taken: nft_connmark.free_marks(taken, settings["mask"]))
    ranked = sorted(wans, key=lambda wan: wan["table"])
    for rank, wan in enumerate(ranked, 1):
        wan["rank"] = rank
    return ranked


def _wan(item, index, settings, interfaces):
    variable = "multiwan_wans[%d]" % index
    if not isinstance(item, dict):
        raise InvalidInput(variable, item, "is not a dict with name, device and gateway")
    where = _namer(variable)
    family = choice(*FAMILIES).normalise(item.get("family") or IPV4, where("family"))
    families = FAMILIES[family]
    name = nft_connmark.WAN_NAME.normalise(_required(item, where, "name"), where("name"))
    device = nft_connmark.NFT_DEVICE.normalise(_required(item, where, "device"), where("device"))
    given = _by_family(item.get("address"), where("address"), families, prefixes=True)
    gateway = _gateways(item.get("gateway"), where("gateway"), families, settings["failover"])
    dynamic = _dynamic_families(families, gateway, given, settings["failover"])
    return {
        "name": name, "device": device, "families": families, "item": item, "variable": variable,
        "dynamic": dynamic,
        "weight": integer(1, 256).normalise(item.get("weight", 1), where("weight")),
        "table": _optional(item, "table", integer(1, MAX_TABLE_ID).normalise, where),
        "mark": _explicit_mark(item, settings["mask"], where),
        "masquerade": BOOLEAN.normalise(item.get("masquerade", True), where("masquerade")),
        "gateway": gateway,
        "address": dict((fam, given.get(fam) or (None if fam in dynamic else _found(interfaces, device, fam, where)))
                        for fam in families),
    }


def _gateways(value, variable, families, failover):
    """``{family: address or "dhcp"}``; a family left out routes by device (point-to-point)."""
    if value in (None, "") or value == agent_config.DHCP or isinstance(value, dict):
        given = dict((family, agent_config.DHCP) for family in families) if value == agent_config.DHCP \
            else dict(value or {})
        gateways = _gateways_by_family(given, variable, families)
        if not failover and (len(gateways) < len(families) or agent_config.DHCP in gateways.values()):
            raise InvalidInput(variable, value, "needs the failover agent (multiwan_failover: true): only the agent "
                               "follows a gateway the host learns (dhcp) or a point-to-point link (no gateway)")
        return gateways
    return _by_family(value, variable, families)


def _gateways_by_family(given, variable, families):
    gateways = {}
    for family, gateway in given.items():
        if family not in families:
            raise InvalidInput("%s.%s" % (variable, family), gateway, "the WAN's families are %s" % "/".join(families))
        if gateway in (None, ""):
            continue
        gateways[family] = gateway if gateway == agent_config.DHCP else \
            addresses.address(gateway, "%s.%s" % (variable, family), family)
    return gateways


def _dynamic_families(families, gateway, given, failover):
    """The families whose WAN-table routes and ``from`` rule the agent keeps (``linux.failover``): a gateway the
    host learns or none (point-to-point), or an address the inventory leaves to the device."""
    if not failover:
        return ()
    return tuple(family for family in families
                 if gateway.get(family) in (None, agent_config.DHCP) or family not in given)


def _explicit_mark(item, mask, where):
    mark = _optional(item, "mark", nft_connmark.MARK.normalise, where)
    if mark is not None and (mark == 0 or mark & ~mask):
        raise InvalidInput(where("mark"), item["mark"], "must be inside multiwan_mark_mask 0x%x and not 0" % mask)
    return mark


def derived_table(name, first, purpose):
    """A table id in ``first .. first + 998`` (reserved ids skipped) from ``name`` alone."""
    ids = _table_ids(first)
    return ids[number_from_name(name, len(ids), purpose)]


def free_tables(taken, first, count=3):
    return [str(number) for number in _table_ids(first) if number not in taken][:count]


def _table_ids(first):
    return [number for number in range(first, first + TABLE_SLOTS) if number not in RESERVED_TABLE_IDS]


def _assign(items, key, derive, free):
    """Give every item without ``key`` its derived value; a value two items share is refused, never moved."""
    owner = {}
    for item in sorted(items, key=lambda item: item[key] is None):      # explicit values claim theirs first
        derived = item[key] is None
        value = derive(item) if derived else item[key]
        if value in owner:
            raise InvalidInput(item["variable"] + "." + key, _shown(key, value) if derived else item["item"][key],
                               _collision(key, value, derived, item, owner[value], free(set(owner) | {value})))
        owner[value] = item
        item[key] = value


_NEVER_RENUMBERED = {
    "mark": "a WAN's new mark resets every connection conntrack holds for it",
    "table": "a new table id rewrites every rule and route that names the table",
}


def _collision(key, value, derived, item, other, free):
    how = "derived from the name %r" % item["name"] if derived else "given"
    free_text = ", ".join(free) or "none; widen multiwan_mark_mask"
    return ("(%s) is already the %s of %s (%s). Nothing is renumbered to make room (%s): give the one you "
            "added an explicit %s (free: %s)"
            % (how, key, other["variable"], other["name"], _NEVER_RENUMBERED[key], key, free_text))


def _shown(key, value):
    return "0x%x" % value if key == "mark" else str(value)


def _by_family(value, variable, families, prefixes=False):
    values = value if isinstance(value, list) else [value] if value else []
    normalise = addresses.prefix if prefixes else addresses.address
    found = {}
    for text in values:
        normalised = normalise(text, variable)
        family = addresses.family_of(normalised)
        if family not in families:
            raise InvalidInput(variable, text, "is %s but the WAN's family is %s" % (family, "/".join(families)))
        found[family] = _host_prefix(text, normalised, variable) if prefixes else normalised
    if not prefixes:
        for family in families:
            if family not in found:
                raise InvalidInput(variable, value, "needs an %s gateway" % family)
    return found


def _host_prefix(text, network, variable):
    """Keep the host part of ``198.51.100.2/30``: the WAN's address, and its subnet."""
    host = addresses.address(str(text).split("/", maxsplit=1)[0], variable)
    return {"address": host, "network": network}


def _found(interfaces, device, family, where):
    if interfaces is None:          # checking before the router is read: a placeholder
        text = PLACEHOLDER_ADDRESS[family]
        return _host_prefix(text, addresses.prefix(text, where("address")), where("address"))
    wanted_family = "inet6" if family == IPV6 else "inet"
    for info in _interface_addresses(interfaces, device):
        if info.get("family") == wanted_family:
            text = "%s/%s" % (info["local"], info["prefixlen"])
            return _host_prefix(text, addresses.prefix(text, where("address")), where("address"))
    raise InvalidInput(where("address"), None, "is not given and device %s has no global %s address" % (device, family))


def _interface_addresses(interfaces, device):
    for link in interfaces:
        if link.get("ifname") == device:
            return [info for info in link.get("addr_info", []) if info.get("scope") == "global"]
    return []


def _public(wan):
    """A WAN as the layout's result shows it (for the role's templates and the agent)."""
    public = dict((key, wan[key]) for key in ("name", "device", "rank", "weight", "table", "masquerade",
                                              "families", "gateway", "address"))
    return dict(public, mark="0x%x" % wan["mark"])


# ---------------------------------------------------------------------------
# Policies


def _policies(items, wans_by_name, settings):
    policies = [_policy(item, index, wans_by_name, settings) for index, item in enumerate(items)]
    _reject_duplicates(policies, "name")
    # Every policy has a table of its own: the failover agent turns its default to the policy's fallback
    # while its WAN is down, and the WAN's own table stays as it is for the WAN's marked connections.
    first = settings["table_base"] + POLICY_TABLES + 1
    _assign(policies, "table", lambda policy: derived_table(policy["name"], first, "policy table"),
            lambda taken: free_tables(taken, first))
    _reject_shared_tables(list(wans_by_name.values()), policies)
    for policy in policies:
        policy["rules"] = _policy_rules(policy)
    return policies


def _policy(item, index, wans_by_name, settings):
    variable = "multiwan_policies[%d]" % index
    if not isinstance(item, dict):
        raise InvalidInput(variable, item, "is not a dict with name and wan")
    where = _namer(variable)
    name, wan_name = str(_required(item, where, "name")), _required(item, where, "wan")
    if wan_name not in wans_by_name:
        raise InvalidInput(where("wan"), wan_name, "is not the name of a WAN in multiwan_wans")
    wan = wans_by_name[wan_name]
    excludes = [addresses.prefix(value, "%s[%d]" % (where("exclude"), number))
                for number, value in enumerate(inventory_list(item.get("exclude"), where("exclude")))]
    table = _optional(item, "table", integer(1, MAX_TABLE_ID).normalise, where)
    return {"name": name, "wan": wan, "excludes": excludes, "item": item, "variable": variable,
            "priority": _policy_priority(item, index, settings, where), "table": table,
            "table_name": "%s_%s" % (wan["name"], name),
            "fallback": _fallback(item.get("fallback"), wans_by_name, wan, where),
            "selectors": _selectors(item, where), "destinations": _destinations(item, where)}


def _fallback(value, wans_by_name, wan, where):
    """Where the policy's traffic goes while its WAN is down: ``balance`` (the default), ``none`` (nowhere
    else: strict) or another WAN's name."""
    fallback = "balance" if value in (None, "") else value
    if fallback not in FALLBACKS and fallback not in wans_by_name:
        raise InvalidInput(where("fallback"), value, "must be balance, none or the name of a WAN in multiwan_wans")
    if fallback == wan["name"]:
        raise InvalidInput(where("fallback"), value, "is the policy's own WAN; say none for a strict policy")
    return fallback


def _policy_priority(item, index, settings, where):
    first, last = settings["priority_base"] + POLICY_BAND, settings["priority_base"] + POLICY_BAND_END
    if item.get("priority") in (None, ""):
        priority = first + POLICY_STRIDE * index
        if priority > last:
            raise InvalidInput(where("priority"), None, "is needed: more policies than the band %d-%d has room for "
                               "at ten priorities each" % (first, last))
        return priority
    return integer(first, last - POLICY_STRIDE + 1).normalise(item["priority"], where("priority"))


# Checked here with the kinds pbr_rule's fields use; ipproto is left to pbr_rule itself (its names).
_SELECTOR_CHECKS = {"sport": PORT_RANGE, "dport": PORT_RANGE, "iif": INTERFACE, "uidrange": UID_RANGE}


def _selectors(item, where):
    selectors = {}
    for key in SELECTORS:
        value = item.get(key)
        if value in (None, ""):
            continue
        if key in _SELECTOR_CHECKS:
            _SELECTOR_CHECKS[key].normalise(value, where(key))
        elif key == "from":
            addresses.prefix(value, where(key))
        selectors[key] = value if key in ("iif", "from") else str(value)
    return selectors


def _destinations(item, where):
    given = item.get("to")
    destinations = given if isinstance(given, list) else [given] if given not in (None, "") else []
    if len(destinations) > POLICY_STRIDE:
        raise InvalidInput(where("to"), given, "has more than %d prefixes" % POLICY_STRIDE)
    for number, value in enumerate(destinations):
        addresses.prefix(value, where("to") if isinstance(given, str) else "%s[%d]" % (where("to"), number))
    return destinations


def _reject_shared_tables(wans, policies):
    tables = dict((wan["table"], wan) for wan in wans)
    for policy in policies:
        if policy["table"] in tables:
            other = tables[policy["table"]]
            raise InvalidInput(policy["variable"] + ".table", policy["table"], "is already the table of %s (%s)"
                               % (other["variable"], other["name"]))


def _policy_rules(policy):
    rules = []
    for offset, destination in enumerate(policy["destinations"] or [None]):
        for family in _rule_families(policy, destination):
            config = dict(policy["selectors"], priority=policy["priority"] + offset, table=policy["table"],
                          family=family)
            if destination:
                config["to"] = destination
            rules.append(Entry(config, policy["variable"], policy["item"], _policy_sources(policy, destination)))
    return rules


def _rule_families(policy, destination):
    wan, source = policy["wan"], policy["selectors"].get("from")
    given = [addresses.family_of(addresses.prefix(value, "to")) for value in (destination, source) if value]
    families = tuple(sorted(set(given))) if given else wan["families"]
    for family in families:
        if family not in wan["families"]:
            raise InvalidInput(policy["variable"], destination or source, "is %s but WAN %s carries %s"
                               % (family, wan["name"], "/".join(wan["families"])))
    return families


def _policy_sources(policy, destination):
    where, item = _namer(policy["variable"]), policy["item"]
    sources = dict((key, Source(where(key), item.get(key))) for key in SELECTORS + ("priority",))
    sources["to"] = Source(where("to"), destination)
    sources["table"] = Source(where("wan"), item.get("wan"))
    return sources


# ---------------------------------------------------------------------------
# Module configs (as Entries: each knows the inventory variable it came from)


def _wan_tables(wans, settings):
    return [Entry({"name": wan["name"], "id": wan["table"],
                   "routes": _wan_routes(wan) + _last_resort(wan["families"], settings)},
                  wan["variable"], wan["item"], _wan_sources(wan)) for wan in wans]


def _wan_sources(wan):
    where, item = _namer(wan["variable"]), wan["item"]
    sources = dict((option, Source(where(key), item.get(key))) for option, key in (
        ("name", "name"), ("id", "table"), ("dev", "device"), ("via", "gateway"), ("src", "address"),
        ("weight", "weight"), ("from", "address"), ("fwmark", "mark")))
    sources["dst"] = sources["src"]
    return sources


def _wan_routes(wan):
    """The routes of the WAN's static families (the others are the agent's)."""
    routes = []
    for family in _static_families(wan):
        address = wan["address"][family]
        connected = {"dst": address["network"], "dev": wan["device"], "src": address["address"]}
        if family == IPV4:          # IPv6 routes have no scope but global (pbr_table refuses another)
            connected["scope"] = "link"
        routes.append(connected)
        routes.append({"dst": addresses.DEFAULT_PREFIX[family], "via": wan["gateway"][family], "dev": wan["device"]})
    return routes


def _static_families(wan):
    return [family for family in wan["families"] if family not in wan["dynamic"]]


def _last_resort(families, settings):
    if settings["last_resort"] == "default":       # fall through to the main table, like mwan3's "default"
        return []
    return [{"dst": addresses.DEFAULT_PREFIX[family], "type": settings["last_resort"], "metric": LAST_RESORT_METRIC}
            for family in families]


def _policy_tables(policies, settings):
    tables = []
    for policy in policies:
        wan = policy["wan"]
        throws = [{"dst": prefix, "type": "throw"} for prefix in policy["excludes"]]
        defaults = [dict(route, metric=_static_metric(0, route.get("family") or _family(route), settings))
                    for route in _wan_routes(wan) if addresses.is_default(route["dst"])]
        where, item = _namer(policy["variable"]), policy["item"]
        sources = {"name": Source(where("name"), item.get("name")), "id": Source(where("table"), item.get("table")),
                   "dst": Source(where("exclude"), item.get("exclude"))}
        tables.append(Entry({"name": policy["table_name"], "id": policy["table"],
                             "routes": throws + defaults + _last_resort(wan["families"], settings)},
                            policy["variable"], item, sources))
    return sorted(tables, key=lambda entry: entry.config["id"])


def _main_table(wans, settings):
    if not settings["balance"] or not wans:
        return []
    routes = []
    for family in (IPV4, IPV6):
        members = [wan for wan in wans if family in _static_families(wan)]
        if members:
            route = {"dst": addresses.DEFAULT_PREFIX[family],
                     "metric": _static_metric(_balance_metric(family, settings), family, settings)}
            route.update(_next_hops(members, family))
            routes.append(route)
    sources = {"metric": Source(VARIABLES["balance_metric"], settings["balance_metric"])}
    return [Entry({"name": "main", "routes": routes}, "multiwan_wans", None, sources)]


def _balance_metric(family, settings):
    # The kernel stores IPv6 metric 0 as 1024: behind every router advertisement's default.
    # 1 is the best IPv6 metric there is.
    metric = settings["balance_metric"]
    return max(metric, 1) if family == IPV6 else metric


def _static_metric(metric, family, settings):
    """The metric of a static default the failover agent may lay its own over: one worse than the agent's, so
    the agent's wins while it is there and the static one carries the traffic if the agent is gone."""
    if not settings["failover"]:
        return metric
    return max(metric, 1) + 1 if family == IPV6 else metric + 1


def _family(route):
    return addresses.family_of(route["dst"])


def _next_hops(members, family):
    # A multipath route needs two next hops (pbr_table refuses one, as `ip` would print it
    # back as a plain route): a family that one WAN carries gets a plain via/dev route.
    if len(members) == 1:
        return {"via": members[0]["gateway"][family], "dev": members[0]["device"]}
    return {"nexthops": [{"via": wan["gateway"][family], "dev": wan["device"], "weight": wan["weight"]}
                         for wan in members]}


def _base_rules(wans, settings):
    base, mask = settings["priority_base"], "0x%x" % settings["mask"]
    families = sorted(set(family for wan in wans for family in wan["families"]))
    base_sources = {"priority": Source(VARIABLES["priority_base"], settings["priority_base"])}
    rules = [Entry({"priority": base, "family": family, "table": "main", "suppress_prefixlength": 0},
                   VARIABLES["priority_base"], settings["priority_base"], base_sources) for family in families]
    for wan in wans:
        sources = dict(_wan_sources(wan), table=Source(_namer(wan["variable"])("table"), wan["item"].get("table")),
                       fwmask=Source(VARIABLES["mask"], mask), **base_sources)
        for family in wan["families"]:
            if family not in wan["dynamic"]:
                rules.append(Entry({"priority": from_priority(wan, settings), "family": family,
                                    "from": wan["address"][family]["address"], "table": wan["table"]},
                                   wan["variable"], wan["item"], sources))
            rules.append(Entry({"priority": base + MARK_RULES + wan["rank"], "family": family,
                                "fwmark": "0x%x" % wan["mark"], "fwmask": mask, "table": wan["table"]},
                               wan["variable"], wan["item"], sources))
    return rules


def from_priority(wan, settings):
    """The priority of the WAN's ``from <address>`` rules (the modules' or, for dynamic families, the agent's)."""
    return settings["priority_base"] + FROM_RULES + wan["rank"]


def _nft(wans, exclude, settings):
    config = {
        "table": settings["nft_table"],
        "mask": "0x%x" % settings["mask"],
        "wans": [{"name": wan["name"], "device": wan["device"], "mark": "0x%x" % wan["mark"],
                  "masquerade": wan["masquerade"]} for wan in wans],
        "exclude": exclude,
    }
    sources = {"table": Source(VARIABLES["nft_table"], settings["nft_table"]),
               "mask": Source(VARIABLES["mask"], settings["mask"])}
    for index, wan in enumerate(wans):
        where = _namer(wan["variable"])
        sources.update(("wans[%d].%s" % (index, key), Source(where(key), wan["item"].get(key)))
                       for key in ("name", "device", "mark", "masquerade"))
    for key in ("devices", "destinations"):
        for index, value in enumerate(config["exclude"][key]):
            sources["exclude.%s[%d]" % (key, index)] = Source("multiwan_exclude_%s[%d]" % (key, index), value)
    return Entry(config, "multiwan_wans", None, sources)


def _exclusions(exclude):
    if exclude is not None and not isinstance(exclude, dict):
        raise InvalidInput("multiwan_exclude", exclude, "is not a dict with devices and destinations")
    return dict((key, list(inventory_list((exclude or {}).get(key), "multiwan_exclude_" + key)))
                for key in ("devices", "destinations"))


def _sysctls(wans):
    # rp_filter's effective value is max(all, device): loose (2) on the WANs is enough,
    # and the LAN keeps whatever strictness the admin chose.
    # ignore_routes_with_linkdown and fib_multipath_use_neigh take a WAN whose link or gateway is dead out of
    # every route at once, before any probe notices (measured: new flows on such a WAN 59/101 -> 0/101).
    values = {"net.ipv4.ip_forward": "1", "net.ipv4.fib_multipath_hash_policy": "1",
              "net.ipv4.fib_multipath_use_neigh": "1"}
    for wan in sorted(wans, key=lambda wan: wan["device"]):
        device = wan["device"].replace(".", "/")       # sysctl spells VLAN dots as slashes
        values["net.ipv4.conf.%s.rp_filter" % device] = "2"
        values["net.ipv4.conf.%s.src_valid_mark" % device] = "1"
        values["net.ipv4.conf.%s.ignore_routes_with_linkdown" % device] = "1"
        if IPV6 in wan["families"]:
            values["net.ipv6.conf.%s.ignore_routes_with_linkdown" % device] = "1"
    if any(IPV6 in wan["families"] for wan in wans):
        values["net.ipv6.conf.all.forwarding"] = "1"
        values["net.ipv6.fib_multipath_hash_policy"] = "1"
    return values


def _live_sysctls(sysctls, wans, interfaces):
    """The settings to read and set now: a WAN device the router does not have yet (a modem not plugged in, a
    ppp link not dialled) has no keys; the sysctl.d file keeps them, and udev applies them when it appears."""
    if interfaces is None:
        return sysctls
    present = set(link.get("ifname") for link in interfaces)
    absent = [".conf.%s." % wan["device"].replace(".", "/") for wan in wans if wan["device"] not in present]
    return dict((key, value) for key, value in sysctls.items() if not any(part in key for part in absent))


# ---------------------------------------------------------------------------
# The failover agent's configuration (agent.config), from the same WANs and policies


def _agent_config(wans, policies, settings):
    """The agent's file: what it watches (``wans``) and the routes it lays over this layout (``routing``).

    Checked with the agent's own parser; a refusal names the inventory variable (``multiwan_wans[1].track...``).
    No WANs (``multiwan_state: absent``): no agent, and no file.
    """
    if not wans:
        return None
    by_inventory = wans         # in table order: reordering multiwan_wans changes nothing here either
    document = {
        "status_file": settings["status_file"], "owned_protocol": settings["protocol"],
        "hooks": {"directory": settings["hooks_dir"], "timeout": settings["hook_timeout"]},
        "metrics": {"textfile": settings["metrics_file"] or None, "listen": settings["metrics_listen"] or None},
        "wans": [_agent_wan(wan) for wan in by_inventory],
        "routing": {
            "protocol": str(settings["agent_protocol"]), "mask": "0x%x" % settings["mask"],
            "metric": settings["balance_metric"], "balance": settings["balance"],
            "wans": [{"name": wan["name"], "device": wan["device"], "table": wan["table"], "weight": wan["weight"],
                      "families": list(wan["families"]), "gateway": dict(wan["gateway"]),
                      "dynamic": list(wan["dynamic"]), "from_priority": from_priority(wan, settings)}
                     for wan in by_inventory],
            "policies": [{"name": policy["name"], "wan": policy["wan"]["name"], "table": policy["table"],
                          "families": sorted(set(rule.config["family"] for rule in policy["rules"])),
                          "fallback": policy["fallback"]} for policy in policies],
        },
    }
    try:
        agent_config.parse(document)
    except agent_config.ConfigError as error:
        raise InvalidInput(_inventory_field(error.field, by_inventory), error.value, error.reason)
    return document


def _agent_wan(wan):
    entry = {"name": wan["name"], "device": wan["device"], "mark": "0x%x" % wan["mark"],
             "families": list(wan["families"]), "gateway": dict(wan["gateway"])}
    if wan["item"].get("track") is not None:
        entry["track"] = wan["item"]["track"]
    return entry


_SETTING_FIELDS = {"hooks.directory": VARIABLES["hooks_dir"], "hooks.timeout": VARIABLES["hook_timeout"],
                   "metrics.textfile": VARIABLES["metrics_file"], "metrics.listen": VARIABLES["metrics_listen"],
                   "status_file": VARIABLES["status_file"]}


def _inventory_field(field, wans):
    """``wans[1].track.interval`` (the agent's file) as ``multiwan_wans[3].track.interval`` (the inventory)."""
    match = re.match(r"(?:routing\.)?wans\[(\d+)\](.*)", field)
    if not match:
        return _SETTING_FIELDS.get(field) or ("multiwan_wans" if field.startswith("routing") else field)
    return wans[int(match.group(1))]["variable"] + match.group(2)


# ---------------------------------------------------------------------------
# The modules' own checks, offline


def _check_with_engines(result, settings):
    """Every config through the engine of the module that gets it, as that module checks ``state: rendered``."""
    protocol = {"protocol": str(settings["protocol"])}
    checked_records(pbr_table.ENGINE, protocol, result["tables"])
    checked_records(pbr_rule.ENGINE, protocol, result["rules"])
    if result["nft"].config["wans"]:        # no WANs: the role removes the table (state absent) and checks nothing
        checked_records(nft_connmark.ENGINE, {"table": settings["nft_table"]}, [result["nft"]])
    if settings["failover"] and result["agent"]:
        _check_agent_entries(result["agent"]["routing"], settings)


def _check_agent_entries(routing, settings):
    """What the agent will lay (every WAN up, placeholder facts), through the engines that will get it."""
    facts = dict((wan["name"], dict((family, {"address": PLACEHOLDER_ADDRESS[family], "peer": None,
                                              "gateway": _placeholder_gateway(wan, family)})
                                    for family in wan["families"])) for wan in routing["wans"])
    every_wan_up = dict((family, [wan["name"] for wan in routing["wans"]]) for family in (IPV4, IPV6))
    protocol = {"protocol": routing["protocol"]}
    checked_records(pbr_table.ENGINE, protocol, [Entry(config, "multiwan_wans", None) for config in
                                                 failover.runtime_tables(routing, every_wan_up, facts)])
    checked_records(pbr_rule.ENGINE, protocol, [Entry(config, "multiwan_wans", None) for config in
                                                failover.runtime_rules(routing, facts)])


def _placeholder_gateway(wan, family):
    gateway = wan["gateway"].get(family)
    return PLACEHOLDER_GATEWAY[family] if gateway == agent_config.DHCP else gateway


# ---------------------------------------------------------------------------
# Small checks


def _namer(variable):
    return lambda key: "%s.%s" % (variable, key)


def _required(item, where, key):
    value = item.get(key)
    if value in (None, ""):
        raise InvalidInput(where(key), value, "is required")
    return value


def _optional(item, key, normalise, where):
    value = item.get(key)
    return None if value in (None, "") else normalise(value, where(key))


def _reject_duplicates(items, key):
    first = {}
    for item in items:
        if item[key] in first:
            raise InvalidInput(item["variable"] + "." + key, item[key], "is also the %s of %s"
                               % (key, first[item[key]]["variable"]))
        first[item[key]] = item
