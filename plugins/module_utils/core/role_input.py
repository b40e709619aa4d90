# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a role hands its modules, checked by the modules' own engines before the role changes anything.

A role's layout (``linux.layout``, ``routeros.layout``) turns inventory variables into module
``config`` entries. Each entry it makes is an ``Entry``: the config, the inventory variable it
came from, and which of the engine's options came from which inventory value (``Source``).
``checked_records`` runs every entry through exactly what the module runs for
``state: rendered`` (``core.resource.run_resource``: the engine's ``config_spec``, its
``normalise`` without device facts, the render-time guard of every word), so an entry the module
would refuse is refused here, before the role's first change. The refusal names the inventory
variable and the value the user wrote (``multiwan_policies[2].dport='0'``), not the engine's option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.multiwan.pbr.plugins.module_utils.core.config_entries import InvalidEntry, validated_entries
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    normalise_all, run_resource, validated_config)

Source = namedtuple("Source", "variable value")


class Entry(namedtuple("Entry", "config variable value sources")):
    """``config`` for a module, made from inventory ``variable`` (holding ``value``).

    ``sources`` maps an engine field (``dport``, ``routes.dev``, ``wans[1].device``: as the engine
    names it in ``InvalidInput``, or its last option) to the ``Source`` it came from.
    """

    __slots__ = ()

    def __new__(cls, config, variable, value, sources=None):
        return super(Entry, cls).__new__(cls, config, variable, value, sources or {})


def checked_records(engine, params, entries):
    """The records all ``entries`` normalise to, each checked as the module checks ``state: rendered``.

    ``params`` are the module's other options (``protocol``, ``table`` ...). Two entries that make
    the same record (one rule priority, one table name) are refused naming both variables.
    """
    made_by = {}
    records = []
    for entry in entries:
        for record in _checked(engine, params, entry):
            if record.key in made_by:
                raise InvalidInput(entry.variable, entry.value, "makes the same %s entry (%s) as %s"
                                   % (engine.name, _describe(record.key), made_by[record.key]))
            made_by[record.key] = entry.variable
            records.append(record)
    return records


def _checked(engine, params, entry):
    entry_params = dict(params, state="rendered", config=[entry.config])
    try:
        run_resource(engine, None, entry_params)
        return normalise_all(engine, dict(entry_params, config=validated_config(engine, entry_params)), None)
    except InvalidInput as error:
        # the argument spec names the entry (config[0]); the option it refused is found by trying each alone
        field = error.field if error.field != "config[0]" else refused_option(engine, entry.config) or error.field
        raise named_after_inventory(error, entry, engine.name, field)


def refused_option(engine, config):
    """The option of ``config`` that the engine's ``config_spec`` refuses on its own, or ``None``."""
    options = engine.config_spec["options"]
    for key, value in config.items():
        if key not in options:
            return key
        alone = dict(type="list", elements="dict", options={key: dict(options[key], required=False)})
        try:
            validated_entries(alone, [{key: value}])
        except InvalidEntry:
            return key
    return None


def named_after_inventory(error, entry, module_name, field=None):
    """``error`` (about engine ``field``) re-raised naming the inventory variable the field came from."""
    field = field or error.field
    source = entry.sources.get(field) or entry.sources.get(last_option(field))
    if source is not None:
        return InvalidInput(source.variable, source.value, error.reason)
    return InvalidInput(entry.variable, entry.value, "%s refuses %s=%r: %s"
                        % (module_name, error.field, error.value, error.reason))


def last_option(field):
    """``dport`` of ``config[priority=2020].dport``, ``dev`` of ``routes.nexthops.dev``."""
    return re.sub(r"\[[^\]]*\]", "", field).rsplit(".", 1)[-1]


def _describe(key):
    return " ".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


def inventory_list(value, variable):
    """An inventory variable that must be a list: ``[]`` when unset, ``InvalidInput`` when not a list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(variable, value, "is not a list")
    return value
