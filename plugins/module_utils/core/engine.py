# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine interface: what every resource engine hands the core, stated once.

An engine file ends with ``ENGINE = Engine(...)``, naming its pure functions. The core
(``core.resource``) calls only these; what an engine leaves out gets the default here,
so no caller ever asks whether an engine has something.

    config_spec(required)  the ``config`` option as a list-of-dicts argument spec; the core checks
                           each entry against it before anything else (``core.config_entries``)
    normalise(item, params, facts) -> record or [record]
                           one ``config`` entry; ``facts`` is ``None`` for ``rendered``
    parse(dump, params, facts) -> [record]
                           the device's own dump; each record has ``key`` and ``owned``
    merge(current, wanted) -> record
                           what ``merged`` leaves behind
    render(ops, params) -> [command]
                           structured commands (``core.commands`` or the transport's own), one per op
                           or more; each has ``text``
    render_state(records, params) -> str
                           records as the device would show them, for ``--diff``
    to_config(record) -> dict
                           a record in ``config`` shape; ``normalise(to_config(r)) == r``
    parse_facts(dump, params) -> facts            default: ``None``
    to_configs(records) -> [dict]                 default: ``to_config`` of each
    sort_key(record)                              default: device order
    finish_plan(ops, wanted, current, predicted, params) -> [Op]
                           ops the generic plan cannot know about (moves, table scopes), appended
    revise_plan(ops, wanted, current, params) -> [Op]
                           the whole plan, revised where the device needs another order (default: as is)
    parse_running_config(text, params) -> dump    default: the text as JSON
    config_fields          the field table of ``config`` (``core.fields``), when the engine declares one;
                           the module's DOCUMENTATION suboptions are generated from it (tools/field_docs.py)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
import json

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput


def no_facts(dump, params):
    return None


def no_more_ops(ops, wanted, current, predicted, params):
    return []


def plan_as_is(ops, wanted, current, params):
    return ops


def device_order(record):
    return 0


def json_running_config(text, params):
    try:
        return json.loads(text)
    except ValueError as error:
        raise InvalidInput("running_config", text[:60], "is not JSON: %s" % error)


@dataclasses.dataclass(frozen=True)
class Engine:
    name: str
    config_spec: dict
    normalise: object
    parse: object
    merge: object
    render: object
    render_state: object
    to_config: object
    parse_facts: object = no_facts
    to_configs: object = None
    sort_key: object = device_order
    finish_plan: object = no_more_ops
    revise_plan: object = plan_as_is
    parse_running_config: object = json_running_config
    config_fields: tuple = ()

    def configs(self, records):
        if self.to_configs is not None:
            return self.to_configs(records)
        return [self.to_config(record) for record in records]
