"""The simulated menus, as data: fields, defaults, what may be unset, how a row prints.

Argument names, enumerations and the ``unset value-name`` lists come from the command tree of
RouterOS 7.22.2 (/work/shared/routeros/command-tree-7.22.2.json); print shapes from
semantics.md (REST/API samples and the 7.23.7 lab survey).
"""

import ipaddress
import time

from . import routing, traps
from .menu import Field, MenuSpec, Row
from .values import (AddressListEntry, Boolean, Duration, Enum, EnumSet, Flag, Gateway,
                     Integer, InterfaceAddress, IpAddress, NameSet, Negatable, PortList, Prefix,
                     Reference, Text, ValueType, format_duration)

TABLES = "/routing/table"
INTERFACES = "/interface"
INTERFACE_CLASSES = ("all-ethernet", "all-ppp", "all-vlan", "all-wireless")
FREE = ValueType()
READ_ONLY_BOOLEAN = Boolean()
PRINT_ONLY = frozenset({"print", "getall"})


def build_specs(version):
    """Every simulated menu for RouterOS ``version`` (a tuple such as ``(7, 22, 2)``)."""
    return [
        _identity_spec(), _resource_spec(), _interface_spec(), _ip_address_spec(),
        _routing_table_spec(), _routing_rule_spec(version), _ip_route_spec(),
        _mangle_spec(version), _address_list_spec(), _netwatch_spec(),
    ]


def seed_builtins(state, identity, interfaces):
    """What a fresh CHR has: identity, ethernet interfaces plus ``lo``, table ``main`` as ``*0``."""
    state.menu("/system/identity").add_fixed({"name": identity})
    state.menu("/system/resource").add_fixed({})
    for index, name in enumerate(interfaces, start=1):
        state.menu(INTERFACES).add_fixed(_ethernet(name, index))
    state.menu(INTERFACES).add_fixed({"name": "lo", "type": "loopback", "mtu": "65536",
                                      "actual-mtu": "65536", "mac-address": "00:00:00:00:00:00",
                                      "disabled": "false"})
    state.menu(TABLES).add_builtin(0, {"name": "main", "fib": ""})


def _ethernet(name, index):
    return {"name": name, "default-name": name, "type": "ether", "mtu": "1500",
            "actual-mtu": "1500", "l2mtu": "1500", "mac-address": f"0C:00:00:00:00:{index:02X}",
            "disabled": "false"}


def _booleans(*names):
    return {name: READ_ONLY_BOOLEAN for name in names}


def _flag_value(row, name):
    """A ``Flag`` prints ``""`` when set and nothing when not."""
    return "" if name in row.values else None


# -- /system -------------------------------------------------------------------------------


def _identity_spec():
    return MenuSpec(
        path="/system/identity", singleton=True, commands=frozenset({"print", "getall", "set"}),
        fields=(Field("name", Text()),),
        render=lambda menu, row: {"name": row.values["name"]})


def _resource_spec():
    return MenuSpec(path="/system/resource", singleton=True, commands=PRINT_ONLY, fields=(),
                    render=_render_resource)


def _render_resource(menu, row):
    uptime = int(time.time() - menu.state.started)
    return {"uptime": format_duration(uptime), "version": menu.state.version_string,
            "build-time": "2026-01-01 00:00:00", "factory-software": "7.1",
            "free-memory": "201326592", "total-memory": "268435456", "cpu": "QEMU",
            "cpu-count": "1", "cpu-frequency": "2400", "cpu-load": "0",
            "free-hdd-space": "90000000", "total-hdd-space": "94371840",
            "architecture-name": "x86_64", "board-name": "CHR", "platform": "MikroTik"}


# -- /interface and /ip/address --------------------------------------------------------------


def _interface_spec():
    return MenuSpec(
        path=INTERFACES, name_field="name",
        commands=frozenset({"print", "getall", "set", "enable", "disable", "comment"}),
        fields=(Field("name", Text()), Field("mtu", Integer(0, 65536)),
                Field("l2mtu", Integer(0, 65536)), Field("disabled", Boolean()),
                Field("comment", Text())),
        check_row=_unique("name", "interface with such name"),
        query_types=_booleans("running", "dynamic", "disabled"),
        render=_render_interface)


def _render_interface(menu, row):
    values = row.values
    return {".id": row.id_text, "name": values["name"], "default-name": values.get("default-name"),
            "type": values["type"], "mtu": values.get("mtu"), "actual-mtu": values.get("mtu"),
            "l2mtu": values.get("l2mtu"), "mac-address": values["mac-address"],
            "running": "false" if values["disabled"] == "true" else "true",
            "disabled": values["disabled"], "dynamic": "false", "comment": values.get("comment")}


def _ip_address_spec():
    return MenuSpec(
        path="/ip/address", required=("address", "interface"),
        fields=(Field("address", InterfaceAddress()), Field("network", IpAddress()),
                Field("broadcast", IpAddress()), Field("netmask", IpAddress()),
                Field("interface", Reference(INTERFACES)), Field("disabled", Boolean()),
                Field("comment", Text())),
        query_types=_booleans("invalid", "dynamic"),
        render=_render_ip_address)


def _render_ip_address(menu, row):
    address = ipaddress.ip_interface(row.values["address"])
    interface = menu.shown(row, "interface")
    return {".id": row.id_text, "address": str(address),
            "network": row.values.get("network", str(address.network.network_address)),
            "interface": interface, "actual-interface": interface,
            "invalid": "false" if menu.fields["interface"].type.resolves(
                row.values["interface"], menu.state) else "true",
            "dynamic": "false", "disabled": row.values.get("disabled", "false"),
            "comment": row.values.get("comment")}


# -- /routing/table --------------------------------------------------------------------------


def _routing_table_spec():
    return MenuSpec(
        path=TABLES, name_field="name", required=("name",),
        fields=(Field("name", Text()), Field("fib", Flag(), unsettable=True),
                Field("disabled", Boolean()), Field("comment", Text())),
        check_row=_unique("name", "routing table with such name"),
        check_remove=_refuse_removing_used_table,
        after_remove=_cascade_table_removal,
        query_types=_booleans("dynamic", "invalid", "disabled"),
        render=_render_routing_table)


def _render_routing_table(menu, row):
    # `main` prints without `disabled` (terraform's REST sample of `*0`).
    printed = {".id": row.id_text, "name": row.values["name"], "fib": _flag_value(row, "fib"),
               "dynamic": "true" if row.builtin else "false", "invalid": "false"}
    if not row.builtin:
        printed["disabled"] = row.values.get("disabled", "false")
        printed["comment"] = row.values.get("comment")
    return printed


def _refuse_removing_used_table(menu, row):
    if menu.state.behaviour.table_removal == "refuse" and _table_users(menu.state, row.id_text):
        raise traps.table_in_use()


def _cascade_table_removal(menu, row):
    """``table_removal="cascade"``: the rules and routes that used the table go with it."""
    if menu.state.behaviour.table_removal != "cascade":
        return
    for path in ("/routing/rule", "/ip/route"):
        users = [user for user in _table_users(menu.state, row.id_text, (path,)) if not user.builtin]
        if users:
            menu.state.menu(path).remove({".id": ",".join(user.id_text for user in users)})


def _table_users(state, table_id, paths=None):
    """Rows of rules, routes and mangle that reference the table with ``table_id``."""
    references = (("/routing/rule", ("table", "routing-mark")), ("/ip/route", ("routing-table",)),
                  ("/ip/firewall/mangle", ("routing-mark", "new-routing-mark")))
    return [row for path, names in references if paths is None or path in paths
            for row in state.menu(path).all_rows()
            if any(row.values.get(name, "").lstrip("!") == table_id for name in names)]


# -- /routing/rule ---------------------------------------------------------------------------

RULE_ACTIONS = ("drop", "lookup", "lookup-only-in-table", "unreachable")
RULE_CHAINS = ("local", "main", "mangle", "user", "vrf-lookup", "vrf-unreach")


def _routing_rule_spec(version):
    modern = version >= (7, 22)
    actions = RULE_ACTIONS + (("mangle",) if modern else ())
    table = Reference(TABLES, builtins=("local",) if modern else (),
                      strict_unless="rule_tables_must_exist")
    fields = [
        Field("src-address", Prefix("keep"), unsettable=True),
        Field("dst-address", Prefix("keep"), unsettable=True),
        Field("routing-mark", Reference(TABLES, strict_unless="rule_tables_must_exist"),
              unsettable=True),
        Field("interface", Reference(INTERFACES), unsettable=True),
        Field("action", Enum(actions), default="lookup"),
        Field("table", table, default="main"),
        Field("min-prefix", Integer(0, 4294967295), unsettable=True),
        Field("disabled", Boolean()),
        Field("comment", Text()),
    ]
    if modern:   # 7.22 adds chain/realm/vrf (inspect dumps; community.routeros PR #457)
        fields += [Field("chain", Text(), unsettable=True),
                   Field("realm", Integer(0, 255), unsettable=True),
                   Field("vrf", Text(), unsettable=True)]
    return MenuSpec(path="/routing/rule", ordered=True, fields=tuple(fields),
                    commands=MenuSpec.commands | {"move"},
                    query_types=_booleans("inactive", "disabled", "default"),
                    dynamic_rows=_leading_builtin_rules if modern else None,
                    trailing_rows=_trailing_builtin_rules if modern else None,
                    render=_render_routing_rule)


# Built-in rules (Behaviour.builtin_rules="present"): what they are, and their ids, are the
# simulator's guess from the 7.22 `chain` values and the lookup order of the IP Routing page.
_BUILTIN_RULE_LOCAL = 0x40000001
_BUILTIN_RULE_MAIN = 0x40000002


def _leading_builtin_rules(menu):
    return _builtin_rule(menu, _BUILTIN_RULE_LOCAL, {"chain": "local", "table": "local"})


def _trailing_builtin_rules(menu):
    return _builtin_rule(menu, _BUILTIN_RULE_MAIN, {"chain": "main", "table": "*0"})


def _builtin_rule(menu, number, values):
    if menu.state.behaviour.builtin_rules != "present":
        return []
    return [Row(number, dict(values, action="lookup"), set(), menu, builtin=True, created=0.0)]


def _render_routing_rule(menu, row):
    printed = {".id": row.id_text}
    for name in ("chain", "src-address", "dst-address", "routing-mark", "interface", "action",
                 "table", "min-prefix", "realm", "vrf"):
        if name in menu.fields:
            printed[name] = menu.shown(row, name)
    printed["disabled"] = row.values.get("disabled", "false")
    printed["inactive"] = "false" if _references_resolve(menu, row) else "true"
    if "chain" in menu.fields and menu.state.behaviour.builtin_rules != "absent":
        printed["default"] = "true" if row.builtin else "false"
    printed["comment"] = row.values.get("comment")
    return printed


def _references_resolve(menu, row):
    """A rule or route whose table or interface is gone is inactive. [inferred]"""
    return all(field.type.resolves(row.values[name], menu.state)
               for name, field in menu.fields.items()
               if name in row.values and hasattr(field.type, "resolves"))


# -- /ip/route -------------------------------------------------------------------------------

ROUTE_FIRST_ID = 0x80000001       # static routes are *8000xxxx (lab survey)
CONNECTED_ROUTE_BASE = 0x20180000   # connected routes are *2018xxxx


def _ip_route_spec():
    return MenuSpec(
        path="/ip/route", first_id=ROUTE_FIRST_ID,
        fields=(
            Field("dst-address", Prefix("keep", families=(4,)), default="0.0.0.0/0"),
            Field("gateway", Gateway(), unsettable=True),
            Field("routing-table", Reference(TABLES), default="main"),
            Field("distance", Integer(1, 255), unsettable=True, default="1"),
            Field("scope", Integer(0, 255), unsettable=True, default="30"),
            Field("target-scope", Integer(0, 255), unsettable=True, default="10"),
            Field("check-gateway", Enum(("arp", "none", "ping", "bfd", "bfd-multihop")),
                  unsettable=True),
            Field("pref-src", IpAddress(), unsettable=True),
            Field("blackhole", Flag(), unsettable=True),
            Field("suppress-hw-offload", Boolean()),
            Field("vrf-interface", Reference(INTERFACES), unsettable=True),
            Field("disabled", Boolean()),
            Field("comment", Text()),
        ),
        dynamic_rows=_connected_routes,
        query_types=_booleans("active", "inactive", "dynamic", "static", "connect", "ecmp"),
        render=_render_route)


def _render_route(menu, row):
    """A route as print shows it; its activity comes from ``routing.route_states``."""
    if row.builtin:
        return {".id": row.id_text, **row.values}
    if row.values.get("disabled") == "true":
        return _render_disabled_route(menu, row)
    route_state = routing.route_states(menu.state)[row.id_text]
    shown_active = route_state.in_fib or menu.state.behaviour.fibless_route_print == "active"
    usable = route_state.usable and shown_active and _references_resolve(menu, row)
    active = usable and route_state.active
    printed = _route_configuration(menu, row)
    if "blackhole" not in row.values:
        printed["immediate-gw"] = route_state.immediate_gw if usable else ""
    printed.update({"dynamic": "false", "static": "true", "inactive": "false" if usable else "true",
                    "active": "true" if active else None,
                    "ecmp": "true" if active and route_state.ecmp else None,
                    "comment": row.values.get("comment")})
    return printed


def _route_configuration(menu, row):
    """The configured keys of an enabled route, in print order."""
    blackhole = "blackhole" in row.values
    printed = {".id": row.id_text, "dst-address": menu.shown(row, "dst-address")}
    # A blackhole route has no gateway and no scopes (7.23.7 survey).
    printed.update({"blackhole": ""} if blackhole else {"gateway": menu.shown(row, "gateway")})
    printed.update({name: menu.shown(row, name) for name in _ROUTE_ALWAYS
                    if not (blackhole and name in _ROUTE_SCOPES)})
    printed.update({name: menu.shown(row, name) for name in _ROUTE_WHEN_SET if name in row.values})
    return printed


_ROUTE_SCOPES = ("scope", "target-scope")
_ROUTE_ALWAYS = ("distance", "routing-table") + _ROUTE_SCOPES
_ROUTE_WHEN_SET = ("check-gateway", "pref-src", "suppress-hw-offload", "vrf-interface")
# Behaviour.disabled_route_print = None: the shape by version (the survey is of 7.23.7; no
# source shows an older one, so the same is assumed).
_DISABLED_ROUTE_PRINT_BY_VERSION = (((7, 23), "reduced"), ((0,), "reduced"))


def _render_disabled_route(menu, row):
    """A disabled route: the reduced shape of the 7.23.7 survey, or another (Behaviour)."""
    shape = menu.state.behaviour.disabled_route_print or next(
        shape for since, shape in _DISABLED_ROUTE_PRINT_BY_VERSION if menu.state.version_tuple >= since)
    if shape == "full":
        printed = _route_configuration(menu, row)
        if "blackhole" not in row.values:
            printed["immediate-gw"] = ""
        printed.update({"disabled": "true", "dynamic": "false", "static": "true", "inactive": "false",
                        "comment": row.values.get("comment")})
        return printed
    blackhole = "" if shape == "reduced-blackhole" and "blackhole" in row.values else None
    return {".id": row.id_text, "dst-address": menu.shown(row, "dst-address"),
            "gateway": menu.shown(row, "gateway"), "blackhole": blackhole, "disabled": "true",
            "inactive": "false", "static": "true", "comment": row.values.get("comment")}


def _interface_is_up(state, name):
    interface = state.menu(INTERFACES).find_by_name(name)
    return interface is not None and interface.values.get("disabled") != "true"


def _active_addresses(state):
    """(interface address, interface name, address row) for every enabled address on an enabled interface."""
    addresses = state.menu("/ip/address")
    for row in addresses.all_rows():
        interface = addresses.shown(row, "interface")
        if row.values.get("disabled") != "true" and _interface_is_up(state, interface):
            yield ipaddress.ip_interface(row.values["address"]), interface, row


def _connected_interface(state, address):
    for interface_address, interface, _address_row in _active_addresses(state):
        if address in interface_address.network:
            return interface
    return None


def _connected_routes(menu):
    """One dynamic, connected route (``DAc``) per active /ip/address, in table ``main``."""
    rows = []
    for interface_address, interface, address_row in _active_addresses(menu.state):
        values = {"dst-address": str(interface_address.network), "gateway": interface,
                  "immediate-gw": interface, "distance": "0", "scope": "10",
                  "routing-table": "main", "dynamic": "true", "active": "true",
                  "connect": "true", "inactive": "false",
                  "local-address": f"{interface_address.ip}%{interface}"}
        rows.append(Row(CONNECTED_ROUTE_BASE + address_row.id, values, set(), menu, builtin=True))
    return rows


# -- /ip/firewall/mangle ---------------------------------------------------------------------

MANGLE_ACTIONS = (
    "accept", "add-dst-to-address-list", "add-src-to-address-list", "change-dscp", "change-mss",
    "change-ttl", "clear-df", "fasttrack-connection", "jump", "log", "mark-connection",
    "mark-packet", "mark-routing", "passthrough", "return", "route", "set-priority", "sniff-pc",
    "sniff-tzsp", "strip-ipv4-options")
CONNECTION_STATES = ("established", "invalid", "new", "related", "untracked")
ADDRESS_TYPES = ("blackhole", "broadcast", "local", "multicast", "unicast")
PROTOCOLS = (
    "dccp", "ddp", "egp", "encap", "etherip", "ggp", "gre", "hmp", "icmp", "icmpv6", "idpr-cmtp",
    "igmp", "ipencap", "ipip", "ipsec-ah", "ipsec-esp", "ipv6-encap", "ipv6-frag", "ipv6-nonxt",
    "ipv6-opts", "ipv6-route", "iso-tp4", "l2tp", "ospf", "pim", "pup", "rdp", "rspf", "rsvp",
    "sctp", "st", "tcp", "udp", "udp-lite", "vmtp", "vrrp", "xns-idp", "xtp")
# `unset value-name` completions of /ip/firewall/mangle in 7.22.2.
MANGLE_UNSETTABLE = frozenset((
    "connection-bytes", "connection-limit", "connection-mark", "connection-nat-state",
    "connection-rate", "connection-state", "connection-type", "content", "dscp", "dst-address",
    "dst-address-list", "dst-address-type", "dst-limit", "dst-port", "fragment", "hotspot",
    "icmp-options", "in-bridge-port", "in-bridge-port-list", "in-interface", "in-interface-list",
    "ingress-priority", "ipsec-policy", "ipv4-options", "layer7-protocol", "limit", "nth",
    "out-bridge-port", "out-bridge-port-list", "out-interface", "out-interface-list", "p2p",
    "packet-mark", "packet-size", "per-connection-classifier", "port", "priority", "protocol",
    "psd", "random", "realm", "routing-mark", "src-address", "src-address-list",
    "src-address-type", "src-mac-address", "src-port", "tcp-flags", "tcp-mss", "time",
    "tls-host", "tos", "ttl"))
# Arguments the tree lists that the simulator stores as written (not needed by an audit).
MANGLE_FREE_ARGUMENTS = (
    "address-list", "address-list-timeout", "connection-bytes", "connection-limit",
    "connection-rate", "connection-type", "content", "dscp", "dst-limit", "fragment", "hotspot",
    "icmp-options", "in-bridge-port", "in-bridge-port-list", "ingress-priority", "ipsec-policy",
    "ipv4-options", "jump-target", "layer7-protocol", "limit", "new-dscp", "new-mss",
    "new-priority", "new-ttl", "nth", "out-bridge-port", "out-bridge-port-list", "p2p",
    "packet-size", "per-connection-classifier", "priority", "psd", "random", "realm",
    "route-dst", "sniff-id", "sniff-target", "sniff-target-port", "src-mac-address", "tcp-flags",
    "tcp-mss", "time", "tls-host", "ttl")
# Properties that mangle prints after the matchers, not in field order.
_MANGLE_TRAILING = ("passthrough", "disabled", "log", "log-prefix", "comment")


def _mangle_spec(version):
    address = Negatable(AddressListEntry(allow_names=False))
    interface = Negatable(Reference(INTERFACES, label="interface", specials=INTERFACE_CLASSES))
    interface_list = Negatable(NameSet("interface_lists", "interface-list"))
    table = Reference(TABLES)
    typed = [
        Field("chain", Text()), Field("action", Enum(MANGLE_ACTIONS), default="accept"),
        Field("src-address", address), Field("dst-address", address),
        Field("src-address-list", Negatable(Text())), Field("dst-address-list", Negatable(Text())),
        Field("src-address-type", Negatable(EnumSet(ADDRESS_TYPES))),
        Field("dst-address-type", Negatable(EnumSet(ADDRESS_TYPES))),
        Field("in-interface", interface), Field("out-interface", interface),
        Field("in-interface-list", interface_list), Field("out-interface-list", interface_list),
        Field("protocol", Negatable(Enum(PROTOCOLS, numeric_range=(0, 255)))),
        Field("src-port", Negatable(PortList())), Field("dst-port", Negatable(PortList())),
        Field("port", Negatable(PortList())),
        Field("connection-state", Negatable(EnumSet(CONNECTION_STATES))),
        Field("connection-nat-state", Negatable(EnumSet(("dstnat", "srcnat")))),
        Field("connection-mark", Negatable(Text())), Field("packet-mark", Negatable(Text())),
        Field("routing-mark", Negatable(table)),
        Field("new-connection-mark", Text()), Field("new-packet-mark", Text()),
        Field("new-routing-mark", table),
        Field("tos", Negatable(Text())),
        Field("passthrough", Boolean(), default="true"),
        Field("disabled", Boolean(), default="false"), Field("log", Boolean(), default="false"),
        Field("log-prefix", Text(max_length=31), default=""),
        Field("comment", Text()),
    ]
    typed_names = {item.name for item in typed}
    free = [Field(name, FREE) for name in MANGLE_FREE_ARGUMENTS if name not in typed_names]
    fields = tuple(Field(item.name, item.type, item.name in MANGLE_UNSETTABLE, item.default)
                   for item in typed + free)
    return MenuSpec(
        path="/ip/firewall/mangle", ordered=True, required=("chain",), fields=fields,
        commands=MenuSpec.commands | {"move", "reset-counters", "reset-counters-all"},
        query_types=dict(_booleans("dynamic", "invalid"), bytes=Integer(0, 2**64),
                         packets=Integer(0, 2**64)),
        render=lambda menu, row: _render_mangle(menu, row, version))


def _render_mangle(menu, row, version):
    printed = {".id": row.id_text, "chain": row.values["chain"], "action": menu.shown(row, "action")}
    for name in menu.fields:
        if name in row.values and name not in printed and name not in _MANGLE_TRAILING:
            printed[name] = menu.shown(row, name)
    # 7.19: "always show passthrough"; before that only once written.
    if version >= (7, 19) or "passthrough" in row.written:
        printed["passthrough"] = menu.shown(row, "passthrough")
    written_only = menu.state.behaviour.mangle_prints_written_only
    for name in ("disabled", "log", "log-prefix"):
        if not written_only or name in row.written:
            printed[name] = menu.shown(row, name)
    printed.update({"bytes": "0", "packets": "0", "dynamic": "false", "invalid": "false",
                    "comment": row.values.get("comment")})
    return printed


# -- /ip/firewall/address-list ---------------------------------------------------------------


def _address_list_spec():
    return MenuSpec(
        path="/ip/firewall/address-list", required=("list", "address"),
        fields=(Field("list", Text()), Field("address", AddressListEntry()),
                Field("timeout", Duration(), unsettable=True), Field("dynamic", Boolean()),
                Field("disabled", Boolean()), Field("comment", Text())),
        check_row=_unique(("list", "address"), "such entry"),
        query_types=_booleans("dynamic", "disabled"),
        render=_render_address_list)


def _render_address_list(menu, row):
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created))
    return {".id": row.id_text, "list": row.values["list"], "address": row.values["address"],
            "timeout": row.values.get("timeout"), "creation-time": created,
            "dynamic": row.values.get("dynamic", "false"),
            "disabled": row.values.get("disabled", "false"), "comment": row.values.get("comment")}


# -- /tool/netwatch -------------------------------------------------------------------------
# Arguments, enumerations, ranges and the `unset value-name` list of /tool/netwatch in RouterOS
# 7.22.2 (restraml docs/7.22.2/deep-inspect.json: the command tree beside semantics.md is trimmed
# to the routing menus and lacks this one). Defaults from the Netwatch page (README.md, Menus).

NETWATCH_TYPES = ("dns", "http-get", "https-get", "icmp", "simple", "tcp-conn")
NETWATCH_DEFAULTS = {"type": "simple", "interval": "10s", "timeout": "3s"}
NETWATCH_UNSETTABLE = frozenset((
    "accept-icmp-time-exceeded", "certificate", "check-certificate", "dns-server", "down-script",
    "early-failure-detection", "early-success-detection", "http-codes", "ignore-initial-down",
    "ignore-initial-up", "interval", "packet-count", "packet-interval", "packet-size", "port",
    "record-type", "src-address", "start-delay", "startup-delay", "test-script", "thr-avg",
    "thr-http-time", "thr-jitter", "thr-loss-count", "thr-loss-percent", "thr-max", "thr-stdev",
    "thr-tcp-conn-time", "timeout", "ttl", "up-script"))
# Arguments the tree lists that the simulator stores as written.
NETWATCH_FREE_ARGUMENTS = (
    "certificate", "dns-server", "http-codes", "packet-count", "packet-size", "port", "ttl",
    "thr-avg", "thr-http-time", "thr-jitter", "thr-loss-count", "thr-loss-percent", "thr-max",
    "thr-stdev", "thr-tcp-conn-time")
_NETWATCH_BOOLEANS = (
    "accept-icmp-time-exceeded", "check-certificate", "early-failure-detection",
    "early-success-detection", "ignore-initial-down", "ignore-initial-up")
_WEEK_MS = 604800000


def _netwatch_spec():
    typed = [
        Field("host", IpAddress()), Field("type", Enum(NETWATCH_TYPES)),
        Field("interval", Duration(1000, 71 * _WEEK_MS)),
        Field("timeout", Duration(10, 4 * _WEEK_MS)),
        Field("packet-interval", Duration(20, 71 * _WEEK_MS)),
        Field("start-delay", Duration(0, 3600000)), Field("startup-delay", Duration(0, 3600000)),
        Field("src-address", IpAddress()), Field("record-type", Enum(("A", "AAAA", "MX", "NS"))),
        Field("up-script", Text()), Field("down-script", Text()), Field("test-script", Text()),
        Field("name", Text()), Field("disabled", Boolean()), Field("comment", Text()),
    ] + [Field(name, Boolean()) for name in _NETWATCH_BOOLEANS]
    fields = tuple(Field(item.name, item.type, item.name in NETWATCH_UNSETTABLE)
                   for item in typed + [Field(name, FREE) for name in NETWATCH_FREE_ARGUMENTS])
    return MenuSpec(path="/tool/netwatch", required=("host",), fields=fields,
                    query_types=_booleans("disabled"), render=_render_netwatch)


def _render_netwatch(menu, row):
    """An entry with its probe's state: ``status`` follows whether the simulated network answers
    at ``host`` (``RouterState.set_reachable``). Defaults per ``Behaviour.netwatch_print``."""
    values = row.values
    printed = {".id": row.id_text, "host": values["host"]}
    show_defaults = menu.state.behaviour.netwatch_print == "all"
    for name in menu.fields:
        if name in values and name not in ("host", "disabled", "comment"):
            printed[name] = menu.shown(row, name)
        elif show_defaults and name in NETWATCH_DEFAULTS:
            printed[name] = NETWATCH_DEFAULTS[name]
    disabled = values.get("disabled") == "true"
    printed["status"] = "unknown" if disabled else (
        "up" if menu.state.is_reachable(values["host"]) else "down")
    printed.update({"disabled": values.get("disabled", "false"), "comment": values.get("comment")})
    return printed


# -- shared checks ---------------------------------------------------------------------------


def _unique(names, what):
    """A ``check_row`` that refuses a second row with the same value(s) of ``names``."""
    names = (names,) if isinstance(names, str) else names

    def check(menu, candidate):
        key = tuple(candidate.values.get(name) for name in names)
        for row in menu.all_rows():
            if row.id != candidate.id and tuple(row.values.get(name) for name in names) == key:
                raise traps.already_have(what)
    return check
