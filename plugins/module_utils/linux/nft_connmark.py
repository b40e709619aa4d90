# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for ``nft_connmark``: source-in-source-out with conntrack marks, in one owned nftables table.

The whole table is ONE record for the shared core (key ``(family, name)``), so
``run_resource`` plans, checks, diffs and rolls back as for any resource:
``present`` is the core's ``replaced``, ``absent`` its ``deleted``.

One model, two spellings. ``table_objects`` builds the wanted table in the very shape
``nft -j list table`` prints (the libnftables JSON schema); ``canonical_body`` turns
that shape -- wanted or listed -- into one comparable form (no handles, no counter
values, set elements sorted and normalised), so idempotence compares structure, not
text. The nft script for ``commands``, ``rendered`` and ``--diff`` is printed from
the same canonical form, so what a reviewer reads is what is compared.

The ruleset (``docs/modules/nft_connmark.md`` explains each choice)::

    prerouting  (filter, mangle)  exclusions return; iifname vmap @wan_devices;
                                   ct mark & MASK vmap @wan_marks
    output      (route, mangle)   exclusions return; ct mark & MASK vmap @wan_marks
    postrouting (filter, mangle)  exclusions return; ct state new oifname vmap @wan_devices
    classify_<wan>                ct state new ct mark & MASK == 0 ct mark set ct mark & KEEP | MARK
    restore_<wan>                 meta mark set meta mark & KEEP | MARK
    nat_postrouting (nat, srcnat) oifname @masquerade_devices masquerade

``KEEP`` is ``~MASK | MARK``: the form nft 1.0.6 itself lists for ``x & ~MASK | MARK``,
so the wanted JSON equals the listed JSON. nft refuses a non-constant right-hand side
(``meta mark set meta mark & M | ct mark & M``), hence one small chain per WAN with
constants only, chosen by one verdict-map lookup whatever the number of WANs.

Ownership is proved by the device, not assumed from a name: the module writes
``OWNER_COMMENT`` as the table's comment whenever it creates or replaces the table, and
a table of the wanted name without it is refused, never replaced or deleted. A table an
earlier version made (no comment) is taken over only with ``adopt``, and only when its
content is this module's layout (``is_connmark_layout``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from dataclasses import dataclass, field

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import ScriptLine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import (
    BOOLEAN, INTERFACE, Field, Kind, hex_integer, list_of, number_from_name, options_spec)
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD, DELETE, REPLACE

FAMILY = "inet"
DEFAULT_TABLE = "multiwan_pbr"
DEFAULT_MASK = "0xff00"
ALL_BITS = 0xFFFFFFFF
# The marker that proves a table is this module's: the table's own comment, written whenever the
# module creates or replaces the table and checked on every run. A table without it is never
# replaced or deleted (``finish_plan``); ``adopt`` takes over one an earlier version made.
OWNER_COMMENT = "multiwan.pbr nft_connmark: managed by Ansible, edits are replaced"

# The module's own states, and the core state each one is (see the module's DOCUMENTATION).
CORE_STATE = {"present": "replaced", "absent": "deleted", "rendered": "rendered", "gathered": "gathered"}

WAN_DEVICES_MAP = "wan_devices"
WAN_MARKS_MAP = "wan_marks"
CLASSIFY_PREFIX = "classify_"
RESTORE_PREFIX = "restore_"
EXCLUDED_DEVICES_SET = "excluded_devices"
EXCLUDED_SETS = {addresses.IPV4: ("excluded_ipv4", "ipv4_addr", "ip"), addresses.IPV6: ("excluded_ipv6", "ipv6_addr", "ip6")}
MASQUERADE_SET = "masquerade_devices"
HOOK_CHAINS = ("prerouting", "output", "postrouting")
NAT_CHAIN = "nat_postrouting"
MANGLE, SRCNAT = -150, 100


# ---------------------------------------------------------------------------
# The options, each declared once (core.fields): the argument spec and DOCUMENTATION derive from them


def _matching(pattern, what):
    def normalise(value, field_name):
        if not isinstance(value, str) or not pattern.match(value):
            raise InvalidInput(field_name, value, "is not %s (%s)" % (what, pattern.pattern))
        return value
    return normalise


def _nft_device(value, field_name):
    # Linux allows more than nft can carry: in a set of type ifname a trailing '*' is a wildcard.
    return _matching(_DEVICE_NAME, "a device name nft takes literally")(INTERFACE.normalise(value, field_name), field_name)


def _prefix(value, field_name):
    return addresses.prefix(value, field_name)


# Names end up inside nft identifiers (chain names) and quoted strings (device names).
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
_WAN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}\Z")
_DEVICE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,14}\Z")
TABLE_NAME = Kind("str", _matching(_TABLE_NAME, "an nft table name"))
WAN_NAME = Kind("str", _matching(_WAN_NAME, "a WAN name"))
NFT_DEVICE = Kind("str", _nft_device)
MARK = hex_integer(0, ALL_BITS)

WAN_FIELDS = (
    Field("name", WAN_NAME, required=True, doc=(
        "A name for the WAN (a letter, then letters, digits and C(_), up to 32); it names the table's chains "
        "C(classify_<name>) and C(restore_<name>), and derives the WAN's default O(wans[].mark).",)),
    Field("device", NFT_DEVICE, required=True, doc=(
        "The network device of the WAN (C(iifname)/C(oifname)).",)),
    Field("mark", MARK, doc=(
        "The WAN's mark, inside O(mask) and not 0.",
        "When omitted, a mark derived from O(wans[].name) alone (a hash of the name spread over the bits of O(mask)), "
        "so reordering, adding or removing other WANs never changes it. Two names whose derived marks collide are "
        "refused: give the WAN you added an explicit mark, so the other keeps its own.")),
    Field("masquerade", BOOLEAN, default=False, doc=(
        "Masquerade connections that leave through this WAN (a C(nat postrouting) chain in the same table).",)),
)
EXCLUDE_FIELDS = (
    Field("devices", list_of(NFT_DEVICE), default=[], doc=(
        "Devices (tunnels, LAN bridges) whose packets are never classified or marked, by C(iifname) in "
        "C(prerouting) and by C(oifname) in C(output) and C(postrouting).",)),
    Field("destinations", list_of(Kind("str", _prefix)), default=[], doc=(
        "IPv4 and IPv6 prefixes whose packets are never classified or marked (C(ip daddr), C(ip6 daddr)).",
        "Overlapping and adjacent prefixes are merged.")),
)
# One config entry is the whole table: these are also the module's options of the same names.
CONFIG_FIELDS = (
    Field("table", TABLE_NAME, default=DEFAULT_TABLE, doc=(
        "The name of the C(inet) table the module owns. Nothing else is ever touched.",
        "The table carries a marker (its comment); a table of this name without it is never replaced or deleted "
        "(see O(adopt)).")),
    Field("mask", MARK, default=DEFAULT_MASK, doc=(
        "The bits of the packet and connection mark this table owns, as a number (C(0xff00) or C(65280)).",
        "Bits outside the mask are never read or written.")),
    Field("wans", Kind("list", None), suboptions=WAN_FIELDS, doc=(
        "The WAN links. Required when O(state) is V(present) or V(rendered).",
        "Their order does not matter.")),
    Field("exclude", Kind("dict", None), suboptions=EXCLUDE_FIELDS, doc=(
        "Traffic that is never classified or marked.",)),
)
CONFIG_SPEC = dict(type="list", elements="dict", options=options_spec(CONFIG_FIELDS))


@dataclass(frozen=True)
class ConnmarkTable:
    """The owned table: ``body`` (canonical JSON text) and ``marked`` (it carries ``OWNER_COMMENT``)
    are what is compared; ``config`` is for people. An adopted table is owned but not yet marked,
    so the plan replaces it and writes the marker."""

    family: str
    name: str
    body: str
    owned: bool = True
    config: dict = field(default=None, compare=False, hash=False)
    marked: bool = True

    @property
    def key(self):
        return (self.family, self.name)


# ---------------------------------------------------------------------------
# The module's parameters in the core's terms


def resource_params(module_params):
    """The module's flat options as the core's ``state``/``config``: the table is one config entry.

    The entry is normalised here once already, so bad input fails before the host is even read.
    """
    state = module_params["state"]
    settings = dict((name, module_params.get(name)) for name in ("table", "mask", "wans", "exclude"))
    if state in ("present", "rendered"):
        normalise(settings)
    return {
        "state": CORE_STATE[state],
        "config": [settings] if state in ("present", "rendered") else [],
        "running_config": None,
        "table": module_params["table"],
        "adopt": bool(module_params.get("adopt")),
    }


# ---------------------------------------------------------------------------
# Engine interface (see resource.py)


def normalise(item, params=None, facts=None):
    """One table's settings into the record the device must hold; ``InvalidInput`` on bad input."""
    table = TABLE_NAME.normalise(item.get("table") or DEFAULT_TABLE, "table")
    mask_value = item.get("mask") or DEFAULT_MASK
    mask = MARK.normalise(mask_value, "mask")
    if mask == 0:
        raise InvalidInput("mask", mask_value, "must have at least one bit set")
    wans = _wans(item.get("wans") or [], mask)
    config = {
        "table": table,
        "mask": _hex(mask),
        "wans": sorted(wans, key=lambda wan: int(wan["mark"], 16)),
        "exclude": _exclusions(item.get("exclude") or {}, wans),
    }
    return ConnmarkTable(FAMILY, table, canonical_body(table_objects(config)), True, config)


def parse(dump, params, facts=None):
    """``nft -j list table`` output (``{"nftables": [...]}``) into zero or one record.

    The table is owned when it carries ``OWNER_COMMENT`` (nft 1.0.6 lists a table's comment only
    in text, so the runner adds it to the table object, as later versions print it), or when
    ``adopt`` is set and its content is the layout this module writes.
    """
    objects = (dump or {}).get("nftables") or []
    tables = [entry["table"] for entry in objects if "table" in entry]
    if not tables:
        return []
    name = tables[0]["name"]
    body = canonical_body(objects)
    decoded = json.loads(body)
    marked = tables[0].get("comment") == OWNER_COMMENT
    owned = marked or bool((params or {}).get("adopt")) and is_connmark_layout(decoded)
    return [ConnmarkTable(tables[0]["family"], name, body, owned, decode_config(name, decoded), marked)]


def merge(current, wanted):
    # The table is replaced as a whole; ``merged`` is not one of the module's states.
    return wanted


def finish_plan(ops, wanted, current, predicted, params):
    """Refuse, before anything is applied, a table of the wanted name that is not provably ours."""
    for record in current:
        if not record.owned:
            raise InvalidInput("table", record.name, _not_ours_reason(record, params))
    return []


def render(ops, params):
    """The nft script lines for ``ops``: one transaction that replaces (or deletes) the table."""
    lines = []
    for op in ops:
        table = "%s %s" % (op.record.family, op.record.name)
        # ``add`` first makes ``delete`` safe when the table vanished after it was read
        lines += ["add table %s" % table, "delete table %s" % table]
        if op.verb in (ADD, REPLACE):
            lines += ["add table %s { comment %s; }" % (table, _quoted(OWNER_COMMENT))]
            lines += body_commands(table, json.loads(op.record.body))
        elif op.verb != DELETE:
            raise ValueError("nft_connmark has no %s op" % op.verb)
    return [ScriptLine(line) for line in lines]


def render_state(records, params):
    """The tables as ``nft list table`` prints them, for ``--diff``."""
    return "".join(table_block(record.family, record.name, json.loads(record.body),
                               OWNER_COMMENT if record.marked else None) for record in records)


def to_config(record):
    return json.loads(json.dumps(record.config))


def sort_key(record):
    return record.key


# ---------------------------------------------------------------------------
# Ownership


def is_connmark_layout(body):
    """Whether a canonical body holds only what this module writes: its two verdict maps, its sets,
    its hook chains and a ``classify_``/``restore_`` chain pair per WAN; nothing of other names."""
    set_names = set(entry["name"] for entry in body["sets"])
    map_names = set(entry["name"] for entry in body["maps"])
    chain_names = set(chain["name"] for chain in body["chains"])
    own_sets = set(name for name, _type, _protocol in EXCLUDED_SETS.values()) | {EXCLUDED_DEVICES_SET, MASQUERADE_SET}
    wan_chains = set(name for name in chain_names if name.startswith((CLASSIFY_PREFIX, RESTORE_PREFIX)))
    return (set_names <= own_sets and map_names == {WAN_DEVICES_MAP, WAN_MARKS_MAP}
            and set(HOOK_CHAINS) <= chain_names <= set(HOOK_CHAINS) | {NAT_CHAIN} | wan_chains)


def _not_ours_reason(record, params):
    reason = ("exists without the multiwan.pbr marker (the table comment %s), so nothing proves it is this "
              "module's: it is never replaced or deleted. Name another table" % _quoted(OWNER_COMMENT))
    if not params.get("adopt"):
        return reason + "; or, if an earlier multiwan.pbr made it (versions before the marker wrote none), " \
                        "run once with adopt: true"
    return reason + "; adopt: true takes over only a table whose sets, maps and chains are the ones " \
                    "nft_connmark writes, and this one has others"


def _quoted(text):
    return '"%s"' % text


# ---------------------------------------------------------------------------
# Normalising user input


def _hex(number):
    return "0x%x" % number


def _wans(items, mask):
    if not items:
        raise InvalidInput("wans", items, "needs at least one WAN")
    wans = [_wan(index, item, mask) for index, item in enumerate(items)]
    for attribute in ("name", "device"):
        _reject_duplicates(wans, attribute)
    _reject_mark_collisions(wans, [item.get("mark") is None for item in items], mask)
    return wans


def _wan(index, item, mask):
    where = "wans[%d]" % index
    name = WAN_NAME.normalise(item.get("name"), where + ".name")
    device = NFT_DEVICE.normalise(item.get("device"), where + ".device")
    if item.get("mark") is None:
        mark = default_mark(name, mask)
    else:
        mark = MARK.normalise(item["mark"], where + ".mark")
        if mark == 0:
            raise InvalidInput(where + ".mark", item["mark"], "must not be 0 (0 means 'not classified')")
        if mark & ~mask & ALL_BITS:
            raise InvalidInput(where + ".mark", item["mark"], "has bits outside mask %s" % _hex(mask))
    return {"name": name, "device": device, "mark": _hex(mark), "masquerade": bool(item.get("masquerade"))}


def default_mark(name, mask):
    """The mark of a WAN that gives none: a number 1 .. (all of ``mask``'s bits) derived from
    ``name`` alone, its bits spread over ``mask``'s (0xff00: 0x100 .. 0xff00)."""
    bits = [1 << position for position in range(32) if mask >> position & 1]
    number = 1 + number_from_name(name, (1 << len(bits)) - 1, "mark")
    return sum(bit for index, bit in enumerate(bits) if number >> index & 1)


def free_marks(marks, mask, count=3):
    """The first ``count`` marks inside ``mask`` that none of ``marks`` (ints) uses, for a refusal's hint."""
    bits = [1 << position for position in range(32) if mask >> position & 1]
    free = []
    for number in range(1, (1 << len(bits))):
        mark = sum(bit for index, bit in enumerate(bits) if number >> index & 1)
        if mark not in marks:
            free.append(_hex(mark))
        if len(free) == count:
            break
    return free


def _reject_duplicates(wans, attribute):
    first = {}
    for index, wan in enumerate(wans):
        value = wan[attribute]
        if value in first:
            raise InvalidInput("wans[%d].%s" % (index, attribute), value,
                               "is also the %s of wans[%d]" % (attribute, first[value]))
        first[value] = index


def _reject_mark_collisions(wans, derived, mask):
    """Two WANs with one mark: refused, never renumbered (a new mark resets the WAN's connections).
    ``derived[i]`` says whether WAN ``i``'s mark came from its name."""
    first = {}
    for index, wan in enumerate(wans):
        if wan["mark"] in first:
            other = first[wan["mark"]]
            how = "derived from the name %r" % wan["name"] if derived[index] else "given"
            raise InvalidInput("wans[%d].mark" % index, wan["mark"], _collision_reason(wans, other, how, mask))
        first[wan["mark"]] = index


def _collision_reason(wans, other, how, mask):
    free = free_marks(set(int(wan["mark"], 16) for wan in wans), mask)
    return ("(%s) is also the mark of wans[%d] (%s); marks are never renumbered, as that resets every connection "
            "of a WAN: give the WAN you added an explicit mark (free: %s)"
            % (how, other, wans[other]["name"], ", ".join(free) or "none, widen the mask"))


def _exclusions(exclude, wans):
    wan_devices = set(wan["device"] for wan in wans)
    devices = EXCLUDE_FIELDS[0].normalise(exclude.get("devices") or [], "exclude.devices")
    for index, device in enumerate(devices):
        if device in wan_devices:
            raise InvalidInput("exclude.devices[%d]" % index, device,
                               "is a WAN device; a WAN cannot be excluded from marking")
    destinations = EXCLUDE_FIELDS[1].normalise(exclude.get("destinations") or [], "exclude.destinations")
    return {"devices": sorted(set(devices)), "destinations": merged_prefixes(destinations)}


def merged_prefixes(prefixes):
    """Overlapping and adjacent prefixes merged, sorted by family then address (nft refuses overlaps)."""
    merged = addresses.netaddr.cidr_merge(prefixes)
    return ["%s/%d" % (network.network, network.prefixlen) for network in sorted(merged)]


# ---------------------------------------------------------------------------
# The wanted table, in the shape ``nft -j list table`` prints


def table_objects(config):
    """The table for normalised ``config`` as libnftables JSON objects (no handles)."""
    mask = int(config["mask"], 16)
    wans = config["wans"]
    exclude = config["exclude"]
    objects = [{"table": {"family": FAMILY, "name": config["table"]}}]
    objects += _exclusion_sets(exclude)
    masquerading = [wan["device"] for wan in wans if wan["masquerade"]]
    if masquerading:
        objects.append(_set(MASQUERADE_SET, "ifname", masquerading))
    objects.append(_map(WAN_DEVICES_MAP, "ifname", [[wan["device"], _goto(CLASSIFY_PREFIX + wan["name"])] for wan in wans]))
    objects.append(_map(WAN_MARKS_MAP, "mark", [[int(wan["mark"], 16), _goto(RESTORE_PREFIX + wan["name"])] for wan in wans]))
    for wan in wans:
        objects += _wan_chains(wan, mask)
    objects += _hook_chain("prerouting", "filter", MANGLE, _ingress_exclusions(exclude) + [
        [{"vmap": {"key": _meta("iifname"), "data": "@" + WAN_DEVICES_MAP}}],
        [_restore_lookup(mask)],
    ])
    objects += _hook_chain("output", "route", MANGLE, _egress_exclusions(exclude) + [[_restore_lookup(mask)]])
    # Only a new connection is classified: other packets skip the map lookup (bench part 4 measured the
    # difference; bench/results/2026-12-01.md), the classify chains check ct state new themselves too.
    objects += _hook_chain("postrouting", "filter", MANGLE, _egress_exclusions(exclude) + [
        [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}},
         {"vmap": {"key": _meta("oifname"), "data": "@" + WAN_DEVICES_MAP}}],
    ])
    if masquerading:
        objects += _hook_chain(NAT_CHAIN, "nat", SRCNAT, [[_match(_meta("oifname"), "@" + MASQUERADE_SET),
                                                          {"masquerade": None}]], hook="postrouting")
    return objects


def _exclusion_sets(exclude):
    objects = []
    if exclude["devices"]:
        objects.append(_set(EXCLUDED_DEVICES_SET, "ifname", exclude["devices"]))
    for family, (name, set_type, _protocol) in sorted(EXCLUDED_SETS.items()):
        prefixes = _of_family(exclude["destinations"], family)
        if prefixes:
            objects.append(_set(name, set_type, prefixes, flags=["interval"]))
    return objects


def _of_family(prefixes, family):
    return [value for value in prefixes if addresses.family_of(value) == family]


def _ingress_exclusions(exclude):
    return _device_exclusion("iifname", exclude) + _destination_exclusions(exclude)


def _egress_exclusions(exclude):
    return _device_exclusion("oifname", exclude) + _destination_exclusions(exclude)


def _device_exclusion(meta_key, exclude):
    if not exclude["devices"]:
        return []
    return [[_match(_meta(meta_key), "@" + EXCLUDED_DEVICES_SET), {"return": None}]]


def _destination_exclusions(exclude):
    rules = []
    for family, (name, _set_type, protocol) in sorted(EXCLUDED_SETS.items()):
        if _of_family(exclude["destinations"], family):
            rules.append([_match({"payload": {"protocol": protocol, "field": "daddr"}}, "@" + name), {"return": None}])
    return rules


def _wan_chains(wan, mask):
    mark = int(wan["mark"], 16)
    keep = (~mask & ALL_BITS) | mark       # nft lists ``x & ~MASK | MARK`` with this AND-mask
    classify = CLASSIFY_PREFIX + wan["name"]
    restore = RESTORE_PREFIX + wan["name"]
    return [
        {"chain": {"family": FAMILY, "name": classify}},
        {"rule": {"chain": classify, "expr": [
            {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}},
            _match({"&": [{"ct": {"key": "mark"}}, mask]}, 0),
            {"mangle": {"key": {"ct": {"key": "mark"}}, "value": {"|": [{"&": [{"ct": {"key": "mark"}}, keep]}, mark]}}},
        ]}},
        {"chain": {"family": FAMILY, "name": restore}},
        {"rule": {"chain": restore, "expr": [
            {"mangle": {"key": _meta("mark"), "value": {"|": [{"&": [_meta("mark"), keep]}, mark]}}},
        ]}},
    ]


def _restore_lookup(mask):
    return {"vmap": {"key": {"&": [{"ct": {"key": "mark"}}, mask]}, "data": "@" + WAN_MARKS_MAP}}


def _hook_chain(name, chain_type, priority, rules, hook=None):
    chain = {"family": FAMILY, "name": name, "type": chain_type, "hook": hook or name, "prio": priority, "policy": "accept"}
    return [{"chain": chain}] + [{"rule": {"chain": name, "expr": expr}} for expr in rules]


def _set(name, set_type, elements, flags=None):
    value = {"family": FAMILY, "name": name, "type": set_type, "elem": list(elements)}
    if flags:
        value["flags"] = flags
    return {"set": value}


def _map(name, key_type, elements):
    return {"map": {"family": FAMILY, "name": name, "type": key_type, "map": "verdict", "elem": elements}}


def _goto(chain):
    return {"goto": {"target": chain}}


def _meta(key):
    return {"meta": {"key": key}}


def _match(left, right):
    return {"match": {"op": "==", "left": left, "right": right}}


# ---------------------------------------------------------------------------
# The canonical form both sides are compared in


_NOT_CONTENT = ("family", "table", "handle")


def canonical_body(objects):
    """Sets, maps and chains (with their rules, in order) as sorted JSON text.

    Handles, counter values and the order nft happens to list sets, maps and elements
    in are dropped; host addresses become ``/32``/``/128`` prefixes on both sides.
    """
    containers = {"set": {}, "map": {}, "chain": {}}
    rules = {}
    for entry in objects:
        kind, value = next(iter(entry.items()))
        if kind in containers:
            containers[kind][value["name"]] = _canonical_container(kind, value)
        elif kind == "rule":
            rules.setdefault(value["chain"], []).append([_canonical_statement(stmt) for stmt in value["expr"]])
    for name, chain in containers["chain"].items():
        chain["rules"] = rules.get(name, [])
    body = dict((kind + "s", [containers[kind][name] for name in sorted(containers[kind])]) for kind in containers)
    return json.dumps(body, sort_keys=True)


def _canonical_container(kind, value):
    content = dict((key, item) for key, item in value.items() if key not in _NOT_CONTENT)
    if "elem" in content:
        is_address = content.get("type") in ("ipv4_addr", "ipv6_addr")
        content["elem"] = sorted((_canonical_element(element, is_address) for element in content["elem"]),
                                 key=lambda element: json.dumps(element, sort_keys=True))
    if "flags" in content:
        content["flags"] = sorted(content["flags"])
    return content


def _canonical_element(element, is_address):
    if isinstance(element, list):          # map element: [key, value]
        return [_canonical_element(element[0], is_address), element[1]]
    if isinstance(element, dict) and "prefix" in element:
        return addresses.prefix("%s/%s" % (element["prefix"]["addr"], element["prefix"]["len"]), "nft dump")
    if is_address and isinstance(element, str):
        return addresses.prefix(element, "nft dump")
    return element


def _canonical_statement(statement):
    if isinstance(statement, dict) and "counter" in statement:
        return {"counter": None}           # the values change with every packet
    return statement


# ---------------------------------------------------------------------------
# Reading the settings back from the canonical form (for ``gathered``, ``before``, ``after``)


def decode_config(name, body):
    """The settings that render ``body``; a table edited by hand decodes to what can be recognised."""
    sets = dict((entry["name"], entry.get("elem", [])) for entry in body["sets"])
    maps = dict((entry["name"], entry.get("elem", [])) for entry in body["maps"])
    device_of = _chain_keys(maps.get(WAN_DEVICES_MAP, []), CLASSIFY_PREFIX)
    mark_of = _chain_keys(maps.get(WAN_MARKS_MAP, []), RESTORE_PREFIX)
    masquerading = set(sets.get(MASQUERADE_SET, []))
    wans = [{"name": wan_name, "device": device_of.get(wan_name), "mark": _hex(mark),
             "masquerade": device_of.get(wan_name) in masquerading}
            for wan_name, mark in sorted(mark_of.items(), key=lambda item: item[1])]
    destinations = sets.get(EXCLUDED_SETS[addresses.IPV4][0], []) + sets.get(EXCLUDED_SETS[addresses.IPV6][0], [])
    return {
        "table": name,
        "mask": _decoded_mask(body),
        "wans": wans,
        "exclude": {"devices": sorted(sets.get(EXCLUDED_DEVICES_SET, [])), "destinations": merged_prefixes(destinations)},
    }


def _chain_keys(elements, prefix):
    """``{wan name: map key}`` from a verdict map whose verdicts go to ``<prefix><wan name>``."""
    keys = {}
    for key, verdict in elements:
        target = (verdict.get("goto") or {}).get("target", "") if isinstance(verdict, dict) else ""
        if target.startswith(prefix):
            keys[target[len(prefix):]] = key
    return keys


def _decoded_mask(body):
    for chain in body["chains"]:
        for rule in chain["rules"]:
            for statement in rule:
                lookup = statement.get("vmap") if isinstance(statement, dict) else None
                if lookup and lookup.get("data") == "@" + WAN_MARKS_MAP and "&" in lookup.get("key", {}):
                    return _hex(lookup["key"]["&"][1])
    return None


# ---------------------------------------------------------------------------
# Printing the canonical form as an nft script


def body_commands(table, body):
    """``add set/chain/map/rule`` lines; sets, then chains, then verdict maps (they name chains), then rules."""
    lines = ["add set %s %s { %s }" % (table, entry["name"], "; ".join(_set_lines(entry))) for entry in body["sets"]]
    lines += ["add chain %s %s%s" % (table, chain["name"], _chain_header(chain, inline=True)) for chain in body["chains"]]
    lines += ["add map %s %s { %s }" % (table, entry["name"], "; ".join(_set_lines(entry))) for entry in body["maps"]]
    for chain in body["chains"]:
        lines += ["add rule %s %s %s" % (table, chain["name"], rule_text(rule)) for rule in chain["rules"]]
    return lines


def table_block(family, name, body, comment=None):
    """The table as ``nft list table`` prints it (also valid ``nft -f`` input)."""
    comment_line = "\tcomment %s\n" % _quoted(comment) if comment else ""
    blocks = []
    for kind in ("set", "map"):
        for entry in body[kind + "s"]:
            blocks.append(["\t%s %s {" % (kind, entry["name"])] + ["\t\t" + line for line in _set_lines(entry)] + ["\t}"])
    for chain in body["chains"]:
        header = _chain_header(chain, inline=False)
        blocks.append(["\tchain %s {" % chain["name"]] + (["\t\t" + header] if header else [])
                      + ["\t\t" + rule_text(rule) for rule in chain["rules"]] + ["\t}"])
    inner = "\n\n".join("\n".join(block) for block in blocks)
    return "table %s %s {\n%s%s\n}\n" % (family, name, comment_line, inner)


def _set_lines(entry):
    key_type = entry["type"] if isinstance(entry["type"], str) else " . ".join(entry["type"])
    lines = ["type %s%s" % (key_type, " : " + entry["map"] if "map" in entry else "")]
    if entry.get("flags"):
        lines.append("flags %s" % ", ".join(entry["flags"]))
    if entry.get("elem"):
        lines.append("elements = { %s }" % ", ".join(_element_text(element, entry["type"]) for element in entry["elem"]))
    return lines


def _element_text(element, key_type):
    if isinstance(element, list):
        return "%s : %s" % (_element_text(element[0], key_type), statement_text(element[1]))
    if key_type == "ifname":
        return '"%s"' % element
    return expression_text(element)


_PRIORITY_NAMES = {(-150, None): "mangle", (100, "postrouting"): "srcnat", (-100, "prerouting"): "dstnat", (0, None): "filter"}


def _chain_header(chain, inline):
    if "hook" not in chain:
        return ""
    priority = _PRIORITY_NAMES.get((chain["prio"], chain["hook"])) or _PRIORITY_NAMES.get((chain["prio"], None))
    header = "type %s hook %s priority %s; policy %s;" % (
        chain["type"], chain["hook"], priority or chain["prio"], chain.get("policy", "accept"))
    return " { %s }" % header if inline else header


def rule_text(rule):
    return " ".join(statement_text(statement) for statement in rule)


_BARE_STATEMENTS = ("accept", "drop", "return", "continue", "masquerade", "counter")


def statement_text(statement):
    kind, value = next(iter(statement.items()))
    if kind in _BARE_STATEMENTS and not value:
        return kind
    if kind in ("goto", "jump"):
        return "%s %s" % (kind, value["target"])
    if kind == "match":
        return _match_text(value)
    if kind == "mangle":
        return "%s set %s" % (expression_text(value["key"]), expression_text(value["value"]))
    if kind == "vmap":
        return "%s vmap %s" % (expression_text(value["key"]), expression_text(value["data"]))
    return json.dumps(statement, sort_keys=True)      # not ours: shown as nft's JSON, still diffable


def _match_text(match):
    left, right = expression_text(match["left"]), expression_text(match["right"])
    # nft omits ``==`` before a set reference and ``in`` before flags such as ``new``
    if match["op"] == "in" or (match["op"] == "==" and str(match["right"]).startswith("@")):
        return "%s %s" % (left, right)
    return "%s %s %s" % (left, match["op"], right)


_BARE_META_KEYS = ("iifname", "oifname", "iif", "oif")


def expression_text(expression):
    if isinstance(expression, bool) or expression is None:
        return json.dumps(expression)
    if isinstance(expression, int):
        return "0x%08x" % expression       # every number in this table is a mark or a mask
    if isinstance(expression, str):
        return expression
    if "meta" in expression:
        key = expression["meta"]["key"]
        return key if key in _BARE_META_KEYS else "meta " + key
    if "ct" in expression:
        return "ct " + expression["ct"]["key"]
    if "payload" in expression:
        return "%s %s" % (expression["payload"]["protocol"], expression["payload"]["field"])
    for operator in ("&", "|", "^"):
        if operator in expression:
            left, right = expression[operator]
            return "%s %s %s" % (expression_text(left), operator, expression_text(right))
    return json.dumps(expression, sort_keys=True)


ENGINE = Engine(
    name="nft_connmark", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, sort_key=sort_key, finish_plan=finish_plan)
