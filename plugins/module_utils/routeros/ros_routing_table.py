# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for RouterOS ``/routing/table``: named tables that rules and routes refer to.

The table's ``name`` is its identity; an owned table's comment starts with the tag
``multiwan.pbr``. ``main`` is RouterOS's own (dynamic) table and never appears here.
A table of the wanted name that exists without the tag is refused up front: adopting
it would take it from whoever made it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import Field

PATH = "/routing/table"
PATHS = (PATH,)
MENU = "/routing table"
BUILTIN_TABLES = ("main", "local")

TABLE_FIELDS = (
    Field("name", "name", records.word),
    # RouterOS pushes a table's routes to the FIB only with this flag (v6-to-v7 guide).
    Field("fib", "fib", records.boolean, default=False, unsettable=True, flag=True),
    Field("disabled", "disabled", records.boolean, default=False),
)

CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    fib=dict(type="bool"),
    disabled=dict(type="bool"),
    comment=dict(type="str"),
)
CONFIG_SPEC = dict(type="list", elements="dict", options=CONFIG_OPTIONS)


@dataclasses.dataclass(frozen=True)
class RoutingTable:
    """One ``/routing/table`` entry; its ``name`` is its identity."""

    IDENTITY = "field"
    name: str
    fib: bool
    disabled: bool
    comment: str
    owned: bool
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)

    @property
    def key(self):
        return self.name


def parse_facts(dump, params):
    """Names of the tables someone else made: a wanted table must not take one."""
    return frozenset(table.name for table in parse(dump, params, None) if not table.owned)


def normalise(item, params, facts):
    table = records.record_from_item(RoutingTable, TABLE_FIELDS, item, params)
    if table.name in BUILTIN_TABLES:
        raise InvalidInput("name", table.name, "is RouterOS's built-in table; it cannot be managed")
    if facts and table.name in facts:
        raise InvalidInput("name", table.name, "exists on the router without the %s tag in its comment; "
                           "add the tag to let this module manage it" % records.TAG)
    return table


def parse(dump, params, facts):
    return [records.record_from_row(RoutingTable, TABLE_FIELDS, row)
            for row in dump[PATH] if records.is_configuration(row)]


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


merge = records.merge


def render(ops, params):
    return records.render_ops(MENU, TABLE_FIELDS, ops)


def render_state(tables, params):
    return records.render_state(MENU, TABLE_FIELDS, tables)


def to_config(table):
    return records.to_config(TABLE_FIELDS, table)


def sort_key(table):
    return table.name


ENGINE = Engine(
    name="ros_routing_table", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, parse_facts=parse_facts, sort_key=sort_key, parse_running_config=parse_running_config)
