"""Hypothesis strategies for multiwan.pbr.pbr_table: table entries, routes, and a host's state.

Destinations, gateways and metrics come from small pools so that generated states share
identities often (replacements, not only additions). Foreign routes use destinations of
their own: the kernel holds one route per identity, so an owned and a foreign route never
share one on a real host.
"""

from dataclasses import replace

from hypothesis import strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import DELETE
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_table as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables_file import edited_text

DEBIAN_RT_TABLES = "255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n"
USER_TABLES = "# the user's own drop-in\n200\tvpn\n"
PARAMS = dict(protocol="211", tables_file=engine.DEFAULT_TABLES_FILE)
# every name has two possible ids, and no id belongs to two names
NAME_IDS = {"isp_a": (101, 111), "isp_b": (102, 112), "isp_c": (103, 113)}
ROUTES_ONLY_TABLES = ("main", "vpn", "104")

DSTS = {"ipv4": ("default", "10.0.0.0/8", "192.0.2.0/24", "198.51.100.7"),
        "ipv6": ("default", "2001:db8:99::/48", "2001:db8::1")}
FOREIGN_DSTS = {"ipv4": ("172.16.0.0/12", "192.0.2.128/25"), "ipv6": ("2001:db8:f00::/40",)}
GATEWAYS = {"ipv4": ("198.51.100.1", "203.0.113.1"), "ipv6": ("2001:db8:1::1", "2001:db8:2::1")}
DEVICES = ("wan0", "wan1")
KINDS = ("via", "dev", "nexthops") + engine.ROUTE_TYPES[1:]


def params(state, config=None, **extra):
    return dict(PARAMS, state=state, config=config, **extra)


def dump_of_names(own_pairs):
    """A dump with only name files: Debian's rt_tables, a user drop-in, and our file."""
    own = "".join("%d\t%s\n" % (number, name) for name, number in own_pairs)
    return {"rt_tables": DEBIAN_RT_TABLES, "rt_tables_d": {"user.conf": USER_TABLES, "multiwan_pbr.conf": own}}


def facts_of(own_pairs):
    return engine.parse_facts(dump_of_names(own_pairs), params("merged"))


FAMILIES = st.sampled_from(("ipv4", "ipv6"))
METRICS = st.sampled_from((None, 0, 10, 1024))
WEIGHTS = st.integers(1, 256)


@st.composite
def _route_configs(draw, dsts):
    family = draw(FAMILIES)
    kind = draw(st.sampled_from(KINDS))
    route = {"dst": draw(st.sampled_from(dsts[family])), "family": family}
    if kind == "via":
        route.update(via=draw(st.sampled_from(GATEWAYS[family])), dev=draw(st.sampled_from(DEVICES)),
                     onlink=draw(st.booleans()))
    elif kind == "dev":
        route.update(dev=draw(st.sampled_from(DEVICES)))
    elif kind == "nexthops":
        route["nexthops"] = [{"via": via, "dev": dev, "weight": draw(WEIGHTS)}
                             for via, dev in zip(GATEWAYS[family], DEVICES)]
    else:
        route["type"] = kind
    metric = draw(METRICS)
    if metric is not None:
        route["metric"] = metric
    return route


def _identity(route):
    """The kernel's identity of a generated route (the pools hold canonical prefixes already)."""
    return route["family"], route["dst"], route.get("metric") or engine.DEFAULT_METRIC[route["family"]]


@st.composite
def _table_configs(draw, routes, max_tables, max_routes):
    """Config entries: named tables with ids, routes-only tables, unique identities throughout."""
    names = draw(st.lists(TABLE_CHOICES, unique=True, max_size=max_tables))
    entries = []
    for name in names:
        entry = {"name": name, "routes": draw(st.lists(routes, unique_by=_identity, max_size=max_routes))}
        if name in NAME_IDS:
            entry["id"] = draw(st.sampled_from(NAME_IDS[name]))
        entries.append(entry)
    return entries


TABLE_CHOICES = st.sampled_from(sorted(NAME_IDS) + list(ROUTES_ONLY_TABLES))
ROUTES = _route_configs(DSTS)
FOREIGN_ROUTES = _route_configs(FOREIGN_DSTS)
TABLES = _table_configs(ROUTES, 4, 4)
FOREIGN_TABLES = _table_configs(FOREIGN_ROUTES, 3, 3)
FOREIGN_PROTOCOLS = st.sampled_from((2, 3, 4, 16))


def route_configs():
    return ROUTES


def table_configs():
    return TABLES


def own_pairs_of(entries):
    return [(entry["name"], entry["id"]) for entry in entries if "id" in entry]


def records_of(entries, facts, state="merged"):
    records = []
    for entry in entries:
        records.extend(engine.normalise(entry, params(state), facts))
    return records


@st.composite
def host_states(draw):
    """``(facts, current records)``: owned names and routes, plus foreign routes in the same tables."""
    owned_entries = draw(TABLES)
    facts = facts_of(own_pairs_of(owned_entries))
    current = records_of(owned_entries, facts)
    foreign_entries = draw(FOREIGN_TABLES)
    for entry in foreign_entries:
        entry.pop("id", None)
        entry["name"] = str(NAME_IDS[entry["name"]][0]) if entry["name"] in NAME_IDS else entry["name"]
    foreign = [replace(record, protocol=draw(FOREIGN_PROTOCOLS), owned=False)
               for record in records_of(foreign_entries, facts) if isinstance(record, engine.Route)]
    routes = [record for record in current if isinstance(record, engine.Route)]
    names = [record for record in current if isinstance(record, engine.TableName)]
    return facts, draw(st.permutations(routes + foreign)) + names


@st.composite
def hosts_with_configs(draw):
    """``(facts, current records, config entries)``, the entries often naming the host's own tables again,
    with either id: a plan that renumbers a table is where a run cut short could strand its routes."""
    facts, current = draw(host_states())
    entries = draw(TABLES)
    named = set(entry["name"] for entry in entries)
    for number, name in facts.own:
        if name not in named:
            entries.append({"name": name, "id": draw(st.sampled_from(NAME_IDS[name])),
                            "routes": draw(st.lists(ROUTES, unique_by=_identity, max_size=3))})
    return facts, current, entries


# ---------------------------------------------------------------------------
# A host as the engine sees it, for tests that apply plans (or parts of them) and read back


TYPE_NUMBERS = dict((name, number) for number, name in engine.TYPE_NAMES.items())
SCOPE_NUMBERS = dict((name, number) for number, name in engine.SCOPE_NAMES.items())


class HostModel(object):
    """Routes and the module's names file, read back as ``ip -N -json route show table all`` and the
    name files would show them; ``apply`` changes them as the runner and the kernel would for each op."""

    def __init__(self, routes, names_text):
        self.routes = dict((route.key, route) for route in routes)
        self.names_text = names_text

    @classmethod
    def of(cls, records):
        names = [record for record in records if isinstance(record, engine.TableName)]
        text = "".join("%d\t%s\n" % (record.id, record.name) for record in names)
        return cls([record for record in records if isinstance(record, engine.Route)], text)

    def copy(self):
        return HostModel(self.routes.values(), self.names_text)

    def dump(self):
        dump = dump_of_names(())
        dump["rt_tables_d"]["multiwan_pbr.conf"] = self.names_text
        for family, key in (("ipv4", "routes4"), ("ipv6", "routes6")):
            dump[key] = [dump_entry(route) for route in self.routes.values() if route.family == family]
        return dump

    def apply(self, op):
        """One op, as its command would change the host (file edits through the runner's own function)."""
        record = op.record
        if isinstance(record, engine.TableName):
            self.names_text = edited_text(self.names_text, engine.render_op(op, engine.DEFAULT_TABLES_FILE))
        elif op.verb == DELETE:
            del self.routes[record.key]
        else:
            self.routes[record.key] = record

    def state(self):
        """What a run leaves behind: every route (with its owner) and the names of our file."""
        return set(self.routes.values()), sorted(engine.parse_id_lines([self.names_text]))


def dump_entry(route):
    """One route as ``ip -N -json route show`` prints it."""
    entry = {"dst": "default" if engine.is_default(route.dst) else route.dst, "table": str(route.table),
             "protocol": str(route.protocol), "flags": ["onlink"] if route.onlink else []}
    if route.type != "unicast":
        entry["type"] = str(TYPE_NUMBERS[route.type])
    if route.scope != "global":
        entry["scope"] = str(SCOPE_NUMBERS[route.scope])
    if route.metric:
        entry["metric"] = route.metric
    for key, value in (("gateway", route.via), ("dev", route.dev), ("prefsrc", route.src)):
        if value:
            entry[key] = value
    if route.nexthops:
        entry["nexthops"] = [dict({"gateway": hop.via} if hop.via else {}, dev=hop.dev, weight=hop.weight,
                                  flags=["onlink"] if hop.onlink else []) for hop in route.nexthops]
    return entry
