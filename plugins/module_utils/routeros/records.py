# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the RouterOS engines share: the ownership tag, the kinds of RouterOS values, and
everything that reads a field table (``core.fields.Field``).

Each engine is a table of fields plus a record class; the same code here turns a ``config``
entry into a record, a ``print`` row into a record, a record back into ``config``, and an
op into an ``ApiCommand`` (``routeros.commands``). A field's ``keyword`` is its RouterOS
property; fields without one are the entry's ``name`` (kept in the ownership tag) and its
``comment``. ``device_default`` is RouterOS's value when ``print`` leaves the property out.

Ownership: an owned entry's ``comment`` starts with the tag ``multiwan.pbr``, then
``:<name>`` where the name is the entry's identity (rules, routes), then a space and
the user's own comment, e.g. ``multiwan.pbr:dns-via-wan2 resolvers leave by WAN2``.
Entries without the tag are foreign: parsed (for order and for ``--diff``), never changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
import functools
import json
import re

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses, fields
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import TEXT, Field, Kind
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD, DELETE, MOVE, REPLACE
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.commands import (
    FLAG, UNSET, Added, ApiCommand)

TAG = "multiwan.pbr"
_TAGGED_COMMENT = re.compile(r"multiwan\.pbr(?::(\S+))?(?: (.*))?\Z", re.DOTALL)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+/-]*\Z")
_TRUE_WORDS = ("yes", "true")
# Encodings that carry every ASCII text as it is (the common case needs no trial encode).
_ASCII_SUPERSETS = ("ASCII", "US-ASCII", "UTF-8", "UTF8", "LATIN-1", "LATIN1", "ISO-8859-1", "CP1252", "CP1251")


class Wildcard(object):
    """A value that compares equal to anything (see ``UNPRINTED`` and ``ordering.ANYWHERE``)."""

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0

    def __repr__(self):
        return self.name


# RouterOS prints a disabled ``/ip/route`` without its distance, scopes or table (the 7.23.7
# survey in tests/routeros_sim/README.md, ``disabled_route_print``); such a route matches any
# wanted value there.
UNPRINTED = Wildcard("UNPRINTED")


# ---------------------------------------------------------------------------
# Kinds of RouterOS values. Print values arrive as the API's strings; a dump saved through
# librouteros has them cast to bool/int, which these accept too.


def _routeros_name(value, field_name):
    """A name RouterOS refers to (table, interface, list): non-empty, no blanks or quotes."""
    text = TEXT.normalise(value, field_name)
    if not text or re.search(r'[\s"\\]', text):
        raise InvalidInput(field_name, value, "is not a RouterOS name (empty, or has blanks or quotes)")
    return text


def _entry_name(value, field_name):
    text = TEXT.normalise(value, field_name)
    if not NAME_PATTERN.match(text):
        raise InvalidInput(field_name, value, "must start with a letter or digit and hold only letters, "
                           "digits and _.:@+/-")
    return text


def duration(shortest_ms):
    """A RouterOS time interval, canonical as RouterOS prints it in units (``1m30s``, ``500ms``), from
    units, ``[Nw][Nd]hh:mm:ss[.fff]`` or a number of seconds; at least ``shortest_ms`` milliseconds."""
    def normalise(value, field_name):
        milliseconds = _milliseconds(value)
        if milliseconds is None:
            raise InvalidInput(field_name, value, "is not a RouterOS duration (e.g. 10s, 1m30s, 00:01:30, 500ms)")
        if milliseconds < shortest_ms:
            raise InvalidInput(field_name, value, "is shorter than %s" % _duration_text(shortest_ms))
        return _duration_text(milliseconds)
    return Kind("str", normalise)


_DURATION_UNITS = (("w", 604800000), ("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1))
_UNITS = re.compile(r"(\d+)(ms|[wdhms])")
_CLOCK = re.compile(r"((?:\d+[wd])*)(\d+):(\d\d):(\d\d)(?:\.(\d{1,3}))?\Z")


def _milliseconds(value):
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text) * 1000
    clock = _CLOCK.match(text)
    prefix, milliseconds = (clock.group(1), _clock_ms(clock)) if clock else (text, 0)
    parts = _UNITS.findall(prefix)
    if "".join(number + unit for number, unit in parts) != prefix or not (parts or clock):
        return None
    scale = dict(_DURATION_UNITS)
    return milliseconds + sum(int(number) * scale[unit] for number, unit in parts)


def _clock_ms(clock):
    fraction = (clock.group(5) or "0").ljust(3, "0")
    return ((int(clock.group(2)) * 60 + int(clock.group(3))) * 60 + int(clock.group(4))) * 1000 + int(fraction)


def _duration_text(milliseconds):
    if not milliseconds:
        return "0s"
    text = ""
    for unit, size in _DURATION_UNITS:
        count, milliseconds = divmod(milliseconds, size)
        text += "%d%s" % (count, unit) if count else ""
    return text


NAME = Kind("str", _routeros_name)
ENTRY_NAME = Kind("str", _entry_name)
PREFIX = Kind("str", addresses.prefix)
PREFIX_IPV4 = Kind("str", lambda value, field_name: addresses.prefix(value, field_name, family=addresses.IPV4))


def name_field(what):
    """The identity of a rule, route or exclusion: kept in the ownership tag, not a property."""
    return Field("name", ENTRY_NAME, required=True, doc=(
        "The %s's identity, stored in its C(comment) after C(multiwan.pbr:). Letters, digits and C(_.:@+/-), "
        "starting with a letter or digit." % what,))


COMMENT = Field("comment", TEXT, ("Your own text, stored in C(comment) after the ownership tag.",))


@functools.lru_cache(maxsize=None)      # tables are module constants; a run asks once per record
def properties(table):
    """The fields of ``table`` that are RouterOS properties (all but the tag's name and the comment)."""
    return tuple(field for field in table if field.keyword)


def config_spec(table):
    return dict(type="list", elements="dict", options=fields.options_spec(table))


# ---------------------------------------------------------------------------
# The ownership tag


def compose_comment(name, comment):
    """The device comment of an owned entry: tag, ``:name`` if any, the user's comment."""
    tag = TAG if name is None else "%s:%s" % (TAG, name)
    return tag if not comment else "%s %s" % (tag, comment)


def parse_comment(device_comment):
    """``(owned, name, user_comment)`` from a device comment (``None`` when absent)."""
    if device_comment is None:
        return False, None, None
    comment = TEXT.normalise(device_comment, "comment")
    match = _TAGGED_COMMENT.match(comment)
    if not match:
        return False, None, comment or None
    return True, match.group(1), match.group(2) or None


def device_comment(record):
    if not record.owned:
        return record.comment
    return compose_comment(record.name if record.IDENTITY == "tag" else None, record.comment)


# ---------------------------------------------------------------------------
# Records from user input and from print rows


def record_from_item(record_class, table, item, params):
    """A ``config`` entry as a record; ``given`` remembers what the user set (for merged).

    ``record_class.IDENTITY`` says where an entry's ``name`` lives: ``"tag"`` (in the
    ownership tag: rules, routes) or ``"field"`` (a property: tables).
    """
    values, given = {}, set()
    for field in properties(table):
        raw = item.get(field.option)
        if raw is None:
            values[field.name] = field.device_default
            continue
        values[field.name] = field.normalise(raw)
        given.add(field.name)
    if record_class.IDENTITY == "tag":
        values["name"] = ENTRY_NAME.normalise(item.get("name"), "name")
    comment = None if item.get("comment") is None else COMMENT.normalise(item["comment"]) or None
    encoding = (params or {}).get("encoding") or "ASCII"
    for option, value in dict(values, comment=comment).items():
        check_encoding(encoding, option, value)
    if item.get("comment") is not None:
        given.add("comment")
    return record_class(comment=comment, owned=True, given=frozenset(given), **values)


def check_encoding(encoding, option, value):
    """librouteros encodes words strictly; refuse what the connection cannot send."""
    if not isinstance(value, str) or value.isascii() and encoding.upper() in _ASCII_SUPERSETS:
        return
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        raise InvalidInput(option, value, "cannot be sent with encoding=%s; set encoding (e.g. UTF-8) to "
                           "the router's code page" % encoding)
    except LookupError:
        raise InvalidInput("encoding", encoding, "is not a character encoding Python knows (e.g. ASCII, UTF-8)")


def record_from_row(record_class, table, row, unprinted=()):
    """A print row as a record. ``unprinted``: keywords whose absence means "not shown"."""
    owned, tag_name, user_comment = parse_comment(row.get("comment"))
    values = dict((field.name, _row_value(field, row, unprinted)) for field in properties(table))
    if record_class.IDENTITY == "tag":
        # An entry tagged without a name has no identity: it stays foreign, untouched.
        owned = owned and tag_name is not None
        values["name"] = tag_name if owned else None
    if not owned and row.get("comment") is not None:
        user_comment = TEXT.normalise(row["comment"], "comment")
    return record_class(comment=user_comment, owned=owned, device_id=TEXT.normalise(row.get(".id", ""), ".id"),
                        **values)


def _row_value(field, row, unprinted):
    raw = row.get(field.keyword)
    if field.flag:
        return raw is not None and raw is not False
    if raw is None or raw == "":
        return UNPRINTED if field.keyword in unprinted else field.device_default
    try:
        return field.normalise(raw, field.keyword)
    except InvalidInput:
        # A value this module would not write (a hand-made table name with a space): keep
        # it as printed; a foreign entry stays readable and an owned one gets rewritten.
        return TEXT.normalise(raw, field.keyword)


def demote_duplicates(records):
    """A second entry with an owned name (a ``copy-from`` of an owned rule) cannot be told
    apart from the first; it is treated as foreign, untouched, and the first one is managed."""
    seen, result = set(), []
    for record in records:
        if record.owned and record.key in seen:
            record = dataclasses.replace(record, owned=False, name=None,
                                         comment=compose_comment(record.name, record.comment))
        seen.add(record.key)
        result.append(record)
    return result


def is_configuration(row):
    """Dynamic entries (table ``main``, connected routes) and built-in ones (RouterOS 7.22 prints
    ``default=true`` on built-in routing rules: tests/routeros_sim/README.md, ``builtin_rules``) are
    RouterOS's own, not config."""
    return not any(str(row.get(flag, "false")).lower() in _TRUE_WORDS for flag in ("dynamic", "default"))


def rows_from_running_config(text_dump, path):
    """``state=parsed``: the JSON list of a ``print`` as the dump ``parse`` reads."""
    try:
        rows = json.loads(text_dump)
    except ValueError as error:
        raise InvalidInput("running_config", text_dump[:60], "is not JSON (%s)" % error)
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise InvalidInput("running_config", text_dump[:60], "is not a JSON list of print rows")
    return {path: rows}


def merge(current, wanted):
    """What ``merged`` leaves: the fields the user gave win, the rest stay as they are."""
    return dataclasses.replace(current, **dict((name, getattr(wanted, name)) for name in wanted.given))


def to_config(table, record, hidden=()):
    """A record in ``config`` shape; ``hidden`` options are left out (not shown by RouterOS)."""
    config = {"name": record.name} if record.IDENTITY == "tag" else {}
    for field in properties(table):
        value = getattr(record, field.name)
        if value is not None and value is not UNPRINTED and field.option not in hidden:
            config[field.option] = value
    if record.comment is not None:
        config["comment"] = record.comment
    return config


# ---------------------------------------------------------------------------
# Commands


def render_ops(menu, table, ops):
    """One ``ApiCommand`` per op; consecutive moves before one destination are one ``move`` of
    the list (RouterOS moves a list as a block, in the order given: the 7.23.7 probe behind
    tests/routeros_sim/menu.py ``Menu.move``).

    An entry this plan adds is named by ``Added`` (its comment) until RouterOS gives its
    ``.id``; every other entry by the ``.id`` of the read the plan came from.
    """
    added = set(op.record.key for op in ops if op.verb == ADD)

    def entry(record):
        return Added(menu, device_comment(record)) if record.key in added else _device_id(record)

    commands = []
    for op in ops:
        if op.verb == MOVE and commands and _joins_move(commands[-1], op, entry):
            last = commands.pop()
            commands.append(last._replace(target=last.target + (entry(op.record),)))
        elif op.verb == MOVE:
            destination = () if op.old is None else (("destination", entry(op.old)),)
            commands.append(ApiCommand(menu, "move", (entry(op.record),), destination))
        elif op.verb == ADD:
            commands.append(add_command(menu, table, op.record))
        elif op.verb == REPLACE:
            commands.extend(_set_commands(menu, table, op.old, op.record))
        elif op.verb == DELETE:
            commands.append(ApiCommand(menu, "remove", entry(op.record)))
    return commands


def _joins_move(previous, op, entry):
    destination = () if op.old is None else (("destination", entry(op.old)),)
    return previous.verb == "move" and previous.attributes == destination


def _device_id(record):
    if not record.device_id:
        raise ValueError("render: %r has no .id and is not added by this plan" % (record.key,))
    return record.device_id


def add_command(menu, table, record):
    """``add`` with every property that differs from RouterOS's default, and the comment."""
    attributes = []
    for field in properties(table):
        value = getattr(record, field.name)
        if value is UNPRINTED or value is None or value == field.device_default:
            continue
        attributes.append((field.keyword, FLAG if field.flag else field.kind.show(value)))
    comment = device_comment(record)
    if comment is not None:
        attributes.append(("comment", comment))
    return ApiCommand(menu, "add", None, attributes)


def _set_commands(menu, table, old, new):
    """``set`` of the changed properties (cleared ones ``UNSET``); none when only the record's
    place differs (``ordering``: a move puts it back)."""
    attributes = []
    for field in properties(table):
        value, before = getattr(new, field.name), getattr(old, field.name)
        if value is UNPRINTED or (value == before and before is not UNPRINTED):
            continue
        attributes.append((field.keyword, _assigned(field, value)))
    if device_comment(new) != device_comment(old):
        attributes.append(("comment", device_comment(new) or ""))
    return [ApiCommand(menu, "set", _device_id(old), attributes)] if attributes else []


def _assigned(field, value):
    if field.flag:
        return FLAG if value else UNSET
    if value is None:
        # cleared: unset where RouterOS can, else its default (the command tree's unset lists)
        return UNSET if field.unsettable else field.kind.show(field.device_default)
    return field.kind.show(value)


def render_state(menu, table, records):
    """Records as ``add`` lines in the order given (device order for ordered menus)."""
    return "".join(add_command(menu, table, record).text + "\n" for record in records)
