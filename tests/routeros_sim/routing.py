"""Route activity and the routing decision, as the IP Routing page describes them.

``route_states(state)`` says for every ``/ip/route`` row whether it can be used, whether it is
the active one for its table and destination, and how each of its gateways resolves:

- A gateway that is an interface (or ``IP%interface``) is reachable while the interface is up.
- An IP gateway is looked up (longest prefix) among the active routes of the resolving table
  whose ``scope`` is at most this route's ``target-scope`` ("Nexthop Lookup"); through a
  connected route it becomes ``IP%interface``, through another route it takes that route's
  immediate gateway (a recursive route). The resolving table is ``@table`` when written, else
  ``main`` or the route's own table (``Behaviour.gateway_resolution``).
- ``check-gateway`` (ping, arp, bfd) makes a gateway unreachable while the simulated network
  does not answer at its address (``RouterState.set_reachable``). RouterOS probes every 10 s and
  gives up after two timeouts; the simulator applies the result at once.
- A route is usable with at least one reachable gateway (a blackhole always), in an existing
  table; among the usable routes of one table and destination, those with the lowest distance
  are active, several of them ECMP ("Route Selection", "Multipath (ECMP) routes").
- A table without ``fib`` pushes nothing to the FIB: lookups never use its routes.

``lookup(state, dst, …)`` is the routing decision for one packet ("Routing table lookup"):
local delivery, a routing mark's table, the user rules in list order (``lookup`` goes on to
the next rule when its table has no route, ``lookup-only-in-table`` does not), then ``main``.
"""

import ipaddress
from dataclasses import dataclass, field

ROUTES = "/ip/route"
RULES = "/routing/rule"
TABLES = "/routing/table"
CHECKED_GATEWAYS = ("ping", "arp", "bfd", "bfd-multihop")
_CONNECTED_SCOPE = 10


@dataclass(frozen=True)
class Hop:
    """One gateway of a route: as written, where it leads (``IP%interface`` or an interface,
    ``""`` when it does not resolve), whether it is usable, why not, and the ``.id`` of the
    route it resolved through (``None`` for connected networks and interfaces)."""

    gateway: str
    immediate: str = ""
    up: bool = False
    reason: str = ""
    via: str = None


@dataclass(frozen=True)
class RouteState:
    """What RouterOS derives for one route. ``usable``: not inactive; ``active``: chosen for its
    table and destination; ``in_fib``: its table has ``fib``; ``ecmp``: several next hops."""

    usable: bool
    active: bool = False
    ecmp: bool = False
    in_fib: bool = True
    hops: tuple = ()
    reason: str = ""

    @property
    def immediate_gw(self):
        return ",".join(hop.immediate for hop in self.hops if hop.up)


@dataclass(frozen=True)
class Decision:
    """The routing decision for a packet: ``action`` is ``forward``, ``local``, ``blackhole``,
    ``drop`` or ``unreachable``; ``table`` and ``route`` (as print shows it) decided it;
    ``gateway`` is the immediate gateway(s); ``rule`` the rule that led there (``None`` for a
    routing mark or the implicit ``main`` lookup); ``trace`` every step, for failure messages."""

    action: str
    table: str = None
    route: dict = None
    gateway: str = None
    rule: dict = None
    trace: tuple = field(default=())


# -- route states ------------------------------------------------------------------------------


def route_states(state):
    """``{route .id: RouteState}`` for every route, cached until the configuration changes."""
    cached = getattr(state, "_route_states", None)
    if cached is not None and cached[0] == state.generation:
        return cached[1]
    states = _RouteModel(state).states()
    state._route_states = (state.generation, states)
    return states


class _RouteModel:
    """Resolves every route once; recursion through other routes is memoised."""

    def __init__(self, state):
        self.state = state
        self.menu = state.menu(ROUTES)
        self.rows = {row.id_text: row for row in self.menu.all_rows()}
        self.usable = {}
        self.in_progress = set()
        self.index = _index_by_destination(self.menu, self.rows.values())

    def states(self):
        return {route_id: self._state(row) for route_id, row in self.rows.items()}

    def _state(self, row):
        usable = self._usable(row)
        in_fib = _table_has_fib(self.state, self._table(row))
        if not usable.usable:
            return RouteState(False, in_fib=in_fib, hops=usable.hops, reason=usable.reason)
        winners = self._winners(row)
        active = row in winners
        up_hops = sum(1 for hop in usable.hops if hop.up)
        return RouteState(True, active, active and (up_hops > 1 or len(winners) > 1), in_fib, usable.hops)

    def _winners(self, row):
        """The usable routes of ``row``'s table and destination with the lowest distance."""
        peers = [peer for peer in self.index.same_destination(self._table_id(row), row)
                 if self._usable(peer).usable]
        best = min((_distance(self.menu, peer) for peer in peers), default=None)
        return [peer for peer in peers if _distance(self.menu, peer) == best]

    def _usable(self, row):
        """Whether ``row`` has a table and a reachable gateway (memoised; a loop is unusable)."""
        if row.id_text in self.usable:
            return self.usable[row.id_text]
        if row.id_text in self.in_progress:
            return RouteState(False, reason="gateway resolves through itself")
        self.in_progress.add(row.id_text)
        try:
            result = self._evaluate(row)
        finally:
            self.in_progress.discard(row.id_text)
        self.usable[row.id_text] = result
        return result

    def _evaluate(self, row):
        values = row.values
        if values.get("disabled") == "true":
            return RouteState(False, reason="disabled")
        if self._table(row) is None:
            return RouteState(False, reason="routing table removed")
        if row.builtin or "blackhole" in values:
            return RouteState(True, hops=_connected_hops(values) if row.builtin else ())
        hops = tuple(self._hop(row, gateway) for gateway in values.get("gateway", "").split(",") if gateway)
        if not any(hop.up for hop in hops):
            return RouteState(False, hops=hops, reason="no reachable gateway")
        return RouteState(True, hops=hops)

    def _hop(self, row, gateway):
        address, _separator, table_name = gateway.partition("@")
        address, _separator, interface = address.partition("%")
        if not _is_address(address):
            return _interface_hop(self.state, gateway, address)
        if interface:
            hop = _interface_hop(self.state, gateway, interface, immediate=f"{address}%{interface}")
        else:
            hop = self._resolved_hop(row, gateway, address, table_name)
        return _checked(self.state, row, hop, address)

    def _resolved_hop(self, row, gateway, address, table_name):
        table_id = self._resolution_table(row, table_name)
        target_scope = int(_value(self.menu, row, "target-scope"))
        for candidate in self.index.containing(table_id, ipaddress.ip_address(address)):
            if candidate is row or int(_value(self.menu, candidate, "scope")) > target_scope:
                continue
            if candidate not in self._winners(candidate):
                continue
            if candidate.builtin:
                interface = candidate.values["gateway"]
                return Hop(gateway, f"{address}%{interface}", True)
            through = self._usable(candidate)
            immediate = ",".join(hop.immediate for hop in through.hops if hop.up)
            return Hop(gateway, immediate, True, via=candidate.id_text)
        return Hop(gateway, reason=f"{address} does not resolve with target-scope {target_scope}")

    def _resolution_table(self, row, table_name):
        tables = self.state.menu(TABLES)
        if table_name:
            table = tables.find_by_name(table_name)
            return table.id_text if table else None
        if self.state.behaviour.gateway_resolution == "own-table":
            return self._table_id(row)
        return tables.find_by_name("main").id_text

    def _table(self, row):
        return _table_row(self.state, row.values.get("routing-table", "main"))

    def _table_id(self, row):
        table = self._table(row)
        return table.id_text if table else None


class _DestinationIndex:
    """Routes by (table .id, prefix length, network) for longest-prefix lookups."""

    def __init__(self):
        self.by_prefix = {}

    def add(self, table_id, network, row):
        self.by_prefix.setdefault(table_id, {}).setdefault(network.prefixlen, {}).setdefault(
            network.network_address, []).append(row)

    def containing(self, table_id, address):
        """Routes of the table whose destination contains ``address``, longest prefix first."""
        prefixes = self.by_prefix.get(table_id, {})
        for length in sorted(prefixes, reverse=True):
            network = ipaddress.ip_network(f"{address}/{length}", strict=False)
            yield from prefixes[length].get(network.network_address, [])

    def same_destination(self, table_id, row):
        network = ipaddress.ip_network(row.values.get("dst-address", "0.0.0.0/0"), strict=False)
        return self.by_prefix.get(table_id, {}).get(network.prefixlen, {}).get(network.network_address, [row])


def _index_by_destination(menu, rows):
    index = _DestinationIndex()
    for row in rows:
        table = _table_row(menu.state, row.values.get("routing-table", "main"))
        if table is not None:
            network = ipaddress.ip_network(_value(menu, row, "dst-address"), strict=False)
            index.add(table.id_text, network, row)
    return index


def _connected_hops(values):
    interface = values["gateway"]
    return (Hop(interface, interface, True),)


def _interface_hop(state, gateway, interface, immediate=None):
    row = state.menu("/interface").find_by_name(interface)
    if row is None or row.values.get("disabled") == "true":
        return Hop(gateway, reason=f"interface {interface} is down")
    return Hop(gateway, immediate or interface, True)


def _checked(state, route, hop, address):
    """A reachable hop stays reachable under ``check-gateway`` only if the address answers."""
    method = route.values.get("check-gateway")
    if not hop.up or method not in CHECKED_GATEWAYS or state.is_reachable(address):
        return hop
    return Hop(hop.gateway, "", False, f"check-gateway={method}: {address} does not answer", hop.via)


def _table_row(state, stored):
    tables = state.menu(TABLES)
    return tables.find_by_id(stored) if stored.startswith("*") else tables.find_by_name(stored)


def _table_has_fib(state, table):
    return table is not None and "fib" in table.values


def _value(menu, row, name):
    if name in row.values:
        return row.values[name]
    return menu.fields[name].default


def _distance(menu, row):
    return int(_value(menu, row, "distance"))


def _is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


# -- the routing decision ----------------------------------------------------------------------


def lookup(state, dst, src=None, routing_mark=None, interface=None):
    """The routing decision for a packet to ``dst`` (see the module docstring)."""
    with state.lock:
        destination = ipaddress.ip_address(dst)
        trace = []
        if _is_local(state, destination):
            return Decision("local", trace=("local address",))
        if routing_mark and routing_mark != "main":
            decision = _table_lookup(state, _table_row(state, routing_mark), destination, None, trace)
            if decision is not None:
                return decision
        packet = {"src": src, "dst": destination, "routing-mark": routing_mark, "interface": interface}
        for rule in _user_rules(state):
            decision = _apply_rule(state, rule, packet, trace)
            if decision is not None:
                return decision
        decision = _table_lookup(state, _table_row(state, "main"), destination, None, trace)
        return decision or Decision("unreachable", trace=tuple(trace + ["main: no route"]))


def _is_local(state, destination):
    addresses = state.menu("/ip/address")
    for row in addresses.all_rows():
        address = ipaddress.ip_interface(row.values["address"]).ip
        if address == destination and row.values.get("disabled") != "true":
            return True
    return False


def _user_rules(state):
    """Enabled, active user rules in list order, as (stored row, printed row)."""
    menu = state.menu(RULES)
    for row in menu.all_rows():
        printed = menu.printed(row)
        if row.builtin or printed.get("disabled") == "true" or printed.get("inactive") == "true":
            continue
        yield row, printed


def _apply_rule(state, rule, packet, trace):
    row, printed = rule
    if not _rule_matches(state, row, packet):
        return None
    action = printed.get("action", "lookup")
    if action in ("drop", "unreachable"):
        return Decision(action, rule=printed, trace=tuple(trace + [f"rule {row.id_text}: {action}"]))
    if action not in ("lookup", "lookup-only-in-table"):
        trace.append(f"rule {row.id_text}: action={action} not simulated, next rule")
        return None
    table = _rule_table(state, row)
    min_prefix = row.values.get("min-prefix")
    decision = _table_lookup(state, table, packet["dst"], min_prefix, trace, rule=printed)
    if decision is not None:
        return decision
    if action == "lookup-only-in-table":
        return Decision("unreachable", rule=printed,
                        trace=tuple(trace + [f"rule {row.id_text}: lookup-only-in-table, no route"]))
    trace.append(f"rule {row.id_text}: no route in {printed.get('table')}, next rule")
    return None


def _rule_table(state, row):
    stored = row.values.get("table", "main")
    if stored == "local":
        return None
    return _table_row(state, stored)


def _rule_matches(state, row, packet):
    values = row.values
    for name in ("src-address", "dst-address"):
        if name in values:
            address = packet["src" if name == "src-address" else "dst"]
            if address is None or ipaddress.ip_address(address) not in ipaddress.ip_network(values[name], strict=False):
                return False
    if "routing-mark" in values and _table_row(state, values["routing-mark"]) != _table_row(
            state, packet["routing-mark"] or "main"):
        return False
    if "interface" in values:
        interface = state.menu("/interface").find_by_id(values["interface"])
        if interface is None or interface.values.get("name") != packet["interface"]:
            return False
    return True


def _table_lookup(state, table, destination, min_prefix, trace, rule=None):
    """The active route for ``destination`` in ``table`` (FIB tables only), or ``None``."""
    if table is None:
        return None
    name = table.values["name"]
    if "fib" not in table.values:
        trace.append(f"table {name}: no fib, nothing in the FIB")
        return None
    states = route_states(state)
    menu = state.menu(ROUTES)
    index = _index_by_destination(menu, menu.all_rows())
    for route in index.containing(table.id_text, destination):
        network = ipaddress.ip_network(_value(menu, route, "dst-address"), strict=False)
        if min_prefix is not None and network.prefixlen <= int(min_prefix):
            continue
        route_state = states[route.id_text]
        if not route_state.active:
            continue
        printed = menu.printed(route)
        action = "blackhole" if "blackhole" in route.values else "forward"
        trace.append(f"table {name}: {network} via route {route.id_text}")
        return Decision(action, name, printed, route_state.immediate_gw or None, rule, tuple(trace))
    trace.append(f"table {name}: no active route for {destination}")
    return None
