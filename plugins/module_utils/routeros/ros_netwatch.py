# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for RouterOS ``/tool/netwatch``: hosts whose going up or down runs a script.

Netwatch probes a host every ``interval`` and runs ``up-script`` when the probe starts to
succeed and ``down-script`` when it starts to fail. Identity is the ``name`` in the ownership tag
(``comment=multiwan.pbr:<name> ...``), as for routes: two entries may watch one host (with
different probe types or scripts), and a host changes in place.

RouterOS uses its defaults whether or not an entry names them (type ``simple``, interval
``10s``, timeout ``3s``: the Netwatch page in tests/routeros_sim/README.md, Menus); whether print
shows a default it was not given is not known (``netwatch_print`` there), so a property the print
leaves out reads as RouterOS's default. Durations compare by their length: ``1m``, ``60s`` and
``00:01:00`` are one value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.core import fields
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import ADDRESS, BOOLEAN, TEXT, Field, choice
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import COMMENT, duration

PATH = "/tool/netwatch"
PATHS = (PATH,)
# /tool/netwatch add type, as RouterOS 7.22.2 completes it (tests/routeros_sim/menus.py).
TYPES = ("dns", "http-get", "https-get", "icmp", "simple", "tcp-conn")

NETWATCH_FIELDS = (
    records.name_field("netwatch entry"),
    Field("host", ADDRESS, keyword="host", doc=(
        "The address probed (C(host)), IPv4 or IPv6.",
        "Required unless O(state=deleted) or O(state=merged) of an entry that exists.")),
    Field("type", choice(*TYPES), keyword="type", device_default="simple", doc=(
        "The probe (C(type)): V(simple) and V(icmp) ping, V(tcp-conn) connects, V(http-get)/V(https-get) fetch, "
        "V(dns) asks; RouterOS's default is V(simple).",)),
    Field("interval", duration(1000), keyword="interval", device_default="10s", unsettable=True, doc=(
        "Time between probes (C(interval)) as RouterOS writes durations (V(10s), V(1m30s), V(00:01:30)) or a "
        "number of seconds; at least V(1s), RouterOS's default is V(10s).",)),
    Field("timeout", duration(10), keyword="timeout", device_default="3s", unsettable=True, doc=(
        "How long a probe waits for an answer (C(timeout)), a duration as for O(config[].interval); at least "
        "V(10ms), RouterOS's default is V(3s).",)),
    Field("up_script", TEXT, keyword="up-script", unsettable=True, doc=(
        "RouterOS script source run when the host starts answering (C(up-script)).",)),
    Field("down_script", TEXT, keyword="down-script", unsettable=True, doc=(
        "RouterOS script source run when the host stops answering (C(down-script)).",)),
    Field("disabled", BOOLEAN, keyword="disabled", device_default=False, doc=(
        "Whether the entry is disabled (C(disabled)).",)),
    COMMENT,
)

CONFIG_OPTIONS = fields.options_spec(NETWATCH_FIELDS)
CONFIG_SPEC = records.config_spec(NETWATCH_FIELDS)


@dataclasses.dataclass(frozen=True)
class Netwatch:
    """One ``/tool/netwatch`` entry; ``name`` (from the tag) is set on owned entries only."""

    IDENTITY = "tag"

    name: str
    host: str
    type: str
    interval: str
    timeout: str
    up_script: str
    down_script: str
    disabled: bool
    comment: str
    owned: bool
    device_id: str = dataclasses.field(default=None, compare=False)
    given: frozenset = dataclasses.field(default=frozenset(), compare=False)

    @property
    def key(self):
        return self.name if self.owned else self.device_id


def normalise(item, params, facts):
    entry = records.record_from_item(Netwatch, NETWATCH_FIELDS, item, params)
    check_host(entry, complete=params.get("state") in ("replaced", "overridden", "rendered"))
    return entry


def check_host(entry, complete):
    """Every entry probes a host; ``merged`` and ``deleted`` entries may be partial."""
    if complete and not entry.host:
        raise InvalidInput("host", None, "netwatch entry %s needs a host" % entry.name)


def parse(dump, params, facts):
    return records.demote_duplicates([records.record_from_row(Netwatch, NETWATCH_FIELDS, row)
                                      for row in dump[PATH] if records.is_configuration(row)])


def parse_running_config(text, params):
    return records.rows_from_running_config(text, PATH)


merge = records.merge


def finish_plan(ops, wanted, current, predicted, params):
    """No ops to add; an entry ``merged`` adds must name its host."""
    for op in ops:
        if op.verb == ADD:
            check_host(op.record, complete=True)
    return []


def render(ops, params):
    return records.render_ops(PATH, NETWATCH_FIELDS, ops)


def render_state(entries, params):
    return records.render_state(PATH, NETWATCH_FIELDS, entries)


def to_config(entry):
    return records.to_config(NETWATCH_FIELDS, entry)


def sort_key(entry):
    return (entry.host or "", entry.name or "", entry.device_id or "")


ENGINE = Engine(
    name="ros_netwatch", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, sort_key=sort_key, finish_plan=finish_plan,
    parse_running_config=parse_running_config, config_fields=NETWATCH_FIELDS)
