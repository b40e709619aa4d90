# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names of routing tables (and route protocols), as iproute2 reads them.

``ip`` maps table names to ids through ``rt_tables`` and every ``rt_tables.d/*.conf``
(under ``/usr/share/iproute2`` and ``/etc/iproute2``), on top of four names it knows
without any file. Protocol names (``ip rule ... protocol boot``) come the same way from
``rt_protos``. Engines read those files once through the runner (``RT_TABLES_FILES``,
``RT_TABLES_DIRECTORIES``) and build a ``TableNames`` with ``table_names(dump)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

MAX_ID = 4294967295
BUILTIN_TABLES = ((0, "unspec"), (253, "default"), (254, "main"), (255, "local"))
# The protocols iproute2 names without reading rt_protos (the stock rt_protos lists the same).
BUILTIN_PROTOCOLS = (
    (0, "unspec"), (1, "redirect"), (2, "kernel"), (3, "boot"), (4, "static"), (8, "gated"),
    (9, "ra"), (10, "mrt"), (11, "zebra"), (12, "bird"), (13, "dnrouted"), (14, "xorp"),
    (15, "ntk"), (16, "dhcp"), (18, "keepalived"), (42, "babel"), (99, "openr"), (186, "bgp"),
    (187, "isis"), (188, "ospf"), (189, "rip"), (192, "eigrp"),
)

# Dump keys -> paths, for Iproute2(files=..., directories=...). Read in this order;
# a later definition of a name or id wins, as the drop-in directories are meant to.
RT_TABLES_FILES = {
    "rt_tables_usr": "/usr/share/iproute2/rt_tables",
    "rt_tables": "/etc/iproute2/rt_tables",
}
RT_TABLES_DIRECTORIES = {
    "rt_tables_d_usr": "/usr/share/iproute2/rt_tables.d",
    "rt_tables_d": "/etc/iproute2/rt_tables.d",
}
RT_PROTOS_FILES = {
    "rt_protos_usr": "/usr/share/iproute2/rt_protos",
    "rt_protos": "/etc/iproute2/rt_protos",
}
RT_PROTOS_DIRECTORIES = {
    "rt_protos_d_usr": "/usr/share/iproute2/rt_protos.d",
    "rt_protos_d": "/etc/iproute2/rt_protos.d",
}
# DS field names (``tos EF``) and device group names (``suppress_ifgroup``) have no drop-in directory.
RT_DSFIELD_FILES = {
    "rt_dsfield_usr": "/usr/share/iproute2/rt_dsfield",
    "rt_dsfield": "/etc/iproute2/rt_dsfield",
}
GROUP_FILES = {
    "group_usr": "/usr/share/iproute2/group",
    "group": "/etc/iproute2/group",
}
_READ_ORDER = ("rt_tables_usr", "rt_tables", "rt_tables_d_usr", "rt_tables_d")
_PROTOS_READ_ORDER = ("rt_protos_usr", "rt_protos", "rt_protos_d_usr", "rt_protos_d")

# iproute2 accepts "<id> <name>" with the id in decimal or 0x-hex, then an optional comment.
_LINE = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s+(\S+)\s*(?:#.*)?$")
_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]+|\d+)$")


class TableNames(object):
    """Two-way map between table names and numeric ids."""

    def __init__(self, pairs, max_id=MAX_ID, kind="table"):
        self.max_id, self.kind = max_id, kind
        self.id_by_name, self.name_by_id = {}, {}
        for number, name in pairs:
            self.id_by_name[name] = number
            self.name_by_id[number] = name
        # A run resolves the same few names and numbers once per rule or route (10,000 times)
        self._resolved = {}

    def id_of(self, name_or_id, field):
        """The numeric id of a name or a number (decimal or 0x-hex); ``InvalidInput`` otherwise."""
        key = (type(name_or_id), name_or_id)
        if key not in self._resolved:
            self._resolved[key] = self._id_of(name_or_id, field)
        return self._resolved[key]

    def _id_of(self, name_or_id, field):
        text = str(name_or_id).strip()
        if _NUMBER.match(text):
            number = int(text, 0)
            if number > self.max_id:
                raise InvalidInput(field, name_or_id, "is out of range 0..%d" % self.max_id)
            return number
        if text in self.id_by_name:
            return self.id_by_name[text]
        raise InvalidInput(field, name_or_id, "is not a %s id nor a %s name known to iproute2 (%s)"
                           % (self.kind, self.kind, _where(self.kind)))

    def name_of(self, number):
        """The name iproute2 shows for ``number``, or ``None`` when it has none."""
        return self.name_by_id.get(number)

    def show(self, number):
        """What ``ip`` prints for ``number``: its name, or the number."""
        return self.name_of(number) or str(number)


def parse_rt_tables(texts):
    """A ``TableNames`` from rt_tables texts, in read order (``None`` for a missing file)."""
    return TableNames(list(BUILTIN_TABLES) + parse_id_lines(texts))


def parse_rt_protos(texts):
    """Protocol names (``rt_protos`` and ``rt_protos.d``); protocols are 0..255."""
    return TableNames(list(BUILTIN_PROTOCOLS) + parse_id_lines(texts), max_id=255, kind="protocol")


def table_names(dump):
    """``parse_rt_tables`` over the files an ``Iproute2`` dump read with ``RT_TABLES_*``."""
    return parse_rt_tables(dump_texts(dump, _READ_ORDER))


def protocol_names(dump):
    """``parse_rt_protos`` over the files an ``Iproute2`` dump read with ``RT_PROTOS_*``."""
    return parse_rt_protos(dump_texts(dump, _PROTOS_READ_ORDER))


def dsfield_names(dump):
    """DS field names (``EF``, ``AF11``) from ``rt_dsfield``; values are bytes."""
    return TableNames(parse_id_lines(dump_texts(dump, ("rt_dsfield_usr", "rt_dsfield"))),
                      max_id=255, kind="dsfield")


def group_names(dump):
    """Device group names from ``group``; ``default`` is group 0 without any file."""
    return TableNames([(0, "default")] + parse_id_lines(dump_texts(dump, ("group_usr", "group"))),
                      kind="group")


def dump_texts(dump, keys):
    """The texts under ``keys`` of a dump; a directory's ``{name: text}`` in name order."""
    texts = []
    for key in keys:
        value = dump.get(key)
        if isinstance(value, dict):
            texts.extend(value[name] for name in sorted(value))
        else:
            texts.append(value)
    return texts


def parse_id_lines(texts):
    """``[(id, name)]`` from ``<id> <name>`` lines; comments, blanks and lines ip rejects are skipped."""
    pairs = []
    for text in texts:
        for line in (text or "").splitlines():
            match = _LINE.match(line)
            if match:
                pairs.append((int(match.group(1), 0), match.group(2)))
    return pairs


_NAME_FILES = {
    "table": "rt_tables, rt_tables.d, or local/main/default",
    "protocol": "rt_protos, rt_protos.d",
    "dsfield": "rt_dsfield",
    "group": "group",
}


def _where(kind):
    return _NAME_FILES[kind]
