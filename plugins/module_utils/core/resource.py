# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared core of every multiwan.pbr resource module.

This is the only file that knows what the resource-module states mean. An engine
(``core.engine.Engine``: pure functions over plain records) plans and renders; a runner
(one per transport) reads and writes the device. ``run_resource`` joins them:

    params -- normalise --> wanted --+
    device -- dump -- parse --> current -+- plan(state) -> ops -+- render -> commands -> apply
                                                                +- simulate -> predicted after

A runner has ``dump() -> dump`` and ``apply(commands)`` (the engine's structured commands)
and says whether a second read is worth it (``reads_back``: RouterOS confirms every write by
its reply, so its ``after`` is the prediction). ``apply`` raises ``ApplyFailed`` naming the
refused command and the device's message; the core then converges the owned records back to
what they were, re-reads the device and says whether that was verified (``rolled_back``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
from collections import namedtuple

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import texts
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError, InvalidInput

STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered", "parsed")
OFFLINE_STATES = ("rendered", "parsed")
READ_ONLY_STATES = ("gathered", "rendered", "parsed")
WRITING_STATES = ("merged", "replaced", "overridden", "deleted")

ADD, DELETE, REPLACE, MOVE = "add", "delete", "replace", "move"


class Op(namedtuple("Op", "verb record old position")):
    """One change to the device.

    ``record`` is what the device has after the op (for ``delete``: what goes away);
    ``old`` is the record a ``replace`` overwrites; ``position`` is engine data for
    ordered resources (the key a ``move`` or ``add`` places the record before).
    """

    __slots__ = ()

    def __new__(cls, verb, record, old=None, position=None):
        return super(Op, cls).__new__(cls, verb, record, old, position)


# ---------------------------------------------------------------------------
# The entry point every module calls


def run_resource(engine, runner, params, check_mode=False, diff_mode=False, read_before=None):
    """Do what ``params['state']`` asks; return the module result (a dict). ``read_before``: a list that gets the
    owned records read before a write, for a caller that may have to put them back later (``restore``)."""
    # Bad entries fail here, whatever the state, before the device is read (or connected to)
    params = dict(params, config=validated_config(engine, params))
    state = params["state"]
    if state == "rendered":
        wanted = normalise_all(engine, params, None)
        # what merged would send to a device without any of it, in the order the engine sends it
        ops = engine.revise_plan(plan(wanted, [], "merged", engine.merge), wanted, [], params)
        return {"changed": False, "rendered": texts(engine.render(ops, params))}

    dump = engine.parse_running_config(params["running_config"], params) if state == "parsed" else runner.dump()
    facts, current = read_state(engine, params, dump)
    if state in ("gathered", "parsed"):
        return {"changed": False, state: configs(engine, owned(current))}

    wanted = normalise_all(engine, params, facts)
    ops = converge_ops(engine, wanted, current, state, params)
    predicted = simulate(current, ops)
    commands = engine.render(ops, params)
    # The netcommon convention: ``before`` always, ``after`` only when something changed.
    # Every key is walked again by exit_json's no_log scrub, so an unchanged run leaves it out.
    result = {"changed": bool(ops), "commands": texts(commands), "before": configs(engine, owned(current))}
    if diff_mode:
        result["diff"] = {
            "before": engine.render_state(sorted_records(engine, current), params),
            "after": engine.render_state(sorted_records(engine, predicted), params),
        }
    if not ops:
        return result
    if check_mode:
        result["after"] = configs(engine, owned(predicted))
        return result
    if read_before is not None:
        read_before.append(owned(current))
    apply_or_restore(runner, engine, commands, params, owned(current))
    if not getattr(runner, "reads_back", True):
        # every write was confirmed by the device's own reply (RouterOS): the prediction is what it holds
        result["after"] = configs(engine, owned(predicted))
        return result
    actual = sorted_records(engine, owned(read_state(engine, params, runner.dump())[1]))
    result["after"] = configs(engine, actual)
    result["warnings"] = mismatch_warnings(engine, actual, owned(predicted), result["after"])
    return result


def read_state(engine, params, dump):
    """``(facts, records)`` from one dump of the device."""
    facts = engine.parse_facts(dump, params)
    return facts, engine.parse(dump, params, facts)


def converge_ops(engine, wanted, current, state, params):
    """The generic plan, plus what the engine adds (ordering, table scopes, leftovers of an interrupted run)."""
    ops = plan(wanted, current, state, engine.merge)
    ops = ops + engine.finish_plan(ops, wanted, current, simulate(current, ops), params)
    return engine.revise_plan(ops, wanted, current, params)


def normalise_all(engine, params, facts):
    wanted = []
    for item in params.get("config") or []:
        records = engine.normalise(item, params, facts)
        wanted.extend(records if isinstance(records, list) else [records])
    reject_duplicate_keys(wanted)
    return wanted


def validated_config(engine, params):
    """``config`` checked against the engine's ``config_spec`` (see ``config_entries``: AnsibleModule
    gets ``config`` as a plain list of dicts, because its own check of each entry costs 45 us).
    An engine without one (nft_connmark) builds ``config`` itself from options AnsibleModule checked."""
    if engine.config_spec is None:
        return params.get("config")
    # Imported here: config_entries needs ansible-core's validators, which a module has and the
    # failover agent on the router does not (it builds its records from an already checked layout).
    from ansible_collections.multiwan.pbr.plugins.module_utils.core.config_entries import (
        InvalidEntry, validated_entries)
    try:
        return validated_entries(engine.config_spec, params.get("config"))
    except InvalidEntry as error:
        raise InvalidInput("config[%d]" % error.index, error.entry, error.reason)


def reject_duplicate_keys(records):
    seen = set()
    for record in records:
        if record.key in seen:
            raise InvalidInput("config", _describe_key(record.key), "appears more than once")
        seen.add(record.key)


def _describe_key(key):
    return " ".join(str(part) for part in key) if isinstance(key, tuple) else key


# ---------------------------------------------------------------------------
# Planning: the meaning of each state, for every resource


def plan(wanted, current, state, merge):
    """The ordered ops that take ``current`` to what ``state`` asks for ``wanted``.

    Only owned records are ever changed. Additions and replacements come before
    deletions (make-before-break), each group in the order of ``wanted``/``current``.
    """
    owned_by_key = dict((record.key, record) for record in current if record.owned)
    if state == "deleted":
        return _deletions(wanted, owned_by_key)
    if state not in ("merged", "replaced", "overridden"):
        raise InvalidInput("state", state, "does not change the device")
    changes = [op for op in (_change(record, owned_by_key, state, merge) for record in wanted) if op]
    deletions = []
    if state == "overridden":
        wanted_keys = set(record.key for record in wanted)
        deletions = [Op(DELETE, record) for key, record in owned_by_key.items() if key not in wanted_keys]
    return changes + deletions


def _change(record, owned_by_key, state, merge):
    existing = owned_by_key.get(record.key)
    if existing is None:
        return Op(ADD, record)
    target = merge(existing, record) if state == "merged" else record
    return None if target == existing else Op(REPLACE, target, old=existing)


def _deletions(wanted, owned_by_key):
    if not wanted:
        return [Op(DELETE, record) for record in owned_by_key.values()]
    return [Op(DELETE, owned_by_key[record.key]) for record in wanted if record.key in owned_by_key]


def simulate(current, ops):
    """The records the device holds after ``ops``, in device order."""
    if any(op.verb == MOVE or op.position is not None for op in ops):
        return _simulate_in_order(current, ops)
    # No op places a record: every add appends, so each delete or replace only needs the
    # position of the first equal record. An index of positions finds it without scanning
    # the list (``list.remove``/``index`` per op made a 10,000-op plan quadratic).
    slots = list(current)
    positions = {}
    for index, record in enumerate(slots):
        positions.setdefault(record, []).append(index)
    for op in ops:
        if op.verb == ADD:
            _note_position(positions, op.record, len(slots))
            slots.append(op.record)
        elif op.verb == DELETE:
            slots[_first_position(positions, op.record)] = _GONE
        elif op.verb == REPLACE:
            index = _first_position(positions, op.old)
            slots[index] = op.record
            _note_position(positions, op.record, index)
    return [record for record in slots if record is not _GONE]


_GONE = object()    # a deleted slot, dropped when simulate returns


def _note_position(positions, record, index):
    bisect.insort(positions.setdefault(record, []), index)


def _first_position(positions, record):
    """The position of the first record equal to ``record``, which leaves the index."""
    indices = positions.get(record)
    if not indices:
        raise ValueError("simulate: %r is not among the records" % (record,))
    return indices.pop(0)


def _simulate_in_order(current, ops):
    """``simulate`` for plans that place records (``move``, positioned ``add``): list by list."""
    records = list(current)
    for op in ops:
        if op.verb == ADD:
            _insert(records, op.record, op.position)
        elif op.verb == DELETE:
            records.remove(op.record)
        elif op.verb == REPLACE:
            records[records.index(op.old)] = op.record
        elif op.verb == MOVE:
            records.remove(op.record)
            _insert(records, op.record, op.position)
    return records


def _insert(records, record, before_key):
    if before_key is None:      # the common case; the key scan below is O(n) per op
        records.append(record)
        return
    keys = [existing.key for existing in records]
    records.insert(keys.index(before_key) if before_key in keys else len(records), record)


def apply_or_restore(runner, engine, commands, params, owned_before):
    """Apply every command, or put the owned records back as they were and say whether that held.

    A device can stop part-way, so the undo is planned from a fresh read of the device, not
    from a count of commands: whatever got applied is taken back to ``owned_before``; then the
    device is read once more, and only when it holds exactly ``owned_before`` does the failure
    say ``rolled_back`` (``ApplyFailed.rollback_error is None``).
    """
    try:
        runner.apply(commands)
    except ApplyFailed as failure:
        failure.rollback_error = restore(runner, engine, params, owned_before)
        raise failure


def restore(runner, engine, params, owned_before):
    """Converge the owned records back to ``owned_before`` and verify it; the error text, or None."""
    try:
        actual = read_state(engine, params, runner.dump())[1]
        ops = converge_ops(engine, owned_before, actual, "overridden", params)
        if ops:
            runner.apply(engine.render(ops, params))
        left = owned(read_state(engine, params, runner.dump())[1])
    except (ApplyFailed, DeviceError, InvalidInput) as error:
        # InvalidInput: the undo's own plan was refused (a table the run added got a referrer meanwhile)
        return str(error)
    if sorted_records(engine, left) != sorted_records(engine, owned_before):
        return "the device reads back differently from before the run: %s" % texts(
            engine.render(converge_ops(engine, owned_before, left, "overridden", params), params))
    return None


# ---------------------------------------------------------------------------
# Results


def owned(records):
    return [record for record in records if record.owned]


def sorted_records(engine, records):
    return sorted(records, key=engine.sort_key)


def configs(engine, records):
    return engine.configs(sorted_records(engine, records))


def mismatch_warnings(engine, actual, predicted, actual_configs):
    """A warning when the read-back differs from the prediction (a normalisation bug).

    ``actual`` is sorted already. Equal records mean the plan came true (fields outside
    equality, such as names shown to people or device ids, are not checked); only when
    the records differ are the predicted configs built, and only a difference there
    warns: a tie in ``sort_key`` can order equal sets of records differently.
    """
    if actual == sorted_records(engine, predicted):
        return []
    predicted_configs = configs(engine, predicted)
    if actual_configs == predicted_configs:
        return []
    return ["the device reads back differently from the plan's prediction; "
            "please report this as a normalisation bug (predicted %r, read %r)" % (predicted_configs, actual_configs)]
