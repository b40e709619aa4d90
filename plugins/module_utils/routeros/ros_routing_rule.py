# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for RouterOS ``/routing/rule``: an ordered list where order is policy.

RouterOS evaluates user rules in list order (IP Routing, "Routing table lookup"), so
the plan does more than add/set/remove: the owned rules of ``config`` form one block,
in ``config`` order, at the ``placement`` the user chose (top, bottom, or right before
a foreign rule). ``finish_plan`` appends the ``move`` ops that put them there; foreign
rules are never moved, so their relative order never changes.

Identity is the ``name`` in the ownership tag (``comment=multiwan.pbr:<name> ...``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import MOVE, Op
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import Field

PATH = "/routing/rule"
PATHS = (PATH,)
MENU = "/routing rule"
# /routing/rule add action, completion of RouterOS 7.22.2 (command-tree-7.22.2.json).
ACTIONS = ("drop", "lookup", "lookup-only-in-table", "mangle", "unreachable")
POSITIONS = ("top", "bottom", "before")

RULE_FIELDS = (
    Field("dst_address", "dst-address", records.prefix_any_family, unsettable=True),
    Field("src_address", "src-address", records.prefix_any_family, unsettable=True),
    Field("routing_mark", "routing-mark", records.word, unsettable=True),
    Field("interface", "interface", records.word, unsettable=True),
    Field("action", "action", records.choice(ACTIONS), default="lookup"),
    Field("table", "table", records.word, default="main"),
    Field("min_prefix", "min-prefix", records.integer(0, 4294967295), unsettable=True),
    Field("disabled", "disabled", records.boolean, default=False),
)

CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    dst_address=dict(type="str"),
    src_address=dict(type="str"),
    routing_mark=dict(type="str"),
    interface=dict(type="str"),
    action=dict(type="str", choices=list(ACTIONS)),
    table=dict(type="str"),
    min_prefix=dict(type="int"),
    disabled=dict(type="bool"),
    comment=dict(type="str"),
)
CONFIG_SPEC = dict(type="list", elements="dict", options=CONFIG_OPTIONS)
PLACEMENT_OPTIONS = dict(
    position=dict(type="str", default="bottom", choices=list(POSITIONS)),
    anchor=dict(type="str"),
)


@dataclasses.dataclass(frozen=True)
class RoutingRule:
    """One ``/routing/rule`` entry; ``name`` (from the tag) is set on owned rules only."""

    IDENTITY = "tag"

    name: str
    dst_address: str
    src_address: str
    routing_mark: str
    interface: str
    action: str
    table: str
    min_prefix: int
    disabled: bool
    comment: str
    owned: bool
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)

    @property
    def key(self):
        """Owned rules by name; foreign rules by their ``.id`` (names cannot start with ``*``)."""
        return self.name if self.owned else self.device_id


def normalise(item, params, facts):
    return records.record_from_item(RoutingRule, RULE_FIELDS, item, params)


def parse(dump, params, facts):
    return records.demote_duplicates([records.record_from_row(RoutingRule, RULE_FIELDS, row)
                                      for row in dump[PATH] if records.is_configuration(row)])


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


merge = records.merge


def render(ops, params):
    return records.render_ops(MENU, RULE_FIELDS, ops)


def render_state(rules, params):
    return records.render_state(MENU, RULE_FIELDS, rules)


def to_config(rule):
    return records.to_config(RULE_FIELDS, rule)


def finish_plan(ops, wanted, current, predicted, params):
    """Moves that put the ``config`` rules, in order, where ``placement`` says."""
    if params["state"] not in ("merged", "replaced", "overridden") or not wanted:
        return []
    block_keys = [rule.key for rule in wanted]
    anchor = placement_anchor(params.get("placement") or {}, block_keys, predicted)
    return moves_into_place(block_keys, anchor, with_device_ids(predicted, current))


def with_device_ids(rules, current):
    """``replaced`` targets are the wanted records; give them back the ``.id`` they keep."""
    ids = dict((rule.key, rule.device_id) for rule in current)
    return [rule if rule.device_id else dataclasses.replace(rule, device_id=ids.get(rule.key)) for rule in rules]


def placement_anchor(placement, block_keys, predicted):
    """The rule the block must end right before, or ``None`` for the end of the list."""
    position = placement.get("position") or "bottom"
    if position == "bottom":
        return None
    if position == "top":
        return next((rule for rule in predicted if rule.key not in block_keys), None)
    return foreign_rule(placement.get("anchor"), predicted)


def foreign_rule(anchor, rules):
    """The one foreign rule whose ``.id`` or comment is ``anchor``."""
    if not anchor:
        raise InvalidInput("placement.anchor", anchor, "is required with position=before")
    matches = [rule for rule in rules if not rule.owned and anchor in (rule.device_id, rule.comment)]
    if len(matches) != 1:
        found = "no" if not matches else "%d" % len(matches)
        raise InvalidInput("placement.anchor", anchor, "matches %s unmanaged rules (by .id or comment); "
                           "it must match exactly one" % found)
    return matches[0]


def moves_into_place(block_keys, anchor, rules):
    """Move each block rule, last to first, right before its successor, unless already there.

    Going backwards keeps the rules already placed contiguous, so each rule needs at most
    one move and rules already in place need none.
    """
    order = [rule.key for rule in rules]
    by_key = dict((rule.key, rule) for rule in rules)
    ops = []
    successor = None if anchor is None else anchor.key
    for key in reversed(block_keys):
        if _next_key(order, key) != successor:
            ops.append(Op(MOVE, by_key[key], old=by_key.get(successor), position=successor))
            order.remove(key)
            order.insert(order.index(successor) if successor is not None else len(order), key)
        successor = key
    return ops


def _next_key(order, key):
    index = order.index(key) + 1
    return order[index] if index < len(order) else None


ENGINE = Engine(
    name="ros_routing_rule", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, finish_plan=finish_plan, parse_running_config=parse_running_config)
