"""The router's configuration: its menus, its version, and the behaviour switches.

``Behaviour`` collects every choice where RouterOS's behaviour is [inferred] or [unverified] in
semantics.md, so a test can flip one and check that a module copes with either answer.
"""

import ipaddress
import os
import threading
import time
from dataclasses import dataclass, field, fields

from . import routing
from .menu import Menu
from .menus import build_specs, seed_builtins

DEFAULT_VERSION = "7.22.2"
DEFAULT_INTERFACES = ("ether1", "ether2", "ether3", "ether4", "ether5")
# The interface lists every RouterOS has (/interface/list); others can be added to the set.
DEFAULT_INTERFACE_LISTS = ("all", "dynamic", "none", "static")


def _switch(*values, session=False):
    """The metadata of a ``Behaviour`` field: every value it may take, and whether it concerns
    the API session (login) rather than configuration semantics (sweeps of module tests skip those)."""
    return {"values": values, "session": session}


@dataclass(frozen=True)
class Behaviour:
    """Switches for behaviour no source confirms. Defaults follow the best evidence; README.md
    lists the evidence for every value. ``Behaviour(name=value)`` checks ``value`` against the
    switch's values; ``Behaviour.from_environment()`` reads ``ROUTEROS_SIM_BEHAVIOUR``.

    emit_empty: send ``!empty`` before ``!done`` when a print has no rows. ``None`` means "as the
        version does" (RouterOS >= 7.18, changelog). librouteros ignores it either way.
    host_bits: a prefix with host bits (``10.0.0.1/24``) in a route, rule, firewall or
        address-list address is ``"mask"``ed to ``10.0.0.0/24`` (default), kept as written
        (``"keep"``) or refused (``"refuse"``). [unverified]
    strip_gateway_main: a gateway written ``IP@main`` prints as ``IP`` (doc example). [verify]
    rule_tables_must_exist: routing rule ``table``/``routing-mark`` must name an existing table,
        else ``input does not match any value of table``. [inferred from routes and mangle]
    table_removal: removing a routing table that rules, routes or mangle still use:
        ``"dangle"`` (allowed; referrers print the table's ``*id`` and become inactive, as seen for
        other menus), ``"refuse"`` (``failure: routing table is in use``) or ``"cascade"`` (the
        rules and routes that use it go with it; mangle keeps its dangling mark). [unknown]
    fatal_before_login: a command before login gets ``!fatal`` + ``not logged in`` and the
        connection closes; if false, ``!trap`` + ``!done`` instead. [unverified]
    login_methods: ``"plain"`` (``/login =name= =password=``, RouterOS >= 6.43) and/or
        ``"challenge"`` (bare ``/login`` gets ``=ret=<challenge>``). With only ``"challenge"`` the
        server acts like a pre-6.43 router and answers a plain login with a challenge.
    proplist_keeps_id: ``.proplist`` without ``.id`` still returns ``.id`` (a 7.23 REST survey says
        so; the REST doc example says no). Default: return exactly the listed properties.
    show_nextid: ordered menus print ``.nextid`` (seen in REST samples; ``*FFFFFFFF`` for the last).
    mangle_prints_written_only: mangle prints ``disabled``/``log``/``log-prefix`` only once a
        client has written them (7.23.7 REST survey); if false they are always printed.
    execution_order: commands pending at once on a connection (sent with distinct ``.tag``s
        before their replies were read) run in ``"arrival"`` order (default), ``"reversed"``, or
        ``"shuffled"`` (a permutation seeded by ``execution_seed`` and the connection number);
        their replies interleave sentence by sentence. The API doc says tagged commands run
        "simultaneously"; nothing says in which order. [unknown]
    builtin_rules: ``/routing/rule`` in 7.22 has a ``default`` property (command tree). Print
        shows no built-in rules (``"absent"``), or prints ``default=false`` on user rules only
        (``"flag-only"``), or also lists built-in rules with ``default=true`` that cannot be
        changed (``"present"``: ``chain=local table=local`` first, ``chain=main table=main``
        last). Only from 7.22. [unknown]
    disabled_route_print: what print shows for a disabled route. ``"reduced"``: the keys of the
        7.23.7 survey only (``.id dst-address gateway disabled inactive static comment``; a
        disabled blackhole shows neither gateway nor ``blackhole``); ``"reduced-blackhole"``: the
        same, a disabled blackhole keeps ``blackhole=""``; ``"full"``: every key an enabled route
        prints, ``disabled=true``, ``inactive=false``, no ``active``. ``None``: as the version
        does (the survey's shape from 7.23; for older versions no source, the same assumed).
    fibless_route_print: a route in a table without ``fib`` never reaches the FIB (so lookups
        never use it); print shows it ``"inactive"`` (default) or ``"active"``. [unknown]
    gateway_resolution: the table where a gateway without ``@table`` is resolved for a route in
        a table other than ``main``: ``"main"`` (default) or the route's ``"own-table"``. The
        Policy Routing page writes ``gateway=IP@main`` in its example. [unknown]
    netwatch_print: ``/tool/netwatch`` print shows ``type``, ``interval`` and ``timeout`` with
        RouterOS's defaults when an entry was not given them (``"all"``, default: "Default Netwatch
        values are always used", Netwatch page), or only the properties written (``"written"``). [unknown]
    """

    emit_empty: bool = field(default=None, metadata=_switch(None, True, False))
    host_bits: str = field(default="mask", metadata=_switch("mask", "keep", "refuse"))
    strip_gateway_main: bool = field(default=True, metadata=_switch(True, False))
    rule_tables_must_exist: bool = field(default=True, metadata=_switch(True, False))
    table_removal: str = field(default="dangle", metadata=_switch("dangle", "refuse", "cascade"))
    fatal_before_login: bool = field(default=True, metadata=_switch(True, False, session=True))
    login_methods: tuple = field(default=("plain", "challenge"), metadata=_switch(
        ("plain", "challenge"), ("plain",), ("challenge",), session=True))
    proplist_keeps_id: bool = field(default=False, metadata=_switch(False, True))
    show_nextid: bool = field(default=False, metadata=_switch(False, True))
    mangle_prints_written_only: bool = field(default=True, metadata=_switch(True, False))
    execution_order: str = field(default="arrival", metadata=_switch("arrival", "reversed", "shuffled"))
    execution_seed: int = 0
    builtin_rules: str = field(default="absent", metadata=_switch("absent", "flag-only", "present"))
    disabled_route_print: str = field(default=None, metadata=_switch(None, "reduced", "reduced-blackhole", "full"))
    fibless_route_print: str = field(default="inactive", metadata=_switch("inactive", "active"))
    gateway_resolution: str = field(default="main", metadata=_switch("main", "own-table"))
    netwatch_print: str = field(default="all", metadata=_switch("all", "written"))

    def __post_init__(self):
        for name, values in switch_values().items():
            if getattr(self, name) not in values:
                raise ValueError(f"Behaviour {name}={getattr(self, name)!r}: must be one of "
                                 + ", ".join(value_text(value) for value in values))

    @classmethod
    def from_text(cls, text, **overrides):
        """``"execution_order=reversed; table_removal=refuse"`` (``;`` or spaces between
        switches; a tuple value is written with commas: ``login_methods=challenge``)."""
        settings = dict(parse_setting(item) for item in text.replace(";", " ").split())
        return cls(**dict(settings, **overrides))

    @classmethod
    def from_environment(cls, environ=None, **overrides):
        """The switches ``ROUTEROS_SIM_BEHAVIOUR`` names, the defaults for the others."""
        environ = os.environ if environ is None else environ
        return cls.from_text(environ.get(ENVIRONMENT_VARIABLE, ""), **overrides)

    def describe(self):
        """The switches that differ from the defaults, as ``from_text`` reads them."""
        default = Behaviour()
        return "; ".join(f"{item.name}={value_text(getattr(self, item.name))}"
                         for item in fields(self) if getattr(self, item.name) != getattr(default, item.name))


ENVIRONMENT_VARIABLE = "ROUTEROS_SIM_BEHAVIOUR"


def switch_values(include_session=True):
    """``{switch name: every value}`` in field order."""
    return {item.name: item.metadata["values"] for item in fields(Behaviour)
            if "values" in item.metadata and (include_session or not item.metadata["session"])}


def value_text(value):
    """How a switch value is written in ``ROUTEROS_SIM_BEHAVIOUR`` and in test ids."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def parse_setting(item):
    """``"name=value"`` -> ``(name, value)`` with the value typed as the switch's values are."""
    name, separator, text = item.partition("=")
    if not separator:
        raise ValueError(f"Behaviour setting {item!r} is not name=value")
    if name == "execution_seed":
        return name, int(text)
    values = switch_values().get(name)
    if values is None:
        raise ValueError(f"Behaviour has no switch {name!r}; switches: " + ", ".join(switch_values()))
    for value in values:
        if value_text(value) == text:
            return name, value
    raise ValueError(f"Behaviour {name}={text!r}: must be one of "
                     + ", ".join(value_text(value) for value in values))


def version_tuple(version):
    """``"7.22.2 (stable)"`` -> ``(7, 22, 2)``."""
    numbers = version.split()[0].split("rc")[0].split("beta")[0]
    return tuple(int(part) for part in numbers.split(".") if part.isdigit())


class RouterState:
    """Every menu of one simulated router, and the network beyond it as far as the router can
    tell (which addresses answer its probes). Thread-safe through ``lock`` (the server holds it
    while a command runs; tests seeding state from another thread should hold it too)."""

    def __init__(self, version=DEFAULT_VERSION, identity="MikroTik", interfaces=DEFAULT_INTERFACES,
                 behaviour=None):
        self.version = version
        self.version_tuple = version_tuple(version)
        self.behaviour = behaviour or Behaviour.from_environment()
        self.interface_lists = set(DEFAULT_INTERFACE_LISTS)
        self.started = time.time()
        self.lock = threading.RLock()
        self.generation = 0               # bumped by every change; derived state caches on it
        self._unreachable = set()
        self._menus = {spec.path: Menu(spec, self) for spec in build_specs(self.version_tuple)}
        seed_builtins(self, identity, interfaces)

    def changed(self):
        """Note a change of configuration or of the simulated network."""
        self.generation += 1

    # -- the simulated network beyond the router ---------------------------------------------

    def set_reachable(self, address, reachable=True):
        """Whether ``address`` answers ping and ARP (all addresses do until told otherwise).
        Routes with ``check-gateway`` through it go inactive while it does not."""
        with self.lock:
            text = str(ipaddress.ip_address(address))
            if reachable:
                self._unreachable.discard(text)
            else:
                self._unreachable.add(text)
            self.changed()

    def is_reachable(self, address):
        return str(ipaddress.ip_address(address)) not in self._unreachable

    def lookup(self, dst, src=None, routing_mark=None, interface=None):
        """The routing decision for a packet to ``dst`` (``routing.lookup``): a ``Decision``
        with ``action`` (forward, local, blackhole, drop, unreachable), ``table``, ``route``,
        ``gateway``, ``rule`` and a ``trace``."""
        return routing.lookup(self, dst, src=src, routing_mark=routing_mark, interface=interface)

    def route_state(self, route_id):
        """The ``routing.RouteState`` of one ``/ip/route`` row (usable, active, ecmp, hops…)."""
        with self.lock:
            return routing.route_states(self)[route_id]

    @property
    def emits_empty(self):
        if self.behaviour.emit_empty is not None:
            return self.behaviour.emit_empty
        return self.version_tuple >= (7, 18)

    @property
    def version_string(self):
        """As ``/system/resource`` prints it: ``7.22.2 (stable)``."""
        return self.version if " " in self.version else f"{self.version} (stable)"

    def menu(self, path):
        """The menu at ``path`` (``"/routing/rule"``); ``KeyError`` if not simulated."""
        return self._menus[path.rstrip("/")]

    def has_menu(self, path):
        return path.rstrip("/") in self._menus

    def paths(self):
        return sorted(self._menus)
