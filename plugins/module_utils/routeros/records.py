# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the three RouterOS engines share: the ownership tag, field tables, CLI lines.

Each engine (``ros_routing_rule``, ``ros_routing_table``, ``ros_route``) is a field
table plus a record class; everything that reads the table lives here, so a field is
one line in its engine and the same code parses a ``print`` reply, normalises user
input, renders a CLI line and turns a record back into ``config``.

Ownership: an owned entry's ``comment`` starts with the tag ``multiwan.pbr``, then
``:<name>`` where the name is the entry's identity (rules, routes), then a space and
the user's own comment, e.g. ``multiwan.pbr:dns-via-wan2 resolvers leave by WAN2``.
Entries without the tag are foreign: parsed (for order and for ``--diff``), never changed.

Commands are RouterOS CLI lines that a user can paste into a terminal, and they are
also exactly what the runner sends: ``api_sentences`` turns a line into API sentences,
so ``commands`` in a result is what was executed, not a description of it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import dataclasses
import json
import re

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import ScriptLine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD, DELETE, MOVE, REPLACE

TAG = "multiwan.pbr"
_TAGGED_COMMENT = re.compile(r"multiwan\.pbr(?::(\S+))?(?: (.*))?\Z", re.DOTALL)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+/-]*\Z")
# Characters a CLI value may hold without quotes; anything else is quoted.
_BARE_VALUE = re.compile(r"[A-Za-z0-9._:/@%,*+-]+\Z")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "?": "\\?", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_TRUE_WORDS, _FALSE_WORDS = ("yes", "true"), ("no", "false")
CLI_VERBS = ("add", "set", "unset", "remove", "move")


@dataclasses.dataclass(frozen=True)
class Field:
    """One property: its ``config`` option, its RouterOS keyword, how to normalise it.

    ``default`` is RouterOS's value when ``print`` omits the keyword (folded in at both
    boundaries); ``unsettable`` fields are cleared with ``unset`` (the command tree's
    ``unset value-name`` list); a ``flag`` is present-or-absent on the device
    (``fib``, ``blackhole``) and a bool in ``config``.
    """

    option: str
    keyword: str
    normalise: object
    default: object = None
    unsettable: bool = False
    flag: bool = False


class _Unprinted(object):
    """A value RouterOS did not print; it compares equal to anything.

    RouterOS prints a disabled ``/ip/route`` without its distance, scopes or table
    (7.23.7 survey, semantics.md 4.2); such a route matches any wanted value there.
    """

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0

    def __repr__(self):
        return "UNPRINTED"


UNPRINTED = _Unprinted()


# ---------------------------------------------------------------------------
# Normalisers: (value, option) -> canonical value; user input and print values alike.
# Print values arrive as the API's strings; a dump saved through librouteros has
# them cast to bool/int, which these accept too.


def boolean(value, option):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise InvalidInput(option, value, "is not a boolean (yes/no, true/false)")


def integer(low, high):
    def normalise(value, option):
        if isinstance(value, bool) or not re.match(r"\s*\d+\s*\Z", str(value)):
            raise InvalidInput(option, value, "is not a whole number")
        number = int(value)
        if not low <= number <= high:
            raise InvalidInput(option, value, "is not between %d and %d" % (low, high))
        return number
    return normalise


def choice(values):
    def normalise(value, option):
        if value not in values:
            raise InvalidInput(option, value, "is not one of %s" % ", ".join(values))
        return value
    return normalise


def text(value, option):
    """Free text; a dump saved through librouteros may have turned ``"123"`` into 123."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise InvalidInput(option, value, "is not a string")
    return str(value)


def word(value, option):
    """A name RouterOS refers to (table, interface): non-empty, no spaces or quotes."""
    normalised = text(value, option)
    if not normalised or re.search(r'[\s"\\]', normalised):
        raise InvalidInput(option, value, "is not a RouterOS name (empty, or has spaces or quotes)")
    return normalised


def entry_name(value, option):
    """The identity kept in the ownership tag."""
    normalised = text(value, option)
    if not NAME_PATTERN.match(normalised):
        raise InvalidInput(option, value, "must start with a letter or digit and hold only letters, "
                           "digits and _.:@+/-")
    return normalised


def prefix_any_family(value, option):
    return addresses.prefix(value, option)


def prefix_ipv4(value, option):
    return addresses.prefix(value, option, family=addresses.IPV4)


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
    comment = text(device_comment, "comment")
    match = _TAGGED_COMMENT.match(comment)
    if not match:
        return False, None, comment or None
    return True, match.group(1), match.group(2) or None


# ---------------------------------------------------------------------------
# Records from user input and from print rows


def record_from_item(record_class, fields, item, params):
    """A ``config`` entry as a record; ``given`` remembers what the user set (for merged).

    ``record_class.IDENTITY`` says where an entry's ``name`` lives: ``"tag"`` (in the
    ownership tag: rules, routes) or ``"field"`` (one of ``fields``: tables).
    """
    values, given = {}, set()
    for field in fields:
        raw = item.get(field.option)
        if raw is None:
            values[field.option] = False if field.flag else field.default
            continue
        values[field.option] = boolean(raw, field.option) if field.flag else field.normalise(raw, field.option)
        given.add(field.option)
    if record_class.IDENTITY == "tag":
        values["name"] = entry_name(item.get("name"), "name")
    for option, value in values.items():
        check_encoding(params, option, value if isinstance(value, str) else None)
    if item.get("comment") is not None:
        given.add("comment")
    return record_class(comment=_user_comment(item.get("comment"), params), owned=True,
                        given=frozenset(given - {"name"}), **values)


def _user_comment(value, params):
    if value is None:
        return None
    comment = text(value, "comment")
    check_encoding(params, "comment", comment)
    return comment or None


def check_encoding(params, option, value):
    """librouteros encodes words strictly; refuse what the connection cannot send."""
    encoding = (params or {}).get("encoding") or "ASCII"
    if value is None:
        return
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        raise InvalidInput(option, value, "cannot be sent with encoding=%s; set encoding (e.g. UTF-8) to "
                           "the router's code page" % encoding)
    except LookupError:
        raise InvalidInput("encoding", encoding, "is not an encoding Python knows")


def record_from_row(record_class, fields, row, unprinted=()):
    """A print row as a record. ``unprinted``: keywords whose absence means "not shown"."""
    owned, tag_name, user_comment = parse_comment(row.get("comment"))
    values = dict((field.option, _row_value(field, row, unprinted)) for field in fields)
    if record_class.IDENTITY == "tag":
        # An entry tagged without a name has no identity: it stays foreign, untouched.
        owned = owned and tag_name is not None
        values["name"] = tag_name if owned else None
    if not owned and row.get("comment") is not None:
        user_comment = text(row["comment"], "comment")
    return record_class(comment=user_comment, owned=owned, device_id=text(row.get(".id", ""), ".id"), **values)


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


def _row_value(field, row, unprinted):
    raw = row.get(field.keyword)
    if field.flag:
        return raw is not None and raw is not False
    if raw is None or raw == "":
        return UNPRINTED if field.keyword in unprinted else field.default
    try:
        return field.normalise(raw, field.keyword)
    except InvalidInput:
        # A value this module would not write (a hand-made table name with a space): keep
        # it as printed; a foreign entry stays readable and an owned one gets rewritten.
        return text(raw, field.keyword)


def is_configuration(row):
    """Dynamic entries (table ``main``, connected routes) are RouterOS's own, not config."""
    return str(row.get("dynamic", "false")).lower() not in _TRUE_WORDS


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
    return dataclasses.replace(current, **dict((option, getattr(wanted, option)) for option in wanted.given))


def to_config(fields, record, hidden=()):
    """A record in ``config`` shape; ``hidden`` options are left out (not shown by RouterOS)."""
    config = {"name": record.name} if record.IDENTITY == "tag" else {}
    for field in fields:
        value = getattr(record, field.option)
        if value is not None and value is not UNPRINTED and field.option not in hidden:
            config[field.option] = value
    if record.comment is not None:
        config["comment"] = record.comment
    return config


# ---------------------------------------------------------------------------
# CLI lines


def device_comment(record):
    if not record.owned:
        return record.comment
    return compose_comment(record.name if record.IDENTITY == "tag" else None, record.comment)


def reference(record):
    """How a line names an entry: its ``.id``, or (added in this run) its unique comment."""
    if record.device_id:
        return record.device_id
    return '[find comment=%s]' % quote(device_comment(record))


def add_arguments(fields, record):
    """``key=value`` words of an ``add``: every field that differs from RouterOS's default."""
    words = []
    for field in fields:
        value = getattr(record, field.option)
        if value is UNPRINTED or value is None or value == field.default or value is False and field.flag:
            continue
        words.append(field.keyword if field.flag else "%s=%s" % (field.keyword, cli_value(value)))
    comment = device_comment(record)
    if comment is not None:
        words.append("comment=%s" % quote(comment))
    return words


def add_line(menu, fields, record):
    return " ".join([menu, "add"] + add_arguments(fields, record))


def set_line(menu, fields, old, new):
    """``set`` the changed fields; fields cleared to nothing are ``unset`` (``;`` joins them)."""
    assignments, unsets = [], []
    for field in fields:
        value, before = getattr(new, field.option), getattr(old, field.option)
        if value is UNPRINTED or (value == before and before is not UNPRINTED):
            continue
        if field.flag and not value or value is None and field.unsettable:
            unsets.append(field.keyword)
        elif field.flag:
            assignments.append(field.keyword)
        else:
            assignments.append("%s=%s" % (field.keyword, cli_value(field.default if value is None else value)))
    if device_comment(new) != device_comment(old):
        assignments.append("comment=%s" % quote(device_comment(new) or ""))
    target = reference(old)
    commands = ["%s set %s %s" % (menu, target, " ".join(assignments))] if assignments else []
    commands += ["%s unset %s value-name=%s" % (menu, target, keyword) for keyword in unsets]
    return "; ".join(commands)


def remove_line(menu, record):
    return "%s remove %s" % (menu, reference(record))


def move_line(menu, record, anchor):
    """``move`` before ``anchor``, or to the end of the list (no destination)."""
    line = "%s move %s" % (menu, reference(record))
    return line if anchor is None else "%s destination=%s" % (line, reference(anchor))


def render_ops(menu, fields, ops):
    """One line per op. A move's ``old`` is the entry it goes before."""
    lines = []
    for op in ops:
        if op.verb == ADD:
            lines.append(add_line(menu, fields, op.record))
        elif op.verb == REPLACE:
            lines.append(set_line(menu, fields, op.old, op.record))
        elif op.verb == DELETE:
            lines.append(remove_line(menu, op.record))
        elif op.verb == MOVE:
            lines.append(move_line(menu, op.record, op.old))
    return [ScriptLine(line) for line in lines]


def render_state(menu, fields, records):
    """Records as ``add`` lines in the order given (device order for ordered menus)."""
    return "".join(add_line(menu, fields, record) + "\n" for record in records)


def cli_value(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return quote(str(value))


def quote(value):
    """A CLI value, quoted and escaped unless it is one plain word."""
    if _BARE_VALUE.match(value):
        return value
    return '"%s"' % "".join(_ESCAPES.get(char, char) if char in _ESCAPES or char >= " "
                            else "\\%02X" % ord(char) for char in value)


# ---------------------------------------------------------------------------
# From a CLI line back to API sentences (the runner executes what the user saw)


def api_sentences(line):
    """``[(command_word, [(key, value)], target)]`` for each ``;``-separated command.

    ``target`` is the entry the command acts on: ``*ID``, or a ``Find`` (an entry added
    in this run, named by its comment) that the runner resolves; so may a value be.
    """
    return [_api_command(tokens) for tokens in _split_commands(tokenize(line))]


class Find(collections.namedtuple("Find", "comment")):
    """``[find comment="..."]``: an entry this run added, whose ``.id`` is not known yet."""

    __slots__ = ()


def tokenize(line):
    """A CLI line as words (``str``), ``(key, value)`` pairs, ``Find``s and ``;``."""
    tokens, index = [], 0
    while index < len(line):
        if line[index] == " ":
            index += 1
        elif line[index] == ";":
            tokens.append(";")
            index += 1
        elif line.startswith("[find", index):
            find, index = _read_find(line, index)
            tokens.append(find)
        else:
            start = index
            while index < len(line) and line[index] not in ' ;=':
                index += 1
            key = line[start:index]
            if line[index:index + 1] == "=":
                value, index = _read_value(line, index + 1)
                tokens.append((key, value))
            else:
                tokens.append(key)
    return tokens


def _read_find(line, index):
    if not line.startswith("[find comment=", index):
        raise ValueError("only [find comment=...] is understood: %r" % line[index:])
    comment, index = _read_value(line, index + len("[find comment="))
    if line[index:index + 1] != "]":
        raise ValueError("unterminated [find in %r" % line)
    return Find(comment), index + 1


def _read_value(line, index):
    if line.startswith("[find", index):
        return _read_find(line, index)
    if line[index:index + 1] != '"':
        end = index
        while end < len(line) and line[end] not in " ;]":
            end += 1
        return line[index:end], end
    index += 1
    chars = []
    while line[index] != '"':
        if line[index] != "\\":
            chars.append(line[index])
            index += 1
        elif re.match(r"[0-9A-F]{2}", line[index + 1:index + 3]):
            chars.append(chr(int(line[index + 1:index + 3], 16)))
            index += 3
        else:
            chars.append(_UNESCAPES.get(line[index + 1], line[index + 1]))
            index += 2
    return "".join(chars), index + 1


def _split_commands(tokens):
    commands = [[]]
    for token in tokens:
        if token == ";":
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def _api_command(tokens):
    verb_index = next(index for index, token in enumerate(tokens) if token in CLI_VERBS)
    menu = "/" + "/".join(part.strip("/") for part in tokens[:verb_index])
    rest = tokens[verb_index + 1:]
    target = None
    if rest and (isinstance(rest[0], Find) or isinstance(rest[0], str) and rest[0].startswith("*")):
        target, rest = rest[0], rest[1:]
    words = [token if isinstance(token, tuple) and not isinstance(token, Find) else (token, "")
             for token in rest]
    return "%s/%s" % (menu, tokens[verb_index]), words, target
