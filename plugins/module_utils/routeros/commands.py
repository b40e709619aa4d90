# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RouterOS commands as data, and the order in which the runner may send them.

An engine renders each op as an ``ApiCommand``: one API sentence, kept as its parts. The
runner builds the sentence from the parts (``ApiCommand.sentence``); the CLI line a user
sees in ``commands``, ``rendered`` and ``--diff`` is derived from the same parts
(``ApiCommand.text``) and is never parsed back.

An entry that the same run adds has no ``.id`` until RouterOS answers the ``add``; a command
that names it (a ``move``, a ``set``) holds ``Added(menu, comment)`` instead, shown as
``[find comment=...]`` and resolved by the runner from the ``add``'s ``=ret=``.

RouterOS may run tagged commands that are pending at once in any order: the API doc (Tags)
says only that they run "simultaneously" (tests/routeros_sim/README.md, ``execution_order``).
``InFlight`` is the writer's rule for that: a command joins the ones in flight only when no
order between them can change the outcome; otherwise the runner first reads every reply in
flight.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import resolution

VERBS = ("add", "set", "remove", "move")
# Menus whose entries are a list in evaluation order, changed by `move` (tests/routeros_sim/README.md, Commands).
ORDERED_MENUS = ("/routing/rule", "/ip/firewall/mangle")
TABLES_MENU = "/routing/table"
ROUTES_MENU = "/ip/route"
# What a `set` of a route changes that decides which gateways may resolve through it.
RESOLVING_KEYWORDS = frozenset(("dst-address", "scope", "routing-table", "disabled"))
# Properties whose value is the name of a routing table (tests/routeros_sim/README.md, Menus).
TABLE_KEYWORDS = ("table", "routing-mark", "routing-table", "new-routing-mark")
# Characters a CLI value may hold without quotes; anything else is quoted.
_BARE_VALUE = re.compile(r"[A-Za-z0-9._:/@%,*+-]+\Z")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "?": "\\?", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class _Marker(object):
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


# Attribute values that are not text: a flag set by its presence alone (``fib``, ``blackhole``:
# ``=fib=`` on the API, the bare keyword on the CLI), and a property cleared (``=!keyword=`` in
# the API's ``set`` as community.routeros sends it, tests/routeros_sim/README.md Commands; ``unset`` on the CLI).
FLAG = _Marker("FLAG")
UNSET = _Marker("UNSET")


class Added(namedtuple("Added", "menu comment")):
    """The entry of ``menu`` this run adds with ``comment`` (owned comments are unique)."""

    __slots__ = ()

    @property
    def text(self):
        return "[find comment=%s]" % quote(self.comment)


class ApiCommand(namedtuple("ApiCommand", "menu verb target attributes")):
    """One API sentence: ``ApiCommand("/routing/rule", "set", "*3", (("table", "wan2"),))``.

    ``target`` is ``None`` (``add``), an entry (its ``.id`` or an ``Added``), or for ``move``
    a tuple of entries moved as a block in that order (tests/routeros_sim/menu.py ``Menu.move``). ``attributes`` are
    ``(keyword, value)`` pairs; a value is text, an ``Added``, ``FLAG`` or ``UNSET``.
    """

    __slots__ = ()

    def __new__(cls, menu, verb, target=None, attributes=()):
        if verb not in VERBS:
            raise ValueError("ApiCommand: unknown verb %r" % (verb,))
        return super(ApiCommand, cls).__new__(cls, menu, verb, target, tuple(attributes))

    @property
    def targets(self):
        """The entries the command acts on, as a tuple."""
        if self.target is None:
            return ()
        # a plain tuple is a list of entries; an ``Added`` (a named tuple) is one entry
        is_list = isinstance(self.target, tuple) and not isinstance(self.target, Added)
        return self.target if is_list else (self.target,)

    @property
    def text(self):
        """The command as a RouterOS terminal line."""
        menu = cli_menu(self.menu)
        entries = ",".join(_reference_text(entry) for entry in self.targets)
        if self.verb == "set":
            return _set_text(menu, entries, self.attributes)
        words = [menu, self.verb] + ([entries] if entries else [])
        return " ".join(words + [_attribute_text(key, value) for key, value in self.attributes])

    def sentence(self, resolve=str):
        """The API words; ``resolve`` turns an ``Added`` into the ``.id`` its ``add`` returned."""
        words = ["%s/%s" % (self.menu, self.verb)]
        if self.targets:
            id_word = ".id" if self.verb in ("set", "remove") else "numbers"
            words.append("=%s=%s" % (id_word, ",".join(resolve(entry) for entry in self.targets)))
        for key, value in self.attributes:
            if value is UNSET:
                words.append("=!%s=" % key)
            elif value is FLAG:
                words.append("=%s=" % key)
            else:
                words.append("=%s=%s" % (key, resolve(value)))
        return words

    @property
    def added(self):
        """The ``Added`` this command creates (an ``add`` with a comment), or ``None``."""
        comment = dict(self.attributes).get("comment")
        return Added(self.menu, comment) if self.verb == "add" and isinstance(comment, str) else None

    @property
    def references(self):
        """Every ``Added`` the command names: it can be sent only once those adds are answered."""
        values = self.targets + tuple(value for _key, value in self.attributes)
        return frozenset(value for value in values if isinstance(value, Added))

    @property
    def entries(self):
        """The entries (``.id``s, ``Added``s) the command acts on or names as a move's destination."""
        return frozenset(self.targets + tuple(value for key, value in self.attributes if key == "destination"))

    @property
    def table_names(self):
        """Routing tables the command names (``table=``, ``routing-table=``, ``gateway=IP@table`` …)."""
        names = set()
        for key, value in self.attributes:
            if not isinstance(value, str):
                continue
            if key in TABLE_KEYWORDS:
                names.add(value.lstrip("!"))
            elif key == "gateway":
                names.update(hop.split("@", 1)[1] for hop in value.split(",") if "@" in hop)
        return names

    @property
    def route_destination(self):
        """``(dst-address, scope, routing-table)`` of a route an ``/ip/route`` add creates, or a set may make a
        gateway resolve through (what it leaves as it is: ``0.0.0.0/0``, ``None``, ``None``, any), or ``None``."""
        if self.menu != ROUTES_MENU or self.verb not in ("add", "set"):
            return None
        attributes = dict(self.attributes)
        if self.verb == "set" and not RESOLVING_KEYWORDS.intersection(attributes):
            return None
        adding = self.verb == "add"
        scope = _number(attributes.get("scope"), resolution.DEFAULT_SCOPE if adding else None)
        table = attributes.get("routing-table", "main" if adding else None)
        return attributes.get("dst-address", "0.0.0.0/0"), scope, table

    @property
    def route_gateways(self):
        """``([(address, table or None)], target-scope or None)``: the hops of the gateway an ``/ip/route``
        add or set writes that RouterOS resolves through other routes (none for other commands)."""
        if self.menu != ROUTES_MENU or self.verb not in ("add", "set"):
            return [], None
        attributes = dict(self.attributes)
        if not isinstance(attributes.get("gateway"), str):
            return [], None
        default = resolution.DEFAULT_TARGET_SCOPE if self.verb == "add" else None
        return resolution.resolved_hops(attributes["gateway"]), _number(attributes.get("target-scope"), default)

    @property
    def created_table(self):
        if self.menu == TABLES_MENU and self.verb == "add":
            return dict(self.attributes).get("name")
        return None

    @property
    def removes_table(self):
        return self.menu == TABLES_MENU and self.verb == "remove"


def _number(text, default):
    return int(text) if isinstance(text, str) and text.isdigit() else default


def cli_menu(path):
    """``/routing/rule`` -> ``/routing rule``: the menu as a terminal shows it."""
    return "/" + " ".join(path.strip("/").split("/"))


def quote(value):
    """A CLI value, quoted and escaped unless it is one plain word."""
    if _BARE_VALUE.match(value):
        return value
    return '"%s"' % "".join(_ESCAPES.get(char, char) if char in _ESCAPES or char >= " "
                            else "\\%02X" % ord(char) for char in value)


def _reference_text(entry):
    return entry.text if isinstance(entry, Added) else entry


def _attribute_text(key, value):
    if value is FLAG:
        return key
    return "%s=%s" % (key, value.text if isinstance(value, Added) else quote(value))


def _set_text(menu, entries, attributes):
    """``set`` of the assigned properties, then one ``unset`` per cleared one, joined by ``;``."""
    assigned = [_attribute_text(key, value) for key, value in attributes if value is not UNSET]
    lines = ["%s set %s %s" % (menu, entries, " ".join(assigned))] if assigned else []
    lines += ["%s unset %s value-name=%s" % (menu, entries, key) for key, value in attributes if value is UNSET]
    return "; ".join(lines)


class InFlight(object):
    """The writes sent and not answered yet, and whether another may be sent before their replies.

    A command waits (``must_wait``) when its outcome could depend on the order RouterOS runs it
    in among those in flight:

    - it names an entry an ``add`` in flight creates (it needs the ``.id``), or a routing
      table an ``add`` in flight creates (RouterOS refuses a reference to a missing table);
    - it is a ``move`` in an ordered menu with an ``add`` or ``move`` of that menu in flight, or an
      ``add`` there with a ``move`` in flight (where an entry lands depends on what ran first;
      adds among themselves may land in any order, and the engines move such entries into place);
    - it acts on an entry another command in flight acts on (a ``set`` and a ``move`` of one
      entry excepted: properties and position are independent), a move's destination included;
    - it removes a routing table while any other kind of write is in flight, or is any other
      write while a table removal is in flight: a table goes only after every other write of
      the run succeeded, so a refused write never leaves a table removed;
    - it writes a route whose gateway may resolve through a route an add or set in flight writes
      (``routeros.resolution``: the host route of the recursive-route pattern is answered before the
      default via the monitor target is sent), or removes a route while a write of a gateway is in
      flight (a route another resolves through goes only once that one has moved off it).
    """

    def __init__(self):
        self.clear()

    def clear(self):
        self._count = 0
        self._added = set()
        self._tables = set()
        self._positioned = {}       # ordered menu -> verbs in flight (add, move)
        self._touched = {}          # entry (.id or Added) -> verbs in flight
        self._table_removals = 0
        self._route_destinations = resolution.Destinations()
        self._gateway_writes = 0

    def __len__(self):
        return self._count

    def add(self, command):
        self._count += 1
        if command.added is not None:
            self._added.add(command.added)
        if command.created_table:
            self._tables.add(command.created_table)
        if command.menu in ORDERED_MENUS and command.verb in ("add", "move"):
            self._positioned.setdefault(command.menu, set()).add(command.verb)
        for entry in command.entries:
            self._touched.setdefault(entry, set()).add(command.verb)
        self._table_removals += 1 if command.removes_table else 0
        destination = command.route_destination
        if destination is not None:
            self._route_destinations.add(destination[0], destination[1], destination[2], command)
        self._gateway_writes += 1 if command.route_gateways[0] else 0

    def must_wait(self, command):
        if not self._count:
            return False
        return (bool(command.references & self._added) or bool(command.table_names & self._tables)
                or self._moves_across(command) or self._touches_the_same(command)
                or self._crosses_a_table_removal(command) or self._resolves_through_one_in_flight(command)
                or self._removes_a_route_while_gateways_change(command))

    def _moves_across(self, command):
        verbs = self._positioned.get(command.menu, ())
        if command.verb == "move":
            return bool(verbs)
        return command.verb == "add" and "move" in verbs

    def _touches_the_same(self, command):
        for entry in command.entries:
            for verb in self._touched.get(entry, ()):
                if set((verb, command.verb)) != set(("set", "move")):
                    return True
        return False

    def _crosses_a_table_removal(self, command):
        if command.removes_table:
            return self._table_removals < self._count
        return self._table_removals > 0

    def _resolves_through_one_in_flight(self, command):
        if not self._route_destinations:
            return False
        hops, target_scope = command.route_gateways
        return any(self._route_destinations.covering(address, table, target_scope) for address, table in hops)

    def _removes_a_route_while_gateways_change(self, command):
        return command.menu == ROUTES_MENU and command.verb == "remove" and self._gateway_writes > 0
