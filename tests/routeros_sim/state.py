"""The router's configuration: its menus, its version, and the behaviour switches.

``Behaviour`` collects every choice where RouterOS's behaviour is [inferred] or [unverified] in
semantics.md, so a test can flip one and check that a module copes with either answer.
"""

import threading
import time
from dataclasses import dataclass

from .menu import Menu
from .menus import build_specs, seed_builtins

DEFAULT_VERSION = "7.22.2"
DEFAULT_INTERFACES = ("ether1", "ether2", "ether3", "ether4", "ether5")
# The interface lists every RouterOS has (/interface/list); others can be added to the set.
DEFAULT_INTERFACE_LISTS = ("all", "dynamic", "none", "static")


@dataclass
class Behaviour:
    """Switches for behaviour no source confirms. Defaults follow the best evidence.

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
        other menus) or ``"refuse"`` (``failure: routing table is in use``). [unknown]
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
    """

    emit_empty: bool = None
    host_bits: str = "mask"
    strip_gateway_main: bool = True
    rule_tables_must_exist: bool = True
    table_removal: str = "dangle"
    fatal_before_login: bool = True
    login_methods: tuple = ("plain", "challenge")
    proplist_keeps_id: bool = False
    show_nextid: bool = False
    mangle_prints_written_only: bool = True


def version_tuple(version):
    """``"7.22.2 (stable)"`` -> ``(7, 22, 2)``."""
    numbers = version.split()[0].split("rc")[0].split("beta")[0]
    return tuple(int(part) for part in numbers.split(".") if part.isdigit())


class RouterState:
    """Every menu of one simulated router. Thread-safe through ``lock`` (the server holds it
    while a command runs; tests seeding state from another thread should hold it too)."""

    def __init__(self, version=DEFAULT_VERSION, identity="MikroTik", interfaces=DEFAULT_INTERFACES,
                 behaviour=None):
        self.version = version
        self.version_tuple = version_tuple(version)
        self.behaviour = behaviour or Behaviour()
        self.interface_lists = set(DEFAULT_INTERFACE_LISTS)
        self.started = time.time()
        self.lock = threading.RLock()
        self._menus = {spec.path: Menu(spec, self) for spec in build_specs(self.version_tuple)}
        seed_builtins(self, identity, interfaces)

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
