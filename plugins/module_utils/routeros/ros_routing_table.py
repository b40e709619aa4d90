# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for RouterOS ``/routing/table``: named tables that rules and routes refer to.

The table's ``name`` is its identity; an owned table's comment starts with the tag
``multiwan.pbr``. ``main`` is RouterOS's own (dynamic) table and never appears here.
A table of the wanted name that exists without the tag is refused up front: adopting
it would take it from whoever made it.

A table still named by a rule, route or mangle rule is never removed: RouterOS keeps such
referrers pointing at the dead table's ``*id``, inactive (tests/routeros_sim/README.md,
``table_removal``), and a table re-created under the same name would not bring them
back. The plan is refused before anything is sent, naming every referrer; the engine reads
those menus for that.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.core import fields
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import BOOLEAN, Field
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import DELETE
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import COMMENT, NAME

PATH = "/routing/table"
# Where tables are named, by which properties (tests/routeros_sim/README.md, Menus); a gateway ``IP@table`` too.
REFERRERS = (("/routing/rule", ("table", "routing-mark")), ("/ip/route", ("routing-table", "gateway")),
             ("/ip/firewall/mangle", ("new-routing-mark", "routing-mark")))
PATHS = (PATH,) + tuple(path for path, _keywords in REFERRERS)
BUILTIN_TABLES = ("main", "local")

TABLE_FIELDS = (
    Field("name", NAME, keyword="name", required=True, doc=(
        "The table's name (C(name)), its identity; C(main) is RouterOS's own and cannot be managed.",)),
    # RouterOS pushes a table's routes to the FIB only with this flag (tests/routeros_sim/README.md, FIB).
    Field("fib", BOOLEAN, keyword="fib", device_default=False, unsettable=True, flag=True, doc=(
        "Whether the table pushes its routes to the FIB (the C(fib) flag). Without it RouterOS keeps the table's "
        "routes out of forwarding and policy-routed traffic silently falls back to C(main); say V(true) for any "
        "table a rule or mark must steer traffic into.",)),
    Field("disabled", BOOLEAN, keyword="disabled", device_default=False, doc=(
        "Whether the table is disabled (C(disabled)).",)),
    COMMENT,
)

CONFIG_OPTIONS = fields.options_spec(TABLE_FIELDS)
CONFIG_SPEC = records.config_spec(TABLE_FIELDS)


@dataclasses.dataclass(frozen=True)
class RoutingTable:
    """One ``/routing/table`` entry; its ``name`` is its identity; ``used_by`` names the
    rules, routes and mangle rules that refer to it."""

    IDENTITY = "field"
    name: str
    fib: bool
    disabled: bool
    comment: str
    owned: bool
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)
    used_by: tuple = dataclasses.field(default=(), compare=False)

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
    tables = [records.record_from_row(RoutingTable, TABLE_FIELDS, row)
              for row in dump[PATH] if records.is_configuration(row)]
    used = referrers(dump)
    return [dataclasses.replace(table, used_by=used.get(table.name, ()) + used.get(table.device_id, ()))
            for table in tables]


def referrers(dump):
    """``{table name or *id: ("/routing/rule *5 (office VPN)", …)}``: the entries that name each table
    (a removed table's referrers print its ``*id``)."""
    used = {}
    for path, keywords in REFERRERS:
        for row in dump.get(path) or []:
            for name in set(name for keyword in keywords for name in _table_names(row.get(keyword), keyword)):
                used[name] = used.get(name, ()) + (_describe(path, row),)
    return used


def _table_names(value, keyword):
    if not isinstance(value, str) or not value:
        return []
    if keyword == "gateway":
        return [hop.partition("@")[2] for hop in value.split(",") if "@" in hop]
    return [value.lstrip("!")]


def _describe(path, row):
    comment = row.get("comment")
    return "%s %s%s" % (path, row.get(".id"), "" if comment is None else " (%s)" % comment)


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


merge = records.merge


def finish_plan(ops, wanted, current, predicted, params):
    """No ops to add; a plan that would remove a table still in use is refused (see above)."""
    for op in ops:
        if op.verb == DELETE and op.record.used_by:
            raise InvalidInput("name", op.record.name, "is still used by %s; change or remove those first (removing "
                               "the table would leave them pointing at a table that no longer exists)"
                               % ", ".join(op.record.used_by))
    return []


def render(ops, params):
    return records.render_ops(PATH, TABLE_FIELDS, ops)


def render_state(tables, params):
    return records.render_state(PATH, TABLE_FIELDS, tables)


def to_config(table):
    return records.to_config(TABLE_FIELDS, table)


def sort_key(table):
    return table.name


ENGINE = Engine(
    name="ros_routing_table", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, parse_facts=parse_facts, sort_key=sort_key,
    finish_plan=finish_plan, parse_running_config=parse_running_config,
    config_fields=TABLE_FIELDS)
