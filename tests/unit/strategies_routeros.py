"""Hypothesis strategies for the RouterOS engines: ``config`` entries and ``print`` rows.

Rows are drawn the way the API prints them (strings, ``true``/``false``, ``/32`` kept,
flags as ``""``), owned ones tagged ``multiwan.pbr:<name>`` and foreign ones not, so
the properties run through ``parse`` exactly as a real dump would.
"""

from hypothesis import strategies as st

NAMES = st.sampled_from(["dns", "wg", "lan-a", "lan-b", "vpn.1", "office", "cam", "voip", "iot", "guest"])
TABLES = st.sampled_from(["main", "wan1", "wan2", "vpn"])
ACTIONS = st.sampled_from(["drop", "lookup", "lookup-only-in-table", "mangle", "unreachable"])
INTERFACES = st.sampled_from(["ether1", "ether2", "bridge"])
COMMENTS = st.sampled_from(["resolvers of ISP 2", "a \"quoted\" note", "cost=$5?", "x"])
FOREIGN_COMMENTS = st.sampled_from([None, "office VPN", "made by hand", "multiwan.pbrX", "multiwan.pbr no name"])
PARAMS = {"state": "merged", "encoding": "ASCII", "placement": None}


def ipv4_prefixes():
    return st.builds(lambda number, length: "%d.%d.%d.%d/%d" % (
        number >> 24, (number >> 16) & 255, (number >> 8) & 255, number & 255, length),
        st.integers(0, 2 ** 32 - 1), st.integers(0, 32))


def _optional(strategy):
    return st.one_of(st.none(), strategy)


def rule_fields():
    """The non-identity options of a ``ros_routing_rule`` entry, any subset."""
    return st.fixed_dictionaries({}, optional={
        "dst_address": ipv4_prefixes(), "src_address": ipv4_prefixes(), "routing_mark": TABLES,
        "interface": INTERFACES, "action": ACTIONS, "table": TABLES,
        "min_prefix": st.integers(0, 32), "disabled": st.booleans(), "comment": COMMENTS})


def rule_configs(max_size=5):
    """A ``config`` list: unique names, any fields."""
    return st.lists(NAMES, unique=True, max_size=max_size).flatmap(
        lambda names: st.tuples(*[rule_fields().map(lambda fields, name=name: dict(fields, name=name))
                                  for name in names]).map(list))


def rule_rows(max_size=7):
    """A ``/routing/rule/print`` reply: owned and foreign rules interleaved, ids unique."""
    return st.lists(st.tuples(st.one_of(st.none(), NAMES), rule_fields(), FOREIGN_COMMENTS),
                    max_size=max_size).map(_rows_from_drawn)


def _rows_from_drawn(drawn):
    rows, seen = [], set()
    for index, (name, fields, foreign_comment) in enumerate(drawn):
        if name in seen:
            name = None
        seen.add(name)
        row = {".id": "*%X" % (index + 1), "action": fields.get("action", "lookup"),
               "table": fields.get("table", "main"), "inactive": "false",
               "disabled": "true" if fields.get("disabled") else "false"}
        for option, keyword in (("dst_address", "dst-address"), ("src_address", "src-address"),
                                ("routing_mark", "routing-mark"), ("interface", "interface"),
                                ("min_prefix", "min-prefix")):
            if option in fields:
                row[keyword] = str(fields[option])
        comment = _owned_comment(name, fields.get("comment")) if name else foreign_comment
        if comment is not None:
            row["comment"] = comment
        rows.append(row)
    return rows


def _owned_comment(name, comment):
    return "multiwan.pbr:%s" % name + (" " + comment if comment else "")


def placements():
    return st.one_of(st.none(), st.fixed_dictionaries({"position": st.sampled_from(["top", "bottom"])}))


def table_configs(max_size=4):
    names = st.sampled_from(["wan1", "wan2", "vpn", "lab", "isp-3"])
    entry = st.fixed_dictionaries({}, optional={"fib": st.booleans(), "disabled": st.booleans(),
                                                "comment": COMMENTS})
    return st.lists(names, unique=True, max_size=max_size).flatmap(
        lambda chosen: st.tuples(*[entry.map(lambda fields, name=name: dict(fields, name=name))
                                   for name in chosen]).map(list))


def table_rows(owned_names):
    """Rows for ``main``, a foreign ``vpn`` and the given owned tables."""
    rows = [{".id": "*0", "name": "main", "fib": "", "dynamic": "true", "invalid": "false"},
            {".id": "*1", "name": "vpn", "fib": "", "dynamic": "false", "disabled": "false", "comment": "by hand"}]
    for index, name in enumerate(owned_names):
        rows.append({".id": "*%X" % (index + 2), "name": name, "dynamic": "false", "disabled": "false",
                     "comment": "multiwan.pbr"})
    return rows


def route_fields():
    gateway = st.sampled_from(["192.0.2.1", "198.51.100.1%ether2", "203.0.113.9@main", "ether1",
                               "192.0.2.1,198.51.100.1"])
    next_hop = st.one_of(gateway.map(lambda value: {"gateway": value}), st.just({"blackhole": True}))
    optional = st.fixed_dictionaries({}, optional={
        "dst_address": ipv4_prefixes(), "distance": st.integers(1, 255), "scope": st.integers(0, 255),
        "target_scope": st.integers(0, 255), "check_gateway": st.sampled_from(["arp", "none", "ping"]),
        "routing_table": TABLES, "disabled": st.booleans(), "comment": COMMENTS})
    return st.tuples(next_hop, optional).map(lambda parts: dict(parts[1], **parts[0]))


def route_configs(max_size=4):
    return st.lists(NAMES, unique=True, max_size=max_size).flatmap(
        lambda names: st.tuples(*[route_fields().map(lambda fields, name=name: dict(fields, name=name))
                                  for name in names]).map(list))
