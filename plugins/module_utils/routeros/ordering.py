# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ordered menus (``/routing/rule``, ``/ip/firewall/mangle``): where owned entries go, and the moves.

Order is policy there, and only owned entries ever move; every other entry is a fixed point.
Owned entries are placed in *gaps*: a gap is a fixed entry (or the end of the list) and the
owned entries that must sit right before it, in order. A normal run has one gap (the block of
``config`` entries before the entry ``placement`` names); a restore after a failed run has one
gap per place an owned entry was read at, so each goes back exactly where it was.

Where an entry was read is its ``place``: the key of the first entry after it that is not
owned (``None``: the end). A ``config`` entry has no place (``ANYWHERE``, equal to any), so
places never make a wanted entry differ from the one on the device; but the core's check that
a restore put everything back compares records read from the device, places included. A record
declares it as ``place: object = dataclasses.field(default=ANYWHERE, hash=False)``: compared,
not hashed (a wildcard has no hash that agrees with every value it equals).

The moves are independent of the order RouterOS runs pipelined adds in: adds append in an
order nothing documents (``routeros.commands``), so with more than one add no added entry
counts as in place: each is moved where it belongs once the adds are answered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD, MOVE, Op
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import Wildcard

ANYWHERE = Wildcard("ANYWHERE")


def with_places(records):
    """``records`` (device order) with each owned one's ``place``: the key of the next foreign one."""
    placed, following = [], None
    for record in reversed(records):
        if record.owned:
            record = dataclasses.replace(record, place=following)
        else:
            following = record.key
        placed.append(record)
    return placed[::-1]


def is_restore(wanted):
    """Whether ``wanted`` was read from the device (the core converging back after a failure)."""
    return bool(wanted) and all(record.place is not ANYWHERE for record in wanted)


def gaps_as_read(wanted, predicted):
    """``[(anchor key or None, [keys])]``: each wanted entry back before the entry it was read before."""
    fixed = set(record.key for record in predicted) - set(record.key for record in wanted)
    gaps = {}
    for record in wanted:
        anchor = record.place if record.place in fixed else None
        gaps.setdefault(anchor, []).append(record.key)
    return list(gaps.items())


def moves_into_gaps(gaps, ops, current, predicted):
    """``MOVE`` ops, in order, that put each gap's entries right before its anchor.

    The longest stretch of the gap's entries already in place stays; those before it move
    right before its first entry, those after it right before the anchor (each group one
    ``move`` of a list once rendered). A move's record carries the ``.id`` of ``current``
    (never one from an older read), or none when this plan adds it.
    """
    entries = with_current_ids(predicted, current)
    by_key = dict((entry.key, entry) for entry in entries)
    order = [entry.key for entry in entries]
    added = [op.record.key for op in ops if op.verb == ADD]
    uncertain = set(added) if len(added) > 1 else set()
    moves = []
    for anchor, block in gaps:
        for keys, destination in gap_moves(order, anchor, block, uncertain):
            moves += [Op(MOVE, by_key[key], old=by_key.get(destination), position=destination) for key in keys]
            order = _moved(order, keys, destination)
    return moves


def gap_moves(order, anchor, block, uncertain=()):
    """``[(keys, destination key or None)]`` that put ``block`` right before ``anchor`` in ``order``."""
    start, end = kept_stretch(order, anchor, block, uncertain)
    if start == end:
        return [(block, anchor)] if block else []
    moves = [(block[:start], block[start])] if start else []
    return moves + ([(block[end:], anchor)] if end < len(block) else [])


def kept_stretch(order, anchor, block, uncertain=()):
    """``(start, end)``: the longest ``block[start:end]`` that already sits, in order, among the
    block's entries right before ``anchor`` (so it stays once the others have moved away).
    An entry whose position is ``uncertain`` never counts as in place."""
    members = set(block)
    index = order.index(anchor) if anchor is not None else len(order)
    run = []
    while index > 0 and order[index - 1] in members:
        index -= 1
        run.append(order[index])
    position = dict((key, number) for number, key in enumerate(reversed(run)) if key not in uncertain)
    best, start = (0, 0), 0
    for number, key in enumerate(block):
        if key not in position:
            start = number + 1
            continue
        if number > start and position[key] < position[block[number - 1]]:
            start = number
        if number + 1 - start > best[1] - best[0]:
            best = (start, number + 1)
    return best


def with_current_ids(records, current):
    """``records`` with the ``.id`` each has in ``current`` (``None`` for one not there yet)."""
    ids = dict((record.key, record.device_id) for record in current)
    return [dataclasses.replace(record, device_id=ids.get(record.key)) for record in records]


def _moved(order, moving, anchor):
    leaving = set(moving)
    rest = [key for key in order if key not in leaving]
    index = rest.index(anchor) if anchor is not None else len(rest)
    return rest[:index] + list(moving) + rest[index:]
