"""A stateful RouterOS menu: rows with ``.id``s, driven by a field table.

A ``MenuSpec`` describes one menu as data (its fields, commands, order, how a row prints);
``Menu`` applies the generic commands (add, set, unset, remove, move, enable, disable, comment)
to it. Values arrive as the strings a client wrote and are stored canonically, so ``print``
shows what RouterOS would show and queries compare like with like.
"""

import functools
import time
from dataclasses import dataclass, field as dataclass_field
from typing import Callable

from . import traps
from .values import ValueType

# Arguments that name the rows a command acts on.
ID_ARGUMENTS = (".id", "numbers")
CREATE_ONLY_ARGUMENTS = ("place-before", "copy-from")


@dataclass(frozen=True)
class Field:
    """One writable property of a menu.

    ``unsettable``: may be cleared with ``unset value-name=`` or ``=!name=`` (from the command
    tree's ``unset value-name`` completions). ``default``: what print shows when the row has no
    value, or ``None`` to omit it.
    """

    name: str
    type: ValueType = ValueType()
    unsettable: bool = False
    default: str = None


@dataclass
class MenuSpec:
    """A menu as data. ``render(menu, row)`` returns the printed dict (``None`` values omitted)."""

    path: str
    fields: tuple
    render: Callable
    commands: frozenset = frozenset({"print", "getall", "add", "set", "unset", "remove",
                                     "enable", "disable", "comment"})
    ordered: bool = False
    required: tuple = ()
    name_field: str = None
    first_id: int = 1
    check_row: Callable = None        # (menu, row) -> None or raise Trap (e.g. uniqueness)
    check_remove: Callable = None     # (menu, row) -> None or raise Trap (e.g. table in use)
    after_remove: Callable = None     # (menu, row) -> None, once the row is gone (cascades)
    dynamic_rows: Callable = None     # (menu) -> rows derived from other menus (connected routes)
    trailing_rows: Callable = None    # (menu) -> built-in rows listed after the stored ones
    query_types: dict = dataclass_field(default_factory=dict)   # read-only props -> ValueType
    singleton: bool = False           # one row, addressed without an id (/system/identity)


@dataclass
class Row:
    """One entry. ``values`` holds stored values; ``written`` every property a client ever set,
    which some menus need for printing (mangle prints ``disabled`` only once written)."""

    id: int
    values: dict
    written: set
    menu: "Menu"
    builtin: bool = False
    created: float = dataclass_field(default_factory=time.time)

    @property
    def id_text(self):
        return format_id(self.id)

    @property
    def name(self):
        return self.values.get(self.menu.spec.name_field, self.id_text)


def format_id(number):
    """RouterOS ids are ``*`` and upper-case hex: ``*A``, ``*1F``, ``*80000001``."""
    return f"*{number:X}"


def parse_id(text):
    """The number behind ``*1f``/``*1F``, or ``None`` if ``text`` is not an id."""
    if not text.startswith("*"):
        return None
    try:
        return int(text[1:], 16)
    except ValueError:
        return None


def api_value(value):
    """A Python value as librouteros would send it: booleans as yes/no, numbers in decimal."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _locked(method):
    """Run a public method under the router's lock: tests seed state while clients talk."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.state.lock:
            return method(self, *args, **kwargs)
    return locked


def _command(method):
    """A command: under the lock, with attribute values turned into API strings."""
    @functools.wraps(method)
    def run(self, attributes):
        with self.state.lock:
            try:
                return method(self, {key: api_value(value) for key, value in attributes.items()})
            finally:
                self.state.changed()
    return run


class Menu:
    """The rows of one menu and the commands that change them.

    Command methods take the attribute dict a client would send (``{".id": "*1", "comment": "x"}``);
    values may be strings, booleans or numbers (sent as librouteros sends them). They raise
    ``Trap`` exactly where the server would answer ``!trap``.
    """

    def __init__(self, spec, state):
        self.spec = spec
        self.state = state
        self.fields = {item.name: item for item in spec.fields}
        self._rows = []
        self._next_id = spec.first_id

    # -- reading ---------------------------------------------------------------------------

    @_locked
    def rows(self):
        """Every row as ``print`` shows it (ordered menus in list order)."""
        return [self.printed(row) for row in self.all_rows()]

    def all_rows(self):
        """Stored rows, preceded by the dynamic ones the menu derives from other menus and
        followed by its trailing built-in rows."""
        return self._leading_rows() + self._rows + self._trailing_rows()

    def _leading_rows(self):
        return self.spec.dynamic_rows(self) if self.spec.dynamic_rows else []

    def _trailing_rows(self):
        return self.spec.trailing_rows(self) if self.spec.trailing_rows else []

    def printed(self, row):
        rendered = self.spec.render(self, row)
        return {key: value for key, value in rendered.items() if value is not None}

    def shown(self, row, name):
        """The printed value of one stored property, or its default, or ``None``."""
        if name in row.values:
            return self.fields[name].type.show(row.values[name], self.state)
        return self.fields[name].default if name in self.fields else None

    def find_by_id(self, id_text):
        number = parse_id(id_text)
        return next((row for row in self.all_rows() if row.id == number), None)

    def find_by_name(self, name):
        if self.spec.name_field is None:
            return None
        return next((row for row in self.all_rows() if row.values.get(self.spec.name_field) == name), None)

    def query_normaliser(self, name):
        """How to read a query value for ``name`` so that it compares with the printed value."""
        value_type = self.fields[name].type if name in self.fields else self.spec.query_types.get(name)
        if value_type is None:
            return None

        def normalise(raw):
            return value_type.show(value_type.parse(name, raw, self.state), self.state)
        return normalise

    # -- commands --------------------------------------------------------------------------

    @_command
    def add(self, attributes):
        """``add``: validate, store, return the new ``.id`` (``*N``)."""
        self._reject_unknown(attributes, allowed=CREATE_ONLY_ARGUMENTS)
        values, written = self._copy_from(attributes.pop("copy-from", None))
        place_before = attributes.pop("place-before", None)
        for name, raw in attributes.items():
            self._store(values, name, raw)
            written.add(name)
        missing = [name for name in self.spec.required if name not in values]
        if missing:
            raise traps.missing_arguments(missing)
        row = Row(self._next_id, values, written, self)
        self._check_row(row)
        self._insert(row, place_before)
        self._next_id += 1
        return row.id_text

    @_command
    def set(self, attributes):
        """``set``: ``.id``/``numbers`` (comma list) plus values; ``=!name=`` unsets ``name``."""
        targets = self._targets(attributes)
        changes = {key: raw for key, raw in attributes.items() if key not in ID_ARGUMENTS}
        self._reject_unknown({key.lstrip("!"): raw for key, raw in changes.items()})
        self._apply(targets, changes)

    @_command
    def unset(self, attributes):
        """``unset numbers=… value-name=…``."""
        targets = self._targets(attributes)
        name = attributes.get("value-name", "")
        self._reject_unknown({key: raw for key, raw in attributes.items()
                              if key not in ID_ARGUMENTS + ("value-name",)})
        self._apply(targets, {"!" + name: ""})

    @_command
    def remove(self, attributes):
        """``remove``: every id must exist before any row goes."""
        targets = self._targets(attributes)
        for row in targets:
            self._refuse_builtin(row)
            if self.spec.check_remove:
                self.spec.check_remove(self, row)
        for row in targets:
            self._rows.remove(row)
        for row in targets:
            if self.spec.after_remove:
                self.spec.after_remove(self, row)

    @_command
    def move(self, attributes):
        """``move numbers=… destination=…`` (REST probe on 7.23.7, see semantics.md §1.8).

        The rows go immediately before ``destination`` as a block, in the order given, keeping
        their ids; a missing or unknown destination moves them to the end.
        """
        if not self.spec.ordered:
            raise traps.no_such_command()
        moving = self._targets(attributes)
        for row in moving:
            self._refuse_builtin(row)
        destination = self.find_by_id(attributes.get("destination", ""))
        if destination is not None and destination in moving:
            raise traps.move_before_itself()
        for row in moving:
            self._rows.remove(row)
        index = self._index_before(destination)
        self._rows[index:index] = moving

    @_command
    def enable(self, attributes):
        self._set_disabled(attributes, "no")

    @_command
    def disable(self, attributes):
        self._set_disabled(attributes, "yes")

    @_command
    def comment(self, attributes):
        self._apply(self._targets(attributes), {"comment": attributes.get("comment", "")})

    # -- helpers, in the order the commands call them ---------------------------------------

    def _reject_unknown(self, attributes, allowed=()):
        for name in attributes:
            if name not in self.fields and name not in allowed:
                raise traps.unknown_parameter(name)

    def _copy_from(self, source_id):
        if source_id is None:
            return {}, set()
        source = self._resolve(source_id)
        return dict(source.values), set(source.written)

    def _store(self, values, name, raw):
        """Store one value; an empty value clears free-text properties such as ``comment``."""
        value_type = self.fields[name].type
        if raw == "" and value_type.empty_clears:
            values.pop(name, None)
            return
        values[name] = value_type.parse(name, raw, self.state)

    def _check_row(self, row):
        if self.spec.check_row:
            self.spec.check_row(self, row)

    def _insert(self, row, place_before):
        if place_before is None:
            self._rows.append(row)
            return
        self._rows.insert(self._index_before(self._resolve(place_before)), row)

    def _index_before(self, anchor):
        """Where in the stored rows a row goes to be listed just before ``anchor`` (the end when
        ``None``); before a leading built-in row is the top, before a trailing one the end."""
        if anchor is None:
            return len(self._rows)
        if anchor.builtin:
            leading = any(row.id == anchor.id for row in self._leading_rows())
            return 0 if leading else len(self._rows)
        return self._rows.index(anchor)

    def _targets(self, attributes):
        wanted = attributes.get(".id", attributes.get("numbers"))
        if self.spec.singleton and not wanted:
            return list(self._rows)
        if not wanted:
            raise traps.missing_arguments(["numbers"])
        targets = []
        for item in wanted.split(","):
            row = self._resolve(item)
            if row not in targets:
                targets.append(row)
        return targets

    def _resolve(self, item):
        """A row by ``*id`` or, in menus with names, by name ("address entries by name")."""
        row = self.find_by_id(item) or self.find_by_name(item)
        if row is None:
            raise traps.no_such_item()
        return row

    def _refuse_builtin(self, row):
        if row.builtin:
            raise traps.cannot_change_builtin()

    def _apply(self, rows, changes):
        """Apply ``set``-style changes (``!name`` unsets) to every row, or to none of them."""
        candidates = [self._changed(row, changes) for row in rows]
        for row, candidate in zip(rows, candidates):
            row.values, row.written = candidate.values, candidate.written

    def _changed(self, row, changes):
        """A checked copy of ``row`` with ``changes`` applied."""
        self._refuse_builtin(row)
        values, written = dict(row.values), set(row.written)
        for key, raw in changes.items():
            if key.startswith("!"):
                self._unset_one(values, key[1:])
            else:
                self._store(values, key, raw)
            written.add(key.lstrip("!"))
        candidate = Row(row.id, values, written, self)
        self._check_row(candidate)
        return candidate

    def _unset_one(self, values, name):
        if name not in self.fields or not self.fields[name].unsettable:
            raise traps.no_match("value-name")
        values.pop(name, None)

    def _set_disabled(self, attributes, value):
        self._apply(self._targets(attributes), {"disabled": value})

    # -- seeding (Python API only) -----------------------------------------------------------

    def add_builtin(self, id_number, values):
        """Add a row that clients cannot change or remove (table ``main``)."""
        row = Row(id_number, dict(values), set(), self, builtin=True)
        self._rows.append(row)
        self._next_id = max(self._next_id, id_number + 1)
        self.state.changed()
        return row

    def add_fixed(self, values):
        """Add a row with values stored as given, bypassing validation (interfaces, identity)."""
        row = Row(self._next_id, dict(values), set(), self)
        self._rows.append(row)
        self._next_id += 1
        self.state.changed()
        return row
