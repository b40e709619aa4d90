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

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses, fields
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import BOOLEAN, MAX_U32, Field, choice, integer
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ordering, records
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import COMMENT, NAME, PREFIX

PATH = "/routing/rule"
PATHS = (PATH,)
# /routing/rule add action, as RouterOS 7.22.2 completes it (tests/routeros_sim/menus.py, with 7.22's mangle).
ACTIONS = ("drop", "lookup", "lookup-only-in-table", "mangle", "unreachable")
POSITIONS = ("top", "bottom", "before")

RULE_FIELDS = (
    records.name_field("rule"),
    Field("dst_address", PREFIX, keyword="dst-address", unsettable=True, doc=(
        "Destination prefix to match (C(dst-address)); host bits are cleared, a bare address is a C(/32).",
        "Of the same address family as O(config[].src_address).")),
    Field("src_address", PREFIX, keyword="src-address", unsettable=True, doc=(
        "Source prefix to match (C(src-address)); host bits are cleared, a bare address is a C(/32).",)),
    Field("routing_mark", NAME, keyword="routing-mark", unsettable=True, doc=(
        "Routing mark to match (C(routing-mark)), the name of a routing table.",)),
    Field("interface", NAME, keyword="interface", unsettable=True, doc=(
        "Incoming interface to match (C(interface)).",)),
    Field("action", choice(*ACTIONS), keyword="action", device_default="lookup", doc=(
        "What a matching packet gets (C(action)); RouterOS's default is V(lookup).",
        "V(lookup) falls through to the next rule when the table has no route; V(lookup-only-in-table) does not.")),
    Field("table", NAME, keyword="table", device_default="main", doc=(
        "The routing table to look up (C(table)); RouterOS's default is C(main).",)),
    Field("min_prefix", integer(0, MAX_U32), keyword="min-prefix", unsettable=True, doc=(
        "Ignore routes with a prefix length up to this (C(min-prefix)); V(0) hides the default route.",)),
    Field("disabled", BOOLEAN, keyword="disabled", device_default=False, doc=(
        "Whether the rule is disabled (C(disabled)).",)),
    COMMENT,
)

CONFIG_OPTIONS = fields.options_spec(RULE_FIELDS)
CONFIG_SPEC = records.config_spec(RULE_FIELDS)
PLACEMENT_OPTIONS = dict(
    position=dict(type="str", default="bottom", choices=list(POSITIONS)),
    anchor=dict(type="str"),
)


@dataclasses.dataclass(frozen=True)
class RoutingRule:
    """One ``/routing/rule`` entry; ``name`` (from the tag) is set on owned rules only;
    ``place`` is where an owned rule was read (``routeros.ordering``)."""

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
    place: object = dataclasses.field(default=ordering.ANYWHERE, hash=False)
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)

    @property
    def key(self):
        """Owned rules by name; foreign rules by their ``.id`` (names cannot start with ``*``)."""
        return self.name if self.owned else self.device_id


def normalise(item, params, facts):
    rule = records.record_from_item(RoutingRule, RULE_FIELDS, item, params)
    check_one_family(rule)
    return rule


def check_one_family(rule):
    """A rule matches one address family: RouterOS cannot match an IPv4 destination from an IPv6 source."""
    if rule.dst_address and rule.src_address and (
            addresses.family_of(rule.dst_address) != addresses.family_of(rule.src_address)):
        raise InvalidInput("src_address", rule.src_address, "is not of the family of dst_address=%s in rule %s; "
                           "a rule matches one address family" % (rule.dst_address, rule.name))


def parse(dump, params, facts):
    rules = [records.record_from_row(RoutingRule, RULE_FIELDS, row)
             for row in dump[PATH] if records.is_configuration(row)]
    return ordering.with_places(records.demote_duplicates(rules))


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


def merge(current, wanted):
    rule = records.merge(current, wanted)
    check_one_family(rule)
    return rule


def render(ops, params):
    return records.render_ops(PATH, RULE_FIELDS, ops)


def render_state(rules, params):
    return records.render_state(PATH, RULE_FIELDS, rules)


def to_config(rule):
    return records.to_config(RULE_FIELDS, rule)


def finish_plan(ops, wanted, current, predicted, params):
    """Moves that put the ``config`` rules, in order, where ``placement`` says; after a failed run
    (the core converging back to what it read) moves that put each owned rule back where it was."""
    if params["state"] not in ("merged", "replaced", "overridden") or not wanted:
        return []
    if ordering.is_restore(wanted):
        gaps = ordering.gaps_as_read(wanted, predicted)
    else:
        block_keys = [rule.key for rule in wanted]
        anchor = placement_anchor(params.get("placement") or {}, block_keys, predicted)
        gaps = [(None if anchor is None else anchor.key, block_keys)]
    return ordering.moves_into_gaps(gaps, ops, current, predicted)


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


ENGINE = Engine(
    name="ros_routing_rule", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, finish_plan=finish_plan, parse_running_config=parse_running_config,
    config_fields=RULE_FIELDS)
