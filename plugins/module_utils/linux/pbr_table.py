# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of ``multiwan.pbr.pbr_table``: routing table names and the routes in the tables.

Two kinds of record live in one plan:

``TableName``  a ``<id> <name>`` line of the module's own rt_tables.d file (key ``("table name", name)``).
               Every line of that file is owned; names in any other file are facts, never records.
``Route``      one kernel route (key ``("route", family, table, dst, metric)`` -- the kernel's own
               identity: it keeps one route per table, destination and metric, whatever its type
               or next hops). Owned when its ``protocol`` is the module's tag.

Routes render as full ``ip -4|-6 route add|replace|del`` lines with numeric table ids, so the
kernel never needs the names file. Name changes render as pseudo-commands for the runner
(``rt_tables_file.TablesFileRunner``), which writes them to the file and sends the rest to ``ip``:

    rt_tables add 101 isp_a # /etc/iproute2/rt_tables.d/multiwan_pbr.conf
    rt_tables replace 102 isp_a # ...     (isp_a now means 102)
    rt_tables del 101 isp_a # ...

The device is read with ``ip -N -json -4|-6 route show table all``: ``-N`` prints tables,
protocols, types and scopes as numbers, so the dump means the same whatever names the host
defines. ``parse`` still accepts the named form (a ``running_config`` saved without ``-N``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
from dataclasses import dataclass, field

from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import (
    IPV4, IPV6, address, family_of, is_default, prefix)
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import Command, FileEdit
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import INTERFACE
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import DEFAULT_PROTOCOL, is_owned, protocol_tag
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import DELETE, REPLACE, Op
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
RESERVED_IDS = (0, 253, 254, 255)
MAX_ID = 4294967295

ROUTE_TYPES = ("unicast", "throw", "blackhole", "unreachable", "prohibit")
# rtm_type numbers (linux/rtnetlink.h), as ``ip -N`` prints them
TYPE_NAMES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
              6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}
SCOPES = ("global", "site", "link", "host")
SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
# IPv6 has no metric 0: the kernel stores a route added without one at 1024 (IP6_RT_PRIO_USER)
DEFAULT_METRIC = {IPV4: 0, IPV6: 1024}

TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]+|\d+)$")

NEXTHOP_OPTIONS = dict(
    via=dict(type="str"),
    dev=dict(type="str"),
    weight=dict(type="int", default=1),
    onlink=dict(type="bool", default=False),
)
ROUTE_OPTIONS = dict(
    dst=dict(type="str", required=True),
    type=dict(type="str", default="unicast", choices=list(ROUTE_TYPES)),
    via=dict(type="str"),
    dev=dict(type="str"),
    src=dict(type="str"),
    metric=dict(type="int"),
    scope=dict(type="str", choices=list(SCOPES)),
    onlink=dict(type="bool", default=False),
    nexthops=dict(type="list", elements="dict", options=NEXTHOP_OPTIONS),
    family=dict(type="str", choices=[IPV4, IPV6]),
)
CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    id=dict(type="int"),
    routes=dict(type="list", elements="dict", options=ROUTE_OPTIONS),
)
CONFIG_SPEC = dict(type="list", elements="dict", options=CONFIG_OPTIONS)


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
    table_label: str = field(default="", compare=False)

    @property
    def key(self):
        return ("route", self.family, self.table, self.dst, self.metric)


@dataclass(frozen=True)
class TableScope:
    """Not a device object: a ``deleted`` entry without routes, meaning "every owned route of this table".

    It only ever appears among the wanted records of ``deleted``, whose plan ignores keys the
    device does not hold; ``finish_plan`` turns it into the deletions.
    """

    table: int
    name: object = None     # our file's name of the table, which goes after its routes
    owned: bool = False

    @property
    def key(self):
        return ("table scope", self.table)


@dataclass(frozen=True)
class Facts:
    """What the host's files say: every table name, the names of other files, our tag."""

    tables: object          # TableNames over every file ip reads
    others: object          # TableNames without the module's own file
    own: tuple              # ((id, name), ...) of the module's own file
    tag: int                # the protocol number of owned routes
    protocols: object       # protocol names (rt_protos), for dumps read without -N


# ---------------------------------------------------------------------------
# The engine interface (see resource.py)


def parse_facts(dump, params):
    own_name = own_file_name(params)
    directory = dict(dump.get(TABLES_DIRECTORY_KEY) or {})
    own_text = directory.pop(own_name, None)
    others_dump = dict(dump, **{TABLES_DIRECTORY_KEY: directory})
    protocols = protocol_names(dump)
    return Facts(tables=table_names(dump), others=table_names(others_dump),
                 own=tuple(parse_id_lines([own_text])), tag=protocol_tag(params.get("protocol"), protocols), protocols=protocols)


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
    if not isinstance(item, dict):
        raise InvalidInput("config", item, "is not a table entry (a dict with name, id, routes)")
    table_id, name_record = resolve_table(item, facts)
    routes = item.get("routes")
    if routes is not None and not isinstance(routes, list):
        raise InvalidInput("routes", routes, "is not a list of routes")
    label = facts.tables.show(table_id) if name_record is None else name_record.name
    # IPv4 lines before IPv6 lines: ip -batch takes one family per run, fewer runs are faster
    records = sorted((normalise_route(route, table_id, label, facts.tag) for route in routes or []),
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
    wanted_keys = set(record.key for record in wanted)
    route_deletions = [Op(DELETE, record) for record in predicted
                       if isinstance(record, Route) and record.owned and record.table in scope
                       and record.key not in wanted_keys]
    names = set(record.name for record in wanted if isinstance(record, TableScope))
    name_deletions = [Op(DELETE, record) for record in predicted
                      if isinstance(record, TableName) and record.name in names]
    return route_deletions + name_deletions


def render(ops, params):
    path = tables_file(params)
    return [render_op(op, path) for op in ops]


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
    return {"name": record.table_label or str(record.table), "routes": [route_config(record)]}


def to_configs(records):
    """Records grouped into one entry per table, names first, in ``sort_key`` order."""
    entries = {}
    for record in records:
        config = to_config(record)
        entry = entries.setdefault(config["name"], {"name": config["name"]})
        if "id" in config:
            entry["id"] = config["id"]
        entry.setdefault("routes", []).extend(config.get("routes", []))
    return list(entries.values())


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
    return Facts(tables=builtin, others=builtin, own=(), tag=protocol_tag(params.get("protocol"), protocols), protocols=protocols)


# ---------------------------------------------------------------------------
# Tables: a name, an id, or both


def resolve_table(item, facts):
    """``(table id, TableName record or None)`` for a config entry."""
    name, given_id = item.get("name"), item.get("id")
    if name is None or str(name).strip() == "":
        raise InvalidInput("name", name, "is required: a table name, or a table id")
    name = str(name).strip()
    if given_id is not None:
        given_id = table_id(given_id)
    if NUMBER.match(name):
        return numeric_table(name, given_id), None
    if not TABLE_NAME.match(name):
        raise InvalidInput("name", name, "is not a table name (a letter or _, then letters, digits, _ . -)")
    if given_id is None:
        return named_table(name, facts)
    return given_id, new_or_kept_name(name, given_id, facts)


def table_id(value):
    try:
        number = int(str(value).strip(), 0)
    except ValueError:
        raise InvalidInput("id", value, "is not a table id (an integer 1..%d)" % MAX_ID)
    if not 0 <= number <= MAX_ID:
        raise InvalidInput("id", value, "is out of range 1..%d" % MAX_ID)
    return number


def numeric_table(name, given_id):
    number = int(name, 0)
    if number > MAX_ID or number == 0:
        raise InvalidInput("name", name, "is out of range 1..%d" % MAX_ID)
    if given_id is not None and given_id != number:
        raise InvalidInput("id", given_id, "differs from the table id given as name (%s)" % name)
    return number


def named_table(name, facts):
    """A name given without id: ours (kept), or another file's (routes only), or unknown."""
    own = dict((own_name, number) for number, own_name in facts.own)
    if name in own:
        return own[name], TableName(name, own[name])
    if name in facts.others.id_by_name:
        return facts.others.id_by_name[name], None
    raise InvalidInput("name", name, "is not a table name iproute2 knows (rt_tables, rt_tables.d, or "
                       "main/local/default); give its id to add it")


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
# Routes from config


def normalise_route(item, table, label, tag):
    if not isinstance(item, dict):
        raise InvalidInput("routes", item, "is not a route (a dict with dst and next hop or type)")
    route_type = item.get("type") or "unicast"
    if route_type not in ROUTE_TYPES:
        raise InvalidInput("routes.type", route_type, "is not one of %s" % ", ".join(ROUTE_TYPES))
    family = route_family(item)
    dst = prefix(_required(item, "dst"), "routes.dst", family)
    if route_type == "unicast":
        hop = unicast_hop(item, family)
    else:
        hop = no_hop(item, route_type)
    metric = route_metric(item.get("metric"), family)
    scope = route_scope(item.get("scope"), family, route_type, hop)
    return Route(family=family, table=table, dst=dst, metric=metric, type=route_type, scope=scope,
                 protocol=tag, owned=True, table_label=label, **hop)


def route_family(item):
    """``family`` if given, else the family of the first address in the route, else IPv4."""
    given = item.get("family")
    if given is not None:
        if given not in (IPV4, IPV6):
            raise InvalidInput("routes.family", given, "is not ipv4 or ipv6")
        return given
    for value in _route_addresses(item):
        return family_of(prefix(value, _address_field(item, value)))
    return IPV4


def _route_addresses(item):
    dst = item.get("dst")
    if dst is not None and str(dst).strip().lower() not in ("default", "all", "any"):
        yield dst
    for name in ("via", "src"):
        if item.get(name):
            yield item[name]
    for hop in item.get("nexthops") or []:
        if isinstance(hop, dict) and hop.get("via"):
            yield hop["via"]


def _address_field(item, value):
    for name in ("dst", "via", "src"):
        if item.get(name) is value:
            return "routes." + name
    return "routes.nexthops.via"


def unicast_hop(item, family):
    nexthops = item.get("nexthops")
    if nexthops:
        return multipath_hop(item, nexthops, family)
    via = address(item["via"], "routes.via", family) if item.get("via") else None
    dev = device(item.get("dev"), "routes.dev")
    if via is None and dev is None:
        raise InvalidInput("routes.dst", item.get("dst"), "a unicast route needs via, dev or nexthops")
    if via is not None and dev is None:
        raise InvalidInput("routes.dev", None, "give dev with via %s: the kernel picks one otherwise, "
                           "and the module compares what it wrote" % via)
    return dict(via=via, dev=dev, src=route_src(item, family), onlink=_flag(item, "onlink", "routes.onlink"))


def multipath_hop(item, nexthops, family):
    if not isinstance(nexthops, list) or len(nexthops) < 2:
        raise InvalidInput("routes.nexthops", nexthops, "needs two or more next hops (one is via/dev)")
    for name in ("via", "dev"):
        if item.get(name):
            raise InvalidInput("routes." + name, item[name], "goes inside nexthops when nexthops is given")
    if item.get("onlink"):
        raise InvalidInput("routes.onlink", item["onlink"], "goes inside nexthops when nexthops is given")
    hops = tuple(sorted((normalise_nexthop(hop, family) for hop in nexthops), key=_nexthop_order))
    if len(set(hops)) != len(hops):
        raise InvalidInput("routes.nexthops", nexthops, "lists a next hop twice")
    return dict(nexthops=hops, src=route_src(item, family))


def normalise_nexthop(hop, family):
    if not isinstance(hop, dict):
        raise InvalidInput("routes.nexthops", hop, "is not a next hop (a dict with via, dev, weight)")
    via = address(hop["via"], "routes.nexthops.via", family) if hop.get("via") else None
    dev = device(hop.get("dev"), "routes.nexthops.dev")
    if dev is None:
        raise InvalidInput("routes.nexthops.dev", None, "is required for every next hop (via %s)" % via)
    if via is None and family == IPV6:
        raise InvalidInput("routes.nexthops.via", None, "is required for IPv6 multipath next hops")
    weight = hop.get("weight")
    weight = 1 if weight is None else weight
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 256:
        raise InvalidInput("routes.nexthops.weight", weight, "is not an integer 1..256")
    return Nexthop(via=via, dev=dev, weight=weight, onlink=_flag(hop, "onlink", "routes.nexthops.onlink"))


def _nexthop_order(hop):
    return (hop.via or "", hop.dev or "")


def no_hop(item, route_type):
    for name in ("via", "dev", "src", "nexthops", "onlink"):
        if item.get(name):
            raise InvalidInput("routes." + name, item[name], "a %s route has no next hop" % route_type)
    return {}


def route_src(item, family):
    return address(item["src"], "routes.src", family) if item.get("src") else None


def device(value, field_name):
    if value is None or value == "":
        return None
    return INTERFACE.normalise(value, field_name)


def route_metric(value, family):
    if value is None:
        return DEFAULT_METRIC[family]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise InvalidInput("routes.metric", value, "is not an integer 0..%d" % MAX_ID)
    return value or DEFAULT_METRIC[family]


def route_scope(value, family, route_type, hop):
    default = default_scope(family, route_type, hop)
    if value is None:
        return default
    if value not in SCOPES:
        raise InvalidInput("routes.scope", value, "is not one of %s" % ", ".join(SCOPES))
    if family == IPV6 and value != "global":
        raise InvalidInput("routes.scope", value, "IPv6 routes have no scope but global")
    return value


def default_scope(family, route_type, hop):
    """The scope ``ip route add`` gives when none is given: link for an IPv4 route without gateway."""
    if family == IPV4 and route_type == "unicast" and not hop.get("via") and not hop.get("nexthops"):
        return "link"
    return "global"


def _required(item, name):
    value = item.get(name)
    if value is None or str(value).strip() == "":
        raise InvalidInput("routes." + name, value, "is required")
    return value


def _flag(item, name, field_name):
    value = item.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidInput(field_name, value, "is not true or false")
    return value


# ---------------------------------------------------------------------------
# Routes from the dump


def parse_route(entry, family, facts):
    table = _dump_number(entry.get("table"), MAIN_TABLE, facts.tables)   # ip omits table main
    protocol = _dump_number(entry.get("protocol"), 3, facts.protocols)    # and proto boot
    route_type = _dump_name(entry.get("type"), "unicast", TYPE_NAMES)
    hop = dump_hop(entry, route_type)
    metric = entry.get("metric")
    return Route(family=family, table=table, dst=dump_dst(entry.get("dst"), family),
                 metric=DEFAULT_METRIC[family] if metric is None else int(metric),
                 type=route_type, scope=_dump_name(entry.get("scope"), "global", SCOPE_NAMES),
                 protocol=protocol, owned=is_owned(protocol, facts.tag) and route_type in ROUTE_TYPES,
                 table_label=facts.tables.show(table), **hop)


def dump_dst(value, family):
    # ip prints "default", and host routes without /32 or /128
    return prefix(value or "default", "dump.dst", family)


def dump_hop(entry, route_type):
    if route_type != "unicast":
        return {}       # IPv6 shows "dev lo" on blackhole/unreachable/prohibit/throw routes
    hop = dict(via=_gateway(entry), dev=entry.get("dev"), src=entry.get("prefsrc"),
               onlink="onlink" in (entry.get("flags") or ()))
    if entry.get("nexthops"):
        hop.update(via=None, dev=None, onlink=False,
                   nexthops=tuple(sorted((dump_nexthop(nexthop) for nexthop in entry["nexthops"]),
                                         key=_nexthop_order)))
    return hop


def dump_nexthop(entry):
    return Nexthop(via=_gateway(entry), dev=entry.get("dev"), weight=int(entry.get("weight", 1)),
                   onlink="onlink" in (entry.get("flags") or ()))


def _gateway(entry):
    gateway = entry.get("gateway")
    if gateway is None and isinstance(entry.get("via"), dict):     # RTA_VIA: a gateway of the other family
        gateway = entry["via"].get("host")
    return address(gateway, "dump.gateway") if gateway else None


def _dump_number(value, missing, names):
    if value is None:
        return missing
    text = str(value)
    if NUMBER.match(text):
        return int(text, 0)
    return names.id_of(text, "dump")


def _dump_name(value, missing, names):
    if value is None:
        return missing
    text = str(value)
    return names.get(int(text), text) if text.isdigit() else text


# ---------------------------------------------------------------------------
# Plan checks and scope


def check_id_clashes(wanted, current, predicted):
    """A new name must not share its id with another name of our file: ``ip`` would show only one."""
    existing = set(current)
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
    for op in ops:
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
    names = set(str(entry.get("name")).strip() for entry in entries)
    numbers = set(int(name, 0) for name in names if NUMBER.match(name))
    return set(record.table for record in current if isinstance(record, Route) and record.owned
               and (record.table_label in names or record.table in numbers))


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


def identity_words(record):
    """Enough for the kernel to find exactly our route: destination, table, metric and our protocol."""
    words = [_dst_word(record), "table", str(record.table)]
    if record.metric:
        words += ["metric", str(record.metric)]
    return words + ["proto", str(record.protocol)]


def route_words(record):
    """The route as ``ip route add`` takes it; next hops last, because ``nexthop`` eats the rest."""
    words = [] if record.type == "unicast" else [record.type]
    words.append(_dst_word(record))
    words += _hop_words(record.via, record.dev, record.onlink)
    if record.src:
        words += ["src", record.src]
    if record.scope != default_scope(record.family, record.type, dict(via=record.via, nexthops=record.nexthops)):
        words += ["scope", record.scope]
    words += ["table", str(record.table)]
    if record.metric:
        words += ["metric", str(record.metric)]
    words += ["proto", str(record.protocol)]
    for hop in record.nexthops:
        words += ["nexthop"] + _hop_words(hop.via, hop.dev, hop.onlink) + ["weight", str(hop.weight)]
    return words


def _hop_words(via, dev, onlink):
    words = ["via", via] if via else []
    words += ["dev", dev] if dev else []
    return words + (["onlink"] if onlink else [])


def _dst_word(record):
    return "default" if is_default(record.dst) else record.dst


def route_config(record):
    """A Route in ``routes`` shape: only what differs from what normalise would fill in."""
    config = {"dst": _dst_word(record)}
    if record.type != "unicast":
        config["type"] = record.type
    for name in ("via", "dev", "src"):
        if getattr(record, name):
            config[name] = getattr(record, name)
    if record.onlink:
        config["onlink"] = True
    if record.nexthops:
        config["nexthops"] = [nexthop_config(hop) for hop in record.nexthops]
    if record.metric != DEFAULT_METRIC[record.family]:
        config["metric"] = record.metric
    if record.scope != default_scope(record.family, record.type, dict(via=record.via, nexthops=record.nexthops)):
        config["scope"] = record.scope
    if _implied_family(record) != record.family:
        config["family"] = record.family
    return config


def _implied_family(record):
    """The family ``route_family`` finds in the route's config shape, read off the record.

    The record's addresses are normalised already, so telling the family is a glance
    at the text, not another parse (``route_config`` runs for every route of a result).
    """
    addresses = [] if is_default(record.dst) else [record.dst]
    addresses += [value for value in (record.via, record.src) if value]
    addresses += [hop.via for hop in record.nexthops if hop.via]
    return family_of(addresses[0]) if addresses else IPV4


def nexthop_config(hop):
    config = dict((name, getattr(hop, name)) for name in ("via", "dev") if getattr(hop, name))
    config["weight"] = hop.weight
    if hop.onlink:
        config["onlink"] = True
    return config


def _sortable_prefix(dst):
    network, length = dst.split("/")
    return (int(length), network)


ENGINE = Engine(
    name="pbr_table", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, parse_facts=parse_facts, to_configs=to_configs,
    sort_key=sort_key, finish_plan=finish_plan, parse_running_config=parse_running_config)
