# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The field-table dialect every engine uses: each field is declared once.

A ``Field`` says everything about one option of a resource: its ``config`` name, its
``Kind`` (what values it takes, how they normalise, how they are shown to the device),
its documentation, the device's keyword, where a device dump holds it. From a table of
fields come, without a second declaration:

- the option spec (``options_spec``) that ``config`` entries are checked against;
- the DOCUMENTATION suboptions (``documentation``; a unit test holds every module's
  DOCUMENTATION equal to it);
- normalising a user entry (``given_values``) and reading a device dump (``read_values``),
  into the same canonical values, so that comparing records is comparing values;
- the device words of a value (``Field.words``), which pass the render-time guard.

A ``Kind`` is the one place a kind of value is checked: every interface name anywhere in
the collection is checked by ``INTERFACE``, every ownership tag by ``linux.ownership``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
import hashlib
import re

from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import address
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import batch_word
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

MAX_U32 = 4294967295
# Decimal without a leading zero, or 0x-hex: int(text, 0) takes exactly these, and "0101" would be
# ambiguous anyway: ip reads it as octal 65 on its command line and as 101 in rt_tables
# (tests/integration/test_pbr_table.py::test_what_iproute2_makes_of_table_ids).
_NUMBER = re.compile(r"\s*(0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)\s*\Z")


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of value. ``normalise(value, field_name)`` takes user input or a dump value to the
    canonical value (or raises ``InvalidInput``); ``show(canonical)`` is the device's text for it."""

    spec_type: str
    normalise: object
    show: object = str
    choices: tuple = None
    elements: str = None        # the spec's ``elements`` of a list of plain values (``"str"``)


@dataclasses.dataclass(frozen=True)
class Field:
    """One option of a resource.

    ``attribute`` is the record's name for it when the option name cannot be one (``from``);
    ``read(entry)`` takes the raw value out of one dump entry (default: ``entry[keyword]``);
    ``words(canonical)`` are the device words (default: ``keyword`` and ``show``'s text);
    ``device_default`` is what the device means when its dump leaves the keyword out;
    ``unsettable`` fields are cleared with ``unset`` (RouterOS); a ``flag`` is a bool option the
    device holds by presence alone (RouterOS ``fib``, ``blackhole``: written as the bare keyword,
    printed as ``""`` or left out); ``suboptions`` are the fields of a nested list or dict (``elements``).
    """

    option: str
    kind: Kind
    doc: tuple
    keyword: str = None
    attribute: str = None
    default: object = None
    required: bool = False
    device_default: object = None
    unsettable: bool = False
    flag: bool = False
    suboptions: tuple = ()
    read: object = None
    render: object = None

    @property
    def name(self):
        return self.attribute or self.option

    def normalise(self, value, field_name=None):
        return self.kind.normalise(value, field_name or self.option)

    def words(self, value, field_name=None):
        """``[keyword, text]`` for the device, each word through the render-time guard."""
        shown = self.render(value) if self.render else [self.keyword, self.kind.show(value)]
        return [batch_word(word, field_name or self.option) for word in shown]


# ---------------------------------------------------------------------------
# What derives from a table


def options_spec(fields):
    """``{option: argument spec}``: what ``config`` entries are checked against."""
    return dict((field.option, _spec(field)) for field in fields)


def _spec(field):
    spec = dict(type=field.kind.spec_type)
    if field.required:
        spec["required"] = True
    if field.default is not None:
        spec["default"] = field.default
    if field.kind.choices:
        spec["choices"] = list(field.kind.choices)
    if field.kind.elements:
        spec["elements"] = field.kind.elements
    if field.suboptions:
        if field.kind.spec_type == "list":
            spec["elements"] = "dict"
        spec["options"] = options_spec(field.suboptions)
    return spec


def documentation(fields):
    """The DOCUMENTATION ``suboptions`` of ``fields``, as ansible-doc reads them."""
    return dict((field.option, _doc(field)) for field in fields)


def _doc(field):
    entry = dict(description=list(field.doc), **_spec(field))
    entry.pop("options", None)
    if field.suboptions:
        entry["suboptions"] = documentation(field.suboptions)
    return entry


def given_values(fields, item, field_name):
    """``{attribute: canonical}`` for the options ``item`` gives (``field_name(option)`` names them in errors)."""
    values = {}
    for field in fields:
        value = item.get(field.option)
        if value is not None:
            values[field.name] = field.normalise(value, field_name(field.option))
    return values


def read_values(fields, entry):
    """``{attribute: canonical}`` of one dump entry; a field the entry leaves out is its ``device_default``.

    A value the collection would never write (another tool's interface ``wan0#x``) is kept as the
    device printed it: a foreign entry stays readable, and an owned one gets rewritten.
    """
    values = {}
    for field in fields:
        raw = field.read(entry) if field.read else entry.get(field.keyword)
        values[field.name] = field.device_default if raw is None else _read_value(field, raw)
    return values


def _read_value(field, raw):
    try:
        return field.normalise(raw, "dump." + field.option)
    except InvalidInput:
        return raw


# ---------------------------------------------------------------------------
# Kinds every engine shares


def integer(low, high):
    """Whole numbers ``low..high``, from an int or a decimal/0x-hex string (not a bool)."""
    def normalise(value, field_name):
        if isinstance(value, bool):
            raise InvalidInput(field_name, value, "is not a number")
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and _NUMBER.match(value):
            number = int(value.strip(), 0)
        else:
            raise InvalidInput(field_name, value, "is not a number (decimal or 0x-hex)")
        if not low <= number <= high:
            raise InvalidInput(field_name, value, "is out of range %d..%d" % (low, high))
        return number
    return Kind("int", normalise)


def hex_integer(low, high):
    """As ``integer``, shown as ``0x..`` (marks, masks)."""
    return Kind("str", integer(low, high).normalise, show=lambda number: "0x%x" % number)


def _boolean(value, field_name):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("yes", "true", "on", "1"):
        return True
    if word in ("no", "false", "off", "0"):
        return False
    raise InvalidInput(field_name, value, "is not a boolean (true/false, yes/no)")


BOOLEAN = Kind("bool", _boolean, show=lambda value: "yes" if value else "no")


def choice(*values):
    def normalise(value, field_name):
        if value not in values:
            raise InvalidInput(field_name, value, "is not one of %s" % ", ".join(values))
        return value
    return Kind("str", normalise, choices=values)


def _interface(value, field_name):
    # IFNAMSIZ is 16 with the NUL; the kernel refuses '/', ':' and blanks (dev_valid_name), and
    # ip -batch cannot carry quotes, '#' or backslashes (core.commands); "." and ".." are refused too.
    text = value if isinstance(value, str) else None
    if text is None or not 1 <= len(text) <= 15 or text in (".", "..") or not _INTERFACE.match(text):
        raise InvalidInput(field_name, value, "is not an interface name this collection can manage (1-15 printable "
                           "ASCII characters; no blank, '/', ':', quote, backslash or '#')")
    return text


_INTERFACE = re.compile(r'[!$-&(-.0-9;-\[\]-~]+\Z')
INTERFACE = Kind("str", _interface)

# One IPv4 or IPv6 address in canonical text (core.addresses); the entry decides the family.
ADDRESS = Kind("str", address)


def number_range(low, high, what):
    """``"443"`` -> (443, 443), ``"1000-2000"`` -> (1000, 2000), each end ``low..high``."""

    def normalise(value, field_name):
        match = _RANGE.match(value) if isinstance(value, str) else None
        if isinstance(value, int) and not isinstance(value, bool):
            match = _RANGE.match(str(value))
        if not match:
            raise InvalidInput(field_name, value, "is not a %s or a range first-last" % what)
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if not (low <= first <= high and low <= last <= high):
            raise InvalidInput(field_name, value, "is out of range %d..%d" % (low, high))
        if last < first:
            raise InvalidInput(field_name, value, "is a reversed range (%d > %d)" % (first, last))
        return (first, last)
    return normalise


_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?\Z")


def range_text(pair, always_pair=False):
    first, last = pair
    return str(first) if first == last and not always_pair else "%d-%d" % pair


# The kernel takes ports 1..65534 (fib_rule_port_range_valid: neither end 0, the end below 0xffff).
PORT_RANGE = Kind("str", number_range(1, 65534, "port"), show=range_text)
UID_RANGE = Kind("str", number_range(0, MAX_U32, "uid"), show=lambda pair: range_text(pair, always_pair=True))


def _text(value, field_name):
    if isinstance(value, (dict, list)):
        raise InvalidInput(field_name, value, "is not a string")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


TEXT = Kind("str", _text)


def list_of(kind):
    """A list of ``kind`` values (``"str"`` elements), each checked and normalised; ``field_name[i]`` names one."""
    def normalise(values, field_name):
        if not isinstance(values, (list, tuple)):
            raise InvalidInput(field_name, values, "is not a list")
        return [kind.normalise(value, "%s[%d]" % (field_name, index)) for index, value in enumerate(values)]
    return Kind("list", normalise, elements="str")


def number_from_name(name, count, purpose=""):
    """A number ``0 .. count-1`` that depends on ``purpose`` and ``name`` alone.

    An identity derived this way (a WAN's mark or table id) stays put when other names come, go
    or change order: no position is involved. SHA-256, not ``hash()``, which Python salts per run.
    """
    digest = hashlib.sha256(("%s:%s" % (purpose, name)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count
