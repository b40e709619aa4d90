# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for ``action=return`` exclusions in RouterOS ``/ip/firewall/mangle`` ``chain=output``.

Seed 000's first remedy: when mangle must mark in ``chain=output``, the router's own
traffic that must never be steered (LAN prefixes, tunnel interfaces, DNS, gateway probes)
leaves the chain first, so no connection mark reaches it. Order is the whole point: the
owned exclusions form one block, in ``config`` order, right before the first rule of
``chain=output`` that marks (``mark-connection``, ``mark-routing``) or jumps to a chain
that may; without such a rule they sit at the end, and a later run moves them in front of
one that appears. Other mangle rules are never changed or moved.

Identity is the ``name`` in the ownership tag (``comment=multiwan.pbr:<name> ...``). The
field table and the CLI lines are ``routeros.records``'; the moves are the routing-rule
engine's (``moves_into_place``), the same ordering problem.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.ros_routing_rule import moves_into_place, with_device_ids
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import Field

PATH = "/ip/firewall/mangle"
PATHS = (PATH,)
MENU = "/ip firewall mangle"
CHAIN = "output"
ACTIONS = ("return", "accept")
# Rules the exclusions must come before: they mark, or may lead to rules that do.
ANCHOR_ACTIONS = ("mark-connection", "mark-routing", "jump")
MATCHERS = ("dst_address", "dst_address_list", "out_interface", "out_interface_list", "protocol", "dst_port")
# What print shows besides the configuration (counters, state), left out of --diff lines.
_READ_ONLY = (".id", ".nextid", "bytes", "packets", "dynamic", "invalid", "comment")


def device_address(value, option):
    """Mangle prints a host without ``/32`` (semantics.md 5); ranges and ``!`` stay as printed."""
    text = records.text(value, option)
    try:
        prefix = records.prefix_ipv4(text, option)
    except InvalidInput:
        return text         # a foreign rule's range or negation: kept, never compared with ours
    return prefix[:-len("/32")] if prefix.endswith("/32") else prefix


EXCLUSION_FIELDS = (
    Field("chain", "chain", records.word),
    Field("action", "action", records.word, default="accept"),
    Field("dst_address", "dst-address", device_address, unsettable=True),
    Field("dst_address_list", "dst-address-list", records.word, unsettable=True),
    Field("out_interface", "out-interface", records.word, unsettable=True),
    Field("out_interface_list", "out-interface-list", records.word, unsettable=True),
    Field("protocol", "protocol", records.word, unsettable=True),
    Field("dst_port", "dst-port", records.word, unsettable=True),
    Field("disabled", "disabled", records.boolean, default=False),
)

CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    dst_address=dict(type="str"),
    dst_address_list=dict(type="str"),
    out_interface=dict(type="str"),
    out_interface_list=dict(type="str"),
    protocol=dict(type="str"),
    dst_port=dict(type="str"),
    action=dict(type="str", choices=list(ACTIONS)),
    disabled=dict(type="bool"),
    comment=dict(type="str"),
)
CONFIG_SPEC = dict(type="list", elements="dict", options=CONFIG_OPTIONS)


@dataclasses.dataclass(frozen=True)
class Exclusion:
    """A mangle rule; owned ones are exclusions, foreign ones only hold their place and show in --diff."""

    IDENTITY = "tag"

    name: str
    chain: str
    action: str
    dst_address: str
    dst_address_list: str
    out_interface: str
    out_interface_list: str
    protocol: str
    dst_port: str
    disabled: bool
    comment: str
    owned: bool
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)
    printed: tuple = dataclasses.field(default=(), compare=False)

    @property
    def key(self):
        return self.name if self.owned else self.device_id


def normalise(item, params, facts):
    """An exclusion: always ``chain=output``, ``action=return`` unless ``accept`` is asked for."""
    filled = dict(item, chain=CHAIN, action=item.get("action") or "return")
    if filled["action"] not in ACTIONS:
        raise InvalidInput("action", filled["action"], "is not one of %s" % ", ".join(ACTIONS))
    if item.get("dst_address") is not None:
        filled["dst_address"] = device_address(records.prefix_ipv4(item["dst_address"], "dst_address"), "dst_address")
    exclusion = records.record_from_item(Exclusion, EXCLUSION_FIELDS, filled, params)
    check_matchers(exclusion, complete=params.get("state") in ("replaced", "overridden", "rendered"))
    return exclusion


def check_matchers(exclusion, complete):
    """An exclusion without a matcher would take every packet out of chain=output."""
    if exclusion.dst_port and not exclusion.protocol:
        raise InvalidInput("dst_port", exclusion.dst_port, "needs protocol (tcp or udp) in exclusion %s" % exclusion.name)
    if complete and not any(getattr(exclusion, option) for option in MATCHERS):
        raise InvalidInput("name", exclusion.name, "this exclusion matches nothing: give dst_address, "
                           "dst_address_list, out_interface, out_interface_list or protocol")


def parse(dump, params, facts):
    return [_exclusion(row) for row in dump[PATH] if records.is_configuration(row)]


def _exclusion(row):
    exclusion = records.record_from_row(Exclusion, EXCLUSION_FIELDS, row)
    printed = tuple((key, records.text(value, key)) for key, value in row.items() if key not in _READ_ONLY)
    return dataclasses.replace(exclusion, printed=printed)


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


merge = records.merge


def render(ops, params):
    return records.render_ops(MENU, EXCLUSION_FIELDS, ops)


def render_state(rules, params):
    """Device order; a rule we do not own is shown as printed, after a ``#``, to show where ours sit."""
    lines = []
    for rule in rules:
        if rule.owned:
            lines.append(records.add_line(MENU, EXCLUSION_FIELDS, rule))
        else:
            words = ["%s=%s" % (key, records.quote(value)) for key, value in rule.printed]
            lines.append("# %s (not managed) %s" % (rule.device_id, " ".join(words)))
    return "".join(line + "\n" for line in lines)


def to_config(rule):
    config = records.to_config(EXCLUSION_FIELDS, rule)
    config.pop("chain", None)
    return config


def finish_plan(ops, wanted, current, predicted, params):
    """Moves that put the ``config`` exclusions, in order, right before the first marking rule."""
    if params["state"] not in ("merged", "replaced", "overridden") or not wanted:
        return []
    return moves_into_place([rule.key for rule in wanted], first_marking_rule(predicted),
                            with_device_ids(predicted, current))


def first_marking_rule(rules):
    """The first rule of chain=output we do not own that marks or jumps, or ``None``."""
    return next((rule for rule in rules if not rule.owned and rule.chain == CHAIN and rule.action in ANCHOR_ACTIONS),
                None)


ENGINE = Engine(
    name="ros_mangle_exclusion", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, finish_plan=finish_plan, parse_running_config=parse_running_config)
