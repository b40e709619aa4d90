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
field table and the commands are ``routeros.records``'; the moves are ``routeros.ordering``'s,
the same ordering problem as routing rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.core import fields
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import BOOLEAN, TEXT, Field, Kind, choice
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ordering, records
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.commands import quote
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import COMMENT, NAME, PREFIX_IPV4

PATH = "/ip/firewall/mangle"
PATHS = (PATH,)
CHAIN = "output"
ACTIONS = ("return", "accept")
# Rules the exclusions must come before: they mark, or may lead to rules that do.
ANCHOR_ACTIONS = ("mark-connection", "mark-routing", "jump")
MATCHERS = ("dst_address", "dst_address_list", "out_interface", "out_interface_list", "protocol", "dst_port")
# What print shows besides the configuration (counters, state), left out of --diff lines.
_READ_ONLY = (".id", ".nextid", "bytes", "packets", "dynamic", "invalid", "comment")


def device_address(value, field_name):
    """Mangle prints a host without ``/32`` (tests/routeros_sim/README.md, Menus)."""
    prefix = PREFIX_IPV4.normalise(value, field_name)
    return prefix[:-len("/32")] if prefix.endswith("/32") else prefix


# Not an option: every exclusion is in chain=output; read to find the rules they go before.
CHAIN_FIELD = Field("chain", NAME, keyword="chain", doc=())
ACTION_FIELD = Field("action", choice(*ACTIONS), keyword="action", device_default="accept", doc=(
    "V(return) leaves C(chain=output); V(accept) does too and skips any chain that jumped here.",))
EXCLUSION_FIELDS = (
    records.name_field("exclusion"),
    Field("dst_address", Kind("str", device_address), keyword="dst-address", unsettable=True, doc=(
        "Destination IPv4 address or prefix (C(dst-address)), e.g. a LAN prefix or a gateway to probe.",)),
    Field("dst_address_list", NAME, keyword="dst-address-list", unsettable=True, doc=(
        "Destination address list (C(dst-address-list)).",)),
    Field("out_interface", NAME, keyword="out-interface", unsettable=True, doc=(
        "Outgoing interface (C(out-interface)), e.g. a WireGuard interface.",)),
    Field("out_interface_list", NAME, keyword="out-interface-list", unsettable=True, doc=(
        "Outgoing interface list (C(out-interface-list)).",)),
    Field("protocol", NAME, keyword="protocol", unsettable=True, doc=(
        "IP protocol (C(protocol)), e.g. V(udp) for DNS.",)),
    Field("dst_port", NAME, keyword="dst-port", unsettable=True, doc=(
        "Destination ports (C(dst-port)), e.g. V(53); needs O(config[].protocol).",)),
    ACTION_FIELD,
    Field("disabled", BOOLEAN, keyword="disabled", device_default=False, doc=(
        "Whether the rule is disabled (C(disabled)).",)),
    COMMENT,
)
# The order of the words in an `add`: chain and action first, as RouterOS's own export writes them.
DEVICE_FIELDS = (CHAIN_FIELD, ACTION_FIELD) + tuple(field for field in EXCLUSION_FIELDS if field is not ACTION_FIELD)

CONFIG_OPTIONS = fields.options_spec(EXCLUSION_FIELDS)
CONFIG_SPEC = records.config_spec(EXCLUSION_FIELDS)


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
    place: object = dataclasses.field(default=ordering.ANYWHERE, hash=False)
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)
    printed: tuple = dataclasses.field(default=(), compare=False)

    @property
    def key(self):
        return self.name if self.owned else self.device_id


def normalise(item, params, facts):
    """An exclusion: always ``chain=output``, ``action=return`` unless ``accept`` is asked for."""
    filled = dict(item, chain=CHAIN, action=item.get("action") or "return")
    exclusion = records.record_from_item(Exclusion, DEVICE_FIELDS, filled, params)
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
    return ordering.with_places([_exclusion(row) for row in dump[PATH] if records.is_configuration(row)])


def _exclusion(row):
    exclusion = records.record_from_row(Exclusion, DEVICE_FIELDS, row)
    printed = tuple((key, TEXT.normalise(value, key)) for key, value in row.items() if key not in _READ_ONLY)
    return dataclasses.replace(exclusion, printed=printed)


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


merge = records.merge


def render(ops, params):
    return records.render_ops(PATH, DEVICE_FIELDS, ops)


def render_state(rules, params):
    """Device order; a rule we do not own is shown as printed, after a ``#``, to show where ours sit."""
    lines = []
    for rule in rules:
        if rule.owned:
            lines.append(records.add_command(PATH, DEVICE_FIELDS, rule).text)
        else:
            words = ["%s=%s" % (key, quote(value)) for key, value in rule.printed]
            lines.append("# %s (not managed) %s" % (rule.device_id, " ".join(words)))
    return "".join(line + "\n" for line in lines)


def to_config(rule):
    return records.to_config(EXCLUSION_FIELDS, rule)


def finish_plan(ops, wanted, current, predicted, params):
    """Moves that put the ``config`` exclusions, in order, right before the first marking rule; after
    a failed run (the core converging back to what it read) each owned rule back where it was."""
    if params["state"] not in ("merged", "replaced", "overridden") or not wanted:
        return []
    if ordering.is_restore(wanted):
        gaps = ordering.gaps_as_read(wanted, predicted)
    else:
        anchor = first_marking_rule(predicted)
        gaps = [(None if anchor is None else anchor.key, [rule.key for rule in wanted])]
    return ordering.moves_into_gaps(gaps, ops, current, predicted)


def first_marking_rule(rules):
    """The first rule of chain=output we do not own that marks or jumps, or ``None``."""
    return next((rule for rule in rules if not rule.owned and rule.chain == CHAIN and rule.action in ANCHOR_ACTIONS),
                None)


ENGINE = Engine(
    name="ros_mangle_exclusion", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, finish_plan=finish_plan, parse_running_config=parse_running_config,
    config_fields=EXCLUSION_FIELDS)
