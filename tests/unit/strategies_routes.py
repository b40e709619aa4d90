"""Hypothesis strategies for multiwan.pbr.pbr_table: table entries, routes, and a host's state.

Destinations, gateways and metrics come from small pools so that generated states share
identities often (replacements, not only additions). Foreign routes use destinations of
their own: the kernel holds one route per identity, so an owned and a foreign route never
share one on a real host.
"""

from dataclasses import replace

from hypothesis import strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_table as engine

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
