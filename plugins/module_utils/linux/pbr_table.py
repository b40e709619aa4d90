# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of ``multiwan.pbr.pbr_table``: routing table names and the routes in the tables.

Two kinds of record live in one plan:

``TableName``  a ``<id> <name>`` line of the module's own rt_tables.d file (key ``("table name", name)``).
               Every line of that file is owned; names in any other file are facts, never records.
``Route``      one kernel route (key ``("route", family, table, dst, metric)`` -- the kernel's own
               identity: it keeps one route per table, destination and metric, whatever its type
               or next hops). Owned when its ``protocol`` is the module's tag (``linux.ownership``).

Every option of a table entry, a route and a next hop is declared once, in the field tables
``TABLE_FIELDS``, ``ROUTE_FIELDS`` and ``NEXTHOP_FIELDS`` (``core.fields``): its kind (the values it
takes and their canonical form), its documentation, its ``ip route`` keyword, where ``ip -json``
puts it. The option spec (``CONFIG_SPEC``) and the module's DOCUMENTATION derive from them
(``tools/field_docs.py`` writes the text, a unit test holds it equal); ``normalise`` checks a
user's values through the kinds, ``parse`` reads a dump through the fields' ``read``, ``render``
takes each word from the fields, and every word passes ``core.commands``' guard.

Routes render as ``ip -4|-6 route add|replace|del`` commands with numeric table ids, so the
kernel never needs the names file. Name changes render as ``FileEdit`` records, which the runner
(``rt_tables_file.TablesFileRunner``) writes to the file and shows as:

    rt_tables add 101 isp_a # /etc/iproute2/rt_tables.d/multiwan_pbr.conf
    rt_tables replace 102 isp_a # ...     (isp_a now means 102)
    rt_tables del 101 isp_a # ...

The device is read with ``ip -N -json -4|-6 route show table all``: ``-N`` prints tables,
protocols, types and scopes as numbers, so the dump means the same whatever names the host
defines. ``parse`` still accepts the named form (a ``running_config`` saved without ``-N``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import operator
import os
import re
from collections import namedtuple
from dataclasses import dataclass, field as dataclass_field

from ansible_collections.multiwan.pbr.plugins.module_utils.core import fields
from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import (
    ANY_WORDS, CACHED_TEXTS, DEFAULT_PREFIX, IPV4, IPV6, address, family_of, is_default, prefix)
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import Command, FileEdit
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import (
    ADDRESS, BOOLEAN, INTERFACE, MAX_U32, Field, Kind, choice, integer)
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import DELETE, REPLACE, Op
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import DEFAULT_PROTOCOL, is_owned, protocol_tag
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables import (
    RT_PROTOS_DIRECTORIES, RT_PROTOS_FILES, RT_TABLES_DIRECTORIES, RT_TABLES_FILES,
    parse_id_lines, parse_rt_protos, protocol_names, table_names)

DEFAULT_TABLES_FILE = "/etc/iproute2/rt_tables.d/multiwan_pbr.conf"
TABLES_DIRECTORY_KEY = "rt_tables_d"
TABLES_DIRECTORY = RT_TABLES_DIRECTORIES[TABLES_DIRECTORY_KEY]

SHOW_COMMANDS = {
    "routes4": ["-N", "-4", "route", "show", "table", "all"],
    "routes6": ["-N", "-6", "route", "show", "table", "all"],
}
DUMP_FILES = dict(RT_TABLES_FILES, **RT_PROTOS_FILES)
DUMP_DIRECTORIES = dict(RT_TABLES_DIRECTORIES, **RT_PROTOS_DIRECTORIES)
FAMILY_OF_DUMP_KEY = (("routes4", IPV4), ("routes6", IPV6))
FAMILY_OPTION = {IPV4: "-4", IPV6: "-6"}

MAIN_TABLE, LOCAL_TABLE = 254, 255
BOOT_PROTOCOL = 3           # what ip -json leaves out: a route added without proto
RESERVED_IDS = (0, 253, 254, 255)
# iproute2 skips an rt_tables line whose id is 2**31 or more (it reads ids as signed ints), so such a
# name would never mean its table: tests/integration/test_pbr_table.py::test_what_iproute2_makes_of_table_ids.
# Routes take any table the kernel has, up to 2**32-1, by number.
MAX_NAMED_TABLE_ID = 2147483647

ROUTE_TYPES = ("unicast", "throw", "blackhole", "unreachable", "prohibit")
# rtm_type numbers (linux/rtnetlink.h), as ``ip -N`` prints them
TYPE_NAMES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
              6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}
SCOPES = ("global", "site", "link", "host")
SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
# IPv6 has no metric 0: the kernel stores a route added without one at 1024 (IP6_RT_PRIO_USER)
DEFAULT_METRIC = {IPV4: 0, IPV6: 1024}

TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")
TABLE_ID = integer(1, MAX_U32)


# ---------------------------------------------------------------------------
# Kinds of this resource's values (the shared ones come from core.fields)


def _table(value, field_name):
    """A table's id (``101``, ``0x65``) as a number, or its name (``isp_a``) as text."""
    if isinstance(value, int) and not isinstance(value, bool) or str(value).strip()[:1].isdigit():
        return TABLE_ID.normalise(value, field_name)
    text = str(value).strip()
    if not TABLE_NAME.match(text):
        raise InvalidInput(field_name, value, "is not a table name (a letter or _, then letters, digits, _ . -) "
                           "nor a table id")
    return text


def _destination(value, field_name):
    """A prefix, or ``default`` (also ``all``, ``any``): the route's family makes it ``0.0.0.0/0`` or ``::/0``."""
    if isinstance(value, str) and value.strip().lower() in ANY_WORDS:
        return "default"
    return prefix(value, field_name)


def _route_list(value, field_name):
    if not isinstance(value, list):
        raise InvalidInput(field_name, value, "is not a list of routes")
    return value


def _nexthop_list(value, field_name):
    """Each next hop's values, checked by ``NEXTHOP_FIELDS``, with their defaults."""
    if not isinstance(value, list) or len(value) < 2:
        raise InvalidInput(field_name, value, "needs two or more next hops (one is via/dev)")
    return tuple(given_values(NEXTHOP_INDEX, hop) for hop in value)


TABLE = Kind("str", _table)
NAMED_TABLE_ID = integer(1, MAX_NAMED_TABLE_ID)
DESTINATION = Kind("str", _destination)
ROUTE_LIST = Kind("list", _route_list)
NEXTHOP_LIST = Kind("list", _nexthop_list)


# ---------------------------------------------------------------------------
# Where ``ip -N -json route show`` puts each value (a field's ``read``): canonical values, and
# whatever the kernel holds, also what users may not write (other types, any interface name).


def _read_gateway(entry):
    gateway = entry.get("gateway")
    if gateway is None and isinstance(entry.get("via"), dict):     # RTA_VIA: a gateway of the other family
        gateway = entry["via"].get("host")
    return address(gateway, "dump.gateway") if gateway else None


def _read_number_name(key, names, missing):
    """A reader for ``key``, which ip prints as a number with ``-N`` and as a name without."""
    def read(entry):
        value = entry.get(key)
        if value is None:
            return missing
        text = str(value)
        return names.get(int(text), text) if text.isdigit() else text
    return read


def _read_source(entry):
    source = entry.get("prefsrc")
    return address(source, "dump.prefsrc") if source else None


def _is_onlink(entry):
    return "onlink" in (entry.get("flags") or ())


def _read_nexthops(entry):
    hops = entry.get("nexthops")
    if not hops:
        return ()
    return tuple(sorted((Nexthop(**read_values(NEXTHOP_INDEX, hop)) for hop in hops), key=_nexthop_order))


# ---------------------------------------------------------------------------
# The field tables. Their order is the documentation's, and the order of a next hop's words.


def _flag_words(keyword):
    return lambda on: [keyword] if on else []


NEXTHOP_FIELDS = (
    Field("via", ADDRESS, ("The gateway of this next hop; required for IPv6.",), "via", read=_read_gateway),
    Field("dev", INTERFACE, ("The interface of this next hop.",), "dev"),
    Field("weight", integer(1, 256), ("The share of flows of this next hop, 1..256.",), "weight", default=1,
          read=lambda entry: int(entry.get("weight", 1))),
    Field("onlink", BOOLEAN, ("As O(config[].routes[].onlink), for this next hop.",), "onlink", default=False,
          read=_is_onlink, render=_flag_words("onlink")),
)


def _nexthop_words(hops):
    """``nexthop via .. dev .. weight .. [onlink]`` for each hop, in ip-route(8)'s order (NH, then NHFLAGS)."""
    words = []
    for hop in hops:
        words.append("nexthop")
        for field in NEXTHOP_FIELDS:
            value = getattr(hop, field.name)
            if not _is_empty(value):
                words += field.words(value, "routes.nexthops." + field.option)
    return words


ROUTE_FIELDS = (
    Field("dst", DESTINATION, (
        "The destination prefix, or V(default). Host bits are dropped (V(192.0.2.7/24) is V(192.0.2.0/24)); an "
        "address without a length is a host route.",), required=True,
        read=lambda entry: _destination(entry.get("dst") or "default", "dump.dst"),
        render=lambda dst: ["default" if is_default(dst) else dst]),
    Field("type", choice(*ROUTE_TYPES), (
        "The route type. V(throw) ends the lookup in this table (the next C(ip rule) is tried); V(blackhole), "
        "V(unreachable) and V(prohibit) drop the packet. Only V(unicast) has next hops.",), default="unicast",
        read=_read_number_name("type", TYPE_NAMES, "unicast"), render=lambda route_type: [route_type]),
    Field("via", ADDRESS, ("The gateway (C(via)). Needs O(config[].routes[].dev).",), "via", read=_read_gateway),
    Field("dev", INTERFACE, (
        "The outgoing interface (C(dev)). With O(config[].routes[].via) it is required, so that the route reads "
        "back as written; alone it makes a route on the link.",), "dev"),
    Field("src", ADDRESS, ("The preferred source address (C(src)).",), "src", read=_read_source),
    Field("metric", integer(0, MAX_U32), (
        "The metric (C(metric)), part of the route's identity. Defaults to 0 for IPv4 and to 1024 for IPv6 (the "
        "kernel has no IPv6 metric 0).",), "metric"),
    Field("scope", choice(*SCOPES), (
        "The scope (C(scope)) of an IPv4 route. Defaults to V(link) for a route with O(config[].routes[].dev) only "
        "and to V(global) otherwise, as C(ip route add) does; IPv6 routes are always V(global).",), "scope",
        read=_read_number_name("scope", SCOPE_NAMES, "global")),
    Field("onlink", BOOLEAN, (
        "Pretend the gateway is on the link even when no prefix of the interface covers it (C(onlink)).",),
        "onlink", default=False, read=_is_onlink, render=_flag_words("onlink")),
    Field("nexthops", NEXTHOP_LIST, (
        "Two or more next hops of a multipath route (C(nexthop via ... dev ... weight ...)); the route then has no "
        "O(config[].routes[].via) or O(config[].routes[].dev) of its own. Their order does not matter.",),
        "nexthop", suboptions=NEXTHOP_FIELDS, read=_read_nexthops, render=_nexthop_words),
    # no read: a dump says the family by its key (routes4, routes6)
    Field("family", choice(IPV4, IPV6), (
        "The address family. Defaults to the family of the addresses in the route, and to V(ipv4) when it has none "
        "(V(default) with O(config[].routes[].dev) only); a route that mixes families is refused.",)),
)

TABLE_FIELDS = (
    Field("name", TABLE, (
        "The table's name (C(isp_a)), or its id as a number (1..4294967295) when it has no name.",
        "With O(config[].id), the name goes into O(tables_file) unless another rt_tables file already gives the "
        "same name the same id. Without it, the name must be known already (O(tables_file), C(rt_tables), another "
        "C(rt_tables.d) file, or V(main), V(local), V(default)); the entry then manages routes only.",
        "With O(state=deleted), a name that no file knows (any more) has nothing to delete.",), required=True),
    Field("id", NAMED_TABLE_ID, (
        "The table's id, 1..2147483647, for a name of O(tables_file); iproute2 ignores a name whose id is higher "
        "(a table with such an id is named by its number in O(config[].name)). The reserved ids 0, 253, 254 and 255 "
        "are refused for new names, and so are an id or a name that another rt_tables file gives to another table.",)),
    Field("routes", ROUTE_LIST, ("The owned routes of the table.",), suboptions=ROUTE_FIELDS),
)

CONFIG_FIELDS = TABLE_FIELDS          # one ``config`` entry (tools/field_docs.py writes its documentation)
CONFIG_OPTIONS = fields.options_spec(CONFIG_FIELDS)
CONFIG_SPEC = dict(type="list", elements="dict", options=CONFIG_OPTIONS)


class FieldIndex(namedtuple("FieldIndex", "where what normalisers by_name defaults required readers")):
    """What the loops over one field table look up, computed once (they run for each of 10,000 routes).

    ``where`` is the place of the table's entries in ``config`` (``routes.``), ``what`` says what an
    entry is, for errors; ``normalisers`` maps an option to its attribute, its kind's ``normalise``
    and its name in errors.
    """

    __slots__ = ()


def index_of(table, where, what):
    return FieldIndex(
        where=where, what=what,
        normalisers=dict((field.option, (field.name, field.kind.normalise, where + field.option)) for field in table),
        by_name=dict((field.name, field) for field in table),
        defaults=dict((field.name, field.default) for field in table if field.default is not None),
        required=tuple(field for field in table if field.required),
        readers=tuple((field.name, field.read, field.keyword) for field in table))


TABLE_INDEX = index_of(TABLE_FIELDS, "", "a table entry (a dict with name, id, routes)")
ROUTE_INDEX = index_of(ROUTE_FIELDS, "routes.", "a route (a dict with dst and next hop or type)")
NEXTHOP_INDEX = index_of(NEXTHOP_FIELDS, "routes.nexthops.", "a next hop (a dict with via, dev, weight)")


# ---------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class TableName:
    """``<id> <name>`` in the module's own rt_tables.d file."""

    name: str
    id: int
    owned: bool = True

    @property
    def key(self):
        return ("table name", self.name)


@dataclass(frozen=True)
class Nexthop:
    via: object
    dev: object
    weight: int = 1
    onlink: bool = False


@dataclass(frozen=True)
class Route:
    """One route; ``table_label`` (the name ``ip`` shows) is for people and takes no part in equality."""

    family: str
    table: int
    dst: str
    metric: int
    type: str = "unicast"
    via: object = None
    dev: object = None
    src: object = None
    scope: str = "global"
    onlink: bool = False
    nexthops: tuple = ()
    protocol: int = int(DEFAULT_PROTOCOL)
    owned: bool = True
    table_label: str = dataclass_field(default="", compare=False)

    @property
    def key(self):
        return ("route", self.family, self.table, self.dst, self.metric)


@dataclass(frozen=True)
class TableScope:
    """Not a device object: a ``deleted`` entry without routes, meaning "every owned route of this table".

    It only ever appears among the wanted records of ``deleted``, whose plan ignores keys the
    device does not hold; ``finish_plan`` turns it into the deletions. ``table`` is ``None`` for a
    name that no file knows (any more): it holds nothing to delete.
    """

    table: object
    name: object = None     # our file's name of the table, which goes after its routes
    owned: bool = False

    @property
    def key(self):
        return ("table scope", self.name if self.table is None else self.table)


@dataclass(frozen=True)
class Facts:
    """What the host's files say: every table name, the names of other files, our tag."""

    tables: object          # TableNames over every file ip reads
    others: object          # TableNames without the module's own file
    own: tuple              # ((id, name), ...) of the module's own file
    tag: int                # the protocol number of owned routes
    protocols: object       # protocol names (rt_protos), for dumps read without -N


# ---------------------------------------------------------------------------
# The engine interface (see core/engine.py)


def parse_facts(dump, params):
    own_name = own_file_name(params)
    directory = dict(dump.get(TABLES_DIRECTORY_KEY) or {})
    own_text = directory.pop(own_name, None)
    others_dump = dict(dump, **{TABLES_DIRECTORY_KEY: directory})
    protocols = protocol_names(dump)
    return Facts(tables=table_names(dump), others=table_names(others_dump), own=tuple(parse_id_lines([own_text])),
                 tag=protocol_tag(params.get("protocol"), protocols), protocols=protocols)


def parse(dump, params, facts):
    """Routes (owned and foreign, except the kernel's table ``local``) then our file's names."""
    routes = []
    for dump_key, family in FAMILY_OF_DUMP_KEY:
        for entry in dump.get(dump_key) or []:
            route = parse_route(entry, family, facts)
            if route.owned or route.table != LOCAL_TABLE:
                routes.append(route)
    # deletions follow this order: routes go before the names of their tables
    return routes + [TableName(name, number) for number, name in facts.own]


def normalise(item, params, facts):
    """One ``config`` entry into its records: the table's name (when this module keeps it) and its routes."""
    facts = facts or offline_facts(params)
    given = given_values(TABLE_INDEX, item)
    routes = given.get("routes") or []
    table_id, name_record = resolve_table(given, item, facts)
    if table_id is None:
        if params.get("state") != "deleted":
            raise InvalidInput("name", item["name"], "is not a table name iproute2 knows (rt_tables, rt_tables.d, "
                               "or main/local/default); give its id to add it")
        # A name no file knows holds nothing this module could find: deleting it again changes nothing.
        # Its routes are still checked, as in every state. (Not an empty list: ``deleted`` without
        # records means "everything owned".)
        for route in routes:
            normalise_route(route, 0, given["name"], facts.tag)
        return [TableScope(None, given["name"])]
    label = facts.tables.show(table_id) if name_record is None else name_record.name
    # IPv4 lines before IPv6 lines: ip -batch takes one family per run, fewer runs are faster
    records = sorted((normalise_route(route, table_id, label, facts.tag) for route in routes),
                     key=lambda record: record.family)
    if params.get("state") == "deleted":
        # an entry that lists routes deletes those; one without deletes its table (owned routes, then name)
        return records if routes else [TableScope(table_id, name_record.name if name_record else None)]
    return ([name_record] if name_record else []) + records


def merge(current, wanted):
    # A route is one kernel object that `ip route replace` rewrites whole: the given one wins.
    return wanted


def finish_plan(ops, wanted, current, predicted, params):
    """What the generic plan cannot see: table-wide scope of replaced/deleted, and conflicts."""
    check_id_clashes(wanted, current, predicted)
    check_foreign_conflicts(ops, current)
    scope = tables_in_scope(wanted, current, params)
    route_deletions = []
    if scope:           # merged and overridden have none: no need for 10,000 keys
        wanted_keys = set(record.key for record in wanted)
        route_deletions = [Op(DELETE, record) for record in predicted
                           if isinstance(record, Route) and record.owned and record.table in scope
                           and record.key not in wanted_keys]
    names = set(record.name for record in wanted if isinstance(record, TableScope))
    name_deletions = [Op(DELETE, record) for record in predicted
                      if isinstance(record, TableName) and record.name in names]
    return route_deletions + name_deletions


def render(ops, params):
    """One command per op, in the plan's order, except that a name's new id is written last.

    Until then the file still names the routes of the table's old id, so a run cut short in
    between (killed, or stopped by a refused line) finds them again on the next run: ``replaced``
    takes in the tables its entries name, and by the new name they would be nobody's.
    """
    path = tables_file(params)
    commands = [render_op(op, path) for op in ops]
    renumbered = [command for command in commands if is_renumbering(command)]
    return [command for command in commands if not is_renumbering(command)] + renumbered


def render_state(records, params):
    """Our names file, then every route as ``ip -4|-6 route`` shows it (with table and proto)."""
    names = [record for record in records if isinstance(record, TableName)]
    lines = ["# %s" % tables_file(params)] + ["%d\t%s" % (record.id, record.name) for record in names]
    for family in (IPV4, IPV6):
        lines.append("# ip %s route" % FAMILY_OPTION[family])
        lines.extend(" ".join(route_words(record)) for record in records
                     if isinstance(record, Route) and record.family == family)
    return "\n".join(lines) + "\n"


def to_config(record):
    if isinstance(record, TableName):
        return {"name": record.name, "id": record.id}
    return {"name": _entry_name(record), "routes": [route_config(record)]}


def to_configs(records):
    """Records grouped into one entry per table, names first, in ``sort_key`` order."""
    entries = {}
    for record in records:
        name = _entry_name(record)
        if name not in entries:
            entries[name] = {"name": name}
        entry = entries[name]
        if isinstance(record, TableName):
            entry["id"] = record.id
            entry.setdefault("routes", [])
        else:
            entry.setdefault("routes", []).append(route_config(record))
    return list(entries.values())


def _entry_name(record):
    return record.name if isinstance(record, TableName) else record.table_label or str(record.table)


def parse_running_config(text, params):
    """``running_config``: the dump as a JSON object (``routes4``, ``routes6``, optionally the name files)."""
    try:
        dump = json.loads(text)
    except ValueError as error:
        raise InvalidInput("running_config", text[:60], "is not JSON: %s" % error)
    if not isinstance(dump, dict) or not any(key in dump for key, family in FAMILY_OF_DUMP_KEY):
        raise InvalidInput("running_config", text[:60], "is not a JSON object with routes4 and/or routes6 "
                           "(the output of ip -N -json -4|-6 route show table all)")
    return dump


def sort_key(record):
    if isinstance(record, TableName):
        return (0, record.id, record.name, "", "", 0)
    return (1, record.table, record.table_label, record.family, _sortable_prefix(record.dst), record.metric)


# ---------------------------------------------------------------------------
# Values through the field tables


def given_values(index, item):
    """``{attribute: canonical}`` of one entry (``item``) through its table's kinds, with the fields' defaults.

    A value that is ``None``, ``""`` or ``[]`` is not given (a variable left empty in a playbook).
    """
    if not isinstance(item, dict):
        raise InvalidInput(index.where.rstrip(".") or "config", item, "is not %s" % index.what)
    values = dict(index.defaults)
    normalisers = index.normalisers
    for option, value in item.items():
        if value is not None and value != "" and value != [] and option in normalisers:
            name, normalise_value, field_name = normalisers[option]
            values[name] = normalise_value(value, field_name)
    for field in index.required:
        if field.name not in values:
            raise InvalidInput(index.where + field.option, item.get(field.option), "is required")
    return values


def read_values(index, entry):
    """``{attribute: value}`` of one dump entry: each field's ``read``, else the entry's ``keyword`` as printed."""
    return {name: read(entry) if read else entry.get(keyword) for name, read, keyword in index.readers}


# ---------------------------------------------------------------------------
# Facts and options


def own_file_name(params):
    """The basename of ``tables_file``, which must be a ``*.conf`` that ``ip`` reads."""
    path = tables_file(params)
    directory, name = os.path.split(path)
    if os.path.normpath(directory) != TABLES_DIRECTORY or not name.endswith(".conf") or name == ".conf":
        raise InvalidInput("tables_file", path, "must be a *.conf file in %s, the directory ip reads names from"
                           % TABLES_DIRECTORY)
    return name


def tables_file(params):
    return params.get("tables_file") or DEFAULT_TABLES_FILE


def offline_facts(params):
    """For ``rendered``: only the names iproute2 knows without a file."""
    own_file_name(params)
    builtin, protocols = table_names({}), parse_rt_protos([])
    return Facts(tables=builtin, others=builtin, own=(), tag=protocol_tag(params.get("protocol"), protocols),
                 protocols=protocols)


# ---------------------------------------------------------------------------
# Tables: a name, an id, or both


def resolve_table(given, item, facts):
    """``(table id, TableName record or None)`` for a config entry; ``(None, None)`` for a name nobody knows."""
    name, given_id = given["name"], given.get("id")
    if isinstance(name, int):
        if given_id is not None and given_id != name:
            raise InvalidInput("id", item["id"], "differs from the table id given as name (%s)" % item["name"])
        return name, None
    if given_id is None:
        return named_table(name, facts)
    return given_id, new_or_kept_name(name, given_id, facts)


def named_table(name, facts):
    """A name given without id: ours (kept), or another file's (routes only), or unknown (``None``)."""
    own = dict((own_name, number) for number, own_name in facts.own)
    if name in own:
        return own[name], TableName(name, own[name])
    return facts.others.id_by_name.get(name), None


def new_or_kept_name(name, number, facts):
    """The TableName to keep in our file, or None when another file already says the same."""
    elsewhere_id = facts.others.id_by_name.get(name)
    if elsewhere_id == number:
        return None
    if number in RESERVED_IDS:
        raise InvalidInput("id", number, "is reserved (0 unspec, 253 default, 254 main, 255 local); "
                           "pick another id for table %s" % name)
    if elsewhere_id is not None:
        raise InvalidInput("name", name, "is table %d in another rt_tables file; "
                           "use that id or another name" % elsewhere_id)
    elsewhere_name = facts.others.name_of(number)
    if elsewhere_name is not None:
        raise InvalidInput("id", number, "is table %s in another rt_tables file; "
                           "use that name or another id" % elsewhere_name)
    return TableName(name, number)


# ---------------------------------------------------------------------------
# Routes from config: each field through its kind, then what holds between fields


def normalise_route(item, table, label, tag):
    values = given_values(ROUTE_INDEX, item)
    family = route_family(values, item)
    if values["type"] == "unicast":
        hop = unicast_hop(values, family, item)
    else:
        hop = no_hop(values, item)
    hop["scope"] = route_scope(values.get("scope"), family, values["type"], hop)
    return Route(family=family, table=table, dst=family_prefix(values["dst"], family),
                 metric=route_metric(values.get("metric"), family), type=values["type"],
                 protocol=tag, owned=True, table_label=label, **hop)


def route_family(values, item):
    """``family`` if given, else the family of the first address in the route, else IPv4; every address
    of the route must be of that family (the kernel keeps the families apart)."""
    addresses = _route_addresses(values)
    family = values.get("family") or (family_of(addresses[0][1]) if addresses else IPV4)
    for name, value in addresses:
        if family_of(value) != family:
            raise InvalidInput("routes." + name, item.get(name, value), "is not an %s address (the route is %s)"
                               % (family.replace("ip", "IP"), family))
    return family


def _route_addresses(values):
    """``[(field name, canonical address)]`` of a route, in the order that decides its family."""
    addresses = [] if values["dst"] == "default" else [("dst", values["dst"])]
    addresses += [(name, values[name]) for name in ("via", "src") if values.get(name)]
    for hop in values.get("nexthops") or ():
        if hop.get("via"):
            addresses.append(("nexthops.via", hop["via"]))
    return addresses


def unicast_hop(values, family, item):
    if values.get("nexthops"):
        return multipath_hop(values, family, item)
    via, dev = values.get("via"), values.get("dev")
    if via is None and dev is None:
        raise InvalidInput("routes.dst", item.get("dst"), "a unicast route needs via, dev or nexthops")
    if via is not None and dev is None:
        raise InvalidInput("routes.dev", None, "give dev with via %s: the kernel picks one otherwise, "
                           "and the module compares what it wrote" % via)
    return dict(via=via, dev=dev, src=values.get("src"), onlink=values["onlink"])


def multipath_hop(values, family, item):
    for name in ("via", "dev", "onlink"):
        if values.get(name):
            raise InvalidInput("routes." + name, item[name], "goes inside nexthops when nexthops is given")
    hops = tuple(sorted((nexthop(hop, family) for hop in values["nexthops"]), key=_nexthop_order))
    if len(set(hops)) != len(hops):
        raise InvalidInput("routes.nexthops", item["nexthops"], "lists a next hop twice")
    return dict(nexthops=hops, src=values.get("src"))


def nexthop(values, family):
    via, dev = values.get("via"), values.get("dev")
    if dev is None:
        raise InvalidInput("routes.nexthops.dev", None, "is required for every next hop (via %s)" % via)
    if via is None and family == IPV6:
        raise InvalidInput("routes.nexthops.via", None, "is required for IPv6 multipath next hops")
    return Nexthop(via=via, dev=dev, weight=values["weight"], onlink=values["onlink"])


def _nexthop_order(hop):
    return (hop.via or "", hop.dev or "")


def no_hop(values, item):
    for name in ("via", "dev", "src", "nexthops", "onlink"):
        if values.get(name):
            raise InvalidInput("routes." + name, item[name], "a %s route has no next hop" % values["type"])
    return {}


def family_prefix(destination, family):
    return DEFAULT_PREFIX[family] if destination == "default" else destination


def route_metric(value, family):
    return value or DEFAULT_METRIC[family]


def route_scope(value, family, route_type, hop):
    if value is None:
        return default_scope(family, route_type, hop.get("via") or hop.get("nexthops"))
    if family == IPV6 and value != "global":
        raise InvalidInput("routes.scope", value, "IPv6 routes have no scope but global")
    return value


def default_scope(family, route_type, gateways):
    """The scope ``ip route add`` gives when none is given: link for an IPv4 route without gateway."""
    if family == IPV4 and route_type == "unicast" and not gateways:
        return "link"
    return "global"


# ---------------------------------------------------------------------------
# Routes from the dump


def parse_route(entry, family, facts):
    table = facts.tables.id_of(entry.get("table", MAIN_TABLE), "dump.table")                 # ip omits main
    protocol = facts.protocols.id_of(entry.get("protocol", BOOT_PROTOCOL), "dump.protocol")  # and boot
    values = read_values(ROUTE_INDEX, entry)
    if values["type"] != "unicast":
        # IPv6 shows "dev lo" on blackhole/unreachable/prohibit/throw routes; none of them has a next hop
        values.update(via=None, dev=None, src=None, onlink=False, nexthops=())
    elif values["nexthops"]:
        values.update(via=None, dev=None, onlink=False)
    values.update(family=family, dst=family_prefix(values["dst"], family),
                  metric=route_metric(values["metric"], family))
    return Route(table=table, protocol=protocol, owned=is_owned(protocol, facts.tag) and values["type"] in ROUTE_TYPES,
                 table_label=facts.tables.show(table), **values)


# ---------------------------------------------------------------------------
# Plan checks and scope


def check_id_clashes(wanted, current, predicted):
    """A new name must not share its id with another name of our file: ``ip`` would show only one."""
    existing = set(record for record in current if isinstance(record, TableName))
    names_by_id = {}
    for record in predicted:
        if isinstance(record, TableName):
            names_by_id.setdefault(record.id, []).append(record.name)
    for record in wanted:
        if isinstance(record, TableName) and record not in existing and len(names_by_id.get(record.id, ())) > 1:
            raise InvalidInput("id", record.id, "would name two tables in the names file: %s"
                               % " and ".join(sorted(names_by_id[record.id])))


def check_foreign_conflicts(ops, current):
    """The kernel keeps one route per identity: refuse to add where another owner's route sits."""
    foreign = dict((record.key, record) for record in current if isinstance(record, Route) and not record.owned)
    for op in ops if foreign else ():
        clash = foreign.get(op.record.key) if op.verb != DELETE else None
        if clash is not None:
            raise InvalidInput("routes.dst", to_config(op.record)["routes"][0]["dst"],
                               "table %s already has this destination at metric %d from protocol %d, "
                               "which this module does not own" % (clash.table_label, clash.metric, clash.protocol))


def tables_in_scope(wanted, current, params):
    """Tables whose unlisted owned routes go: every table of ``replaced``, route-less ``deleted`` entries."""
    if params.get("state") == "replaced":
        entries = params.get("config") or []
        scope = set(record.table for record in wanted if isinstance(record, Route))
        scope.update(record.id for record in wanted if isinstance(record, TableName))
        return scope | tables_named(entries, current)
    return set(record.table for record in wanted if isinstance(record, TableScope))


def tables_named(entries, current):
    """Ids of the owned routes' tables that ``entries`` name (by name as ip shows it, or by id)."""
    names = set(TABLE.normalise(entry["name"], "name") for entry in entries)
    return set(record.table for record in current if isinstance(record, Route) and record.owned
               and (record.table_label in names or record.table in names))


# ---------------------------------------------------------------------------
# Rendering


def render_op(op, path):
    record = op.record
    if isinstance(record, TableName):
        verb = {DELETE: "del", REPLACE: "replace"}.get(op.verb, "add")
        return FileEdit("rt_tables", path, verb, record.name, record.id)
    options = (FAMILY_OPTION[record.family],)
    if op.verb == DELETE:
        return Command("ip", options, ["route", "del"] + identity_words(record))
    return Command("ip", options, ["route", "replace" if op.verb == REPLACE else "add"] + route_words(record))


def is_renumbering(command):
    """Whether ``command`` gives a name of our file another id."""
    return isinstance(command, FileEdit) and command.verb == "replace"


def identity_words(record):
    """Enough for the kernel to find exactly our route: destination, table, metric and our protocol."""
    words = _destination_words(record.dst)
    words += _table_metric_protocol(record)
    return words


def route_words(record):
    """The route as ``ip route add`` takes it: ``[type] dst via dev onlink src scope``, then table, metric and
    our protocol, then the next hops (last, because ``nexthop`` takes the rest of the line).

    A value goes in when ``ip`` would not fill it in by itself."""
    words = []
    if record.type != "unicast":
        words += _words("type", record.type)
    words += _destination_words(record.dst)
    for name in ("via", "dev", "onlink", "src"):
        value = getattr(record, name)
        if value:
            words += _words(name, value)
    if record.scope != default_scope(record.family, record.type, record.via or record.nexthops):
        words += _words("scope", record.scope)
    words += _table_metric_protocol(record)
    if record.nexthops:
        words += _words("nexthops", record.nexthops)
    return words


def _table_metric_protocol(record):
    words = ("table", str(record.table))
    if record.metric:           # 0 is ip's own default in both families (the kernel makes it 1024 for IPv6)
        words += _words("metric", record.metric)
    return words + ("proto", str(record.protocol))


def _destination_words(destination):
    """Not cached like ``_words``: every route has a destination of its own."""
    return list(ROUTE_INDEX.by_name["dst"].words(destination, "routes.dst"))


# A pure function of its arguments, cached: the routes of a run share a few gateways, devices and metrics.
@functools.lru_cache(maxsize=CACHED_TEXTS)
def _words(name, value):
    """The words of one field of a route, through the render-time guard."""
    return tuple(ROUTE_INDEX.by_name[name].words(value, "routes." + name))


def route_config(record):
    """A Route in ``routes`` shape: the fields whose value differs from what ``normalise`` would fill in."""
    implied = dict(ROUTE_INDEX.defaults, metric=DEFAULT_METRIC[record.family], family=_implied_family(record),
                   scope=default_scope(record.family, record.type, record.via or record.nexthops))
    config = {}
    for (name, option), value in zip(_CONFIG_COLUMNS, _CONFIG_VALUES(record)):
        if not (value is None or value is False or value == () or value == implied.get(name)):
            config[option] = value
    # the two fields whose config form is not their canonical value
    config["dst"] = "default" if is_default(record.dst) else record.dst
    if record.nexthops:
        config["nexthops"] = [nexthop_config(hop) for hop in record.nexthops]
    return config


_CONFIG_COLUMNS = tuple((field.name, field.option) for field in ROUTE_FIELDS)
_CONFIG_VALUES = operator.attrgetter(*(name for name, option in _CONFIG_COLUMNS))


def _is_empty(value):
    return value is None or value is False or value == ()


def _implied_family(record):
    """The family ``route_family`` finds in the route's config shape, read off the record.

    The record's addresses are normalised already, so telling the family is a glance
    at the text, not another parse (``route_config`` runs for every route of a result).
    """
    for value in (None if is_default(record.dst) else record.dst, record.via, record.src):
        if value:
            return family_of(value)
    for hop in record.nexthops:
        if hop.via:
            return family_of(hop.via)
    return IPV4


def nexthop_config(hop):
    """A next hop in ``nexthops`` shape; its weight always (the point of a multipath route)."""
    return dict((field.option, getattr(hop, field.name)) for field in NEXTHOP_FIELDS
                if not _is_empty(getattr(hop, field.name)))


def _sortable_prefix(dst):
    network, length = dst.split("/")
    return (int(length), network)


ENGINE = Engine(
    name="pbr_table", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, parse_facts=parse_facts, to_configs=to_configs,
    sort_key=sort_key, finish_plan=finish_plan, parse_running_config=parse_running_config,
    config_fields=CONFIG_FIELDS)
