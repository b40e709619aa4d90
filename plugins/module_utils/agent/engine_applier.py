# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The applier that changes the router: the modules' own engines and runner, the agent's own tag.

``apply(view, changed)``:

1. ``linux.failover`` turns "these WANs are up, with these addresses and gateways" into ``pbr_table``
   entries (table main's balance, every policy table's default, the WAN tables of dynamic families)
   and ``pbr_rule`` entries (the ``from <WAN address>`` rules of dynamic families);
2. each engine plans its entries against one read of the device (``state=overridden`` with the agent's
   tag, so only the agent's own routes and rules are ever changed); the commands of both go to the
   ``iproute2`` runner as one ``ip -batch`` per family, routes before the rules that name their tables
   (``ip route replace``: a route is swapped, never missing); a refused command is undone and verified
   for both engines like any module run (``core.resource.restore``);
3. connections are deleted from conntrack by a WAN's mark only, never by a global flush: those of a WAN
   that went down when another WAN of the family is up to take them (on failback nothing is deleted, so
   established connections stay where they are), and those of a WAN family whose address changed to
   another one (renumbered: their source address is gone; masquerade gives new connections the new one).

The host lock (``core.hostlock``) is held only while applying, for at most ``lock_timeout``
seconds: a playbook run holding it makes this apply fail and the agent retry a few seconds later.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
import logging

from ansible_collections.multiwan.pbr.plugins.module_utils.agent.host import Host
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import Transition
from ansible_collections.multiwan.pbr.plugins.module_utils.core import hostlock
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import texts
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    converge_ops, normalise_all, owned, read_state, restore)
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import failover, pbr_rule, pbr_table
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables_file import TablesFileRunner

log = logging.getLogger("multiwan_pbr.agent")
# The agent names no table: an empty names file of its own keeps pbr_table's file handling away
# from the modules' file (every line of the file pbr_table is given is its own).
AGENT_TABLES_FILE = "/etc/iproute2/rt_tables.d/multiwan_pbr_agent.conf"
# linux.failover builds canonical entries from a routing document the agent checked when it
# loaded it; the option-spec check needs ansible-core, which the router does not have.
TABLE_ENGINE = dataclasses.replace(pbr_table.ENGINE, config_spec=None)
RULE_ENGINE = dataclasses.replace(pbr_rule.ENGINE, config_spec=None)
SHOW_COMMANDS = dict(pbr_table.SHOW_COMMANDS, **pbr_rule.SHOW_COMMANDS)
DUMP_FILES = dict(pbr_table.DUMP_FILES, **pbr_rule.FILES)
DUMP_DIRECTORIES = dict(pbr_table.DUMP_DIRECTORIES, **pbr_rule.DIRECTORIES)
# One batch per family: file edits (none for the agent's numbered tables), then IPv4, then IPv6.
BATCH_ORDER = {(): 0, ("-4",): 1, ("-6",): 2}
CONNTRACK_FAMILY = {"ipv4": "ipv4", "ipv6": "ipv6"}


class EngineApplier(object):
    """Applies the failover routes and rules for a ``RouterView``; ``last_commands`` says what the last apply ran."""

    def __init__(self, routing, host=None, lock_path=hostlock.DEFAULT_LOCK_PATH, lock_timeout=2.0):
        self.routing = routing
        self.host = host or Host()
        self.lock_path, self.lock_timeout = lock_path, lock_timeout
        self.last_commands = []
        self.applied_addresses = {}         # (wan, family) -> the address the last apply routed from

    def configure(self, config):
        """A reloaded configuration: its routing is used from the next apply on."""
        self.routing = config.routing

    def apply(self, view, changed):
        facts = uplink_facts(view)
        protocol = str(self.routing["protocol"])
        parts = [(TABLE_ENGINE, {"state": "overridden", "protocol": protocol, "tables_file": AGENT_TABLES_FILE,
                                 "config": failover.runtime_tables(self.routing, view.up_by_family, facts)}),
                 (RULE_ENGINE, {"state": "overridden", "protocol": protocol,
                                "config": failover.runtime_rules(self.routing, facts)})]
        hostlock.hold_host_lock(self.lock_path, timeout=self.lock_timeout)
        try:
            runner = TablesFileRunner(self.host, SHOW_COMMANDS, AGENT_TABLES_FILE, files=DUMP_FILES,
                                      directories=DUMP_DIRECTORIES, writes=False)
            self.last_commands = apply_together(runner, parts)
        finally:
            hostlock.release_host_lock(self.lock_path)
        for command in self.last_commands:
            log.info("applied: %s", command)
        moved = connections_to_move(self.routing, view, changed)
        moved += [move for move in renumbered(self.applied_addresses, view) if move not in moved]
        self.applied_addresses = addresses_in_use(self.applied_addresses, view)
        for mark, family in moved:
            self._delete_connections(mark, family)

    def _delete_connections(self, mark, family):
        conntrack = self.host.get_bin_path("conntrack")
        if conntrack is None:
            log.warning("conntrack is not installed: connections marked %s stay on their WAN", mark)
            return
        mask = self.routing.get("mask") or "0xffffffff"
        argv = [conntrack, "-D", "-f", CONNTRACK_FAMILY[family], "--mark", "%s/%s" % (mark, mask)]
        rc, out, err = self.host.run_command(argv, environ_update={"LC_ALL": "C"})
        # conntrack exits 1 when no entry matched, which is no failure here
        log.info("%s: %s", " ".join(argv[1:]), (err or out).strip().splitlines()[-1:] or "rc=%d" % rc)


def apply_together(runner, parts):
    """Plan each ``(engine, params)`` against one dump and apply every command in one batch per family.

    On a refused command, each engine's owned records are put back as they were (``core.resource``'s
    restore, verified by a read) and ``ApplyFailed`` says whether that held (``rollback_error``).
    Returns the commands' texts.
    """
    dump = runner.dump()
    planned = []
    for engine, params in parts:
        facts, current = read_state(engine, params, dump)
        ops = converge_ops(engine, normalise_all(engine, params, facts), current, params["state"], params)
        planned.append((engine, params, owned(current), engine.render(ops, params)))
    commands = sorted((command for _engine, _params, _before, rendered in planned for command in rendered),
                      key=lambda command: BATCH_ORDER.get(getattr(command, "options", ()), len(BATCH_ORDER)))
    if not commands:
        return []
    try:
        runner.apply(commands)
    except ApplyFailed as failure:
        errors = [restore(runner, engine, params, before) for engine, params, before, _rendered in planned]
        failure.rollback_error = "; ".join(error for error in errors if error) or None
        raise failure
    return texts(commands)


def uplink_facts(view):
    """``linux.failover``'s ``facts``: each WAN family's first usable address, its peer and the gateway in use."""
    return dict((wan.name, dict((family, {"address": (wan.addresses_of(family) or (None,))[0],
                                          "peer": wan.peer_of(family), "gateway": wan.gateway_of(family)})
                                for family in wan.families)) for wan in view.wans)


def connections_to_move(routing, view, changed):
    """``[(mark, family)]`` whose connections leave their WAN: it went down in ``changed``, is still down,
    and another WAN of the family is up."""
    marks = dict((wan.name, wan.mark) for wan in view.wans)
    up = view.up_by_family
    moves = []
    for change in changed:
        if not isinstance(change, Transition) or change.new != "down" or not marks.get(change.wan):
            continue
        if change.wan in (up.get(change.family) or ()) or not up.get(change.family):
            continue
        move = ("0x%x" % marks[change.wan], change.family)
        if move not in moves:
            moves.append(move)
    return moves


def renumbered(applied_addresses, view):
    """``[(mark, family)]`` of WAN families routed from an address the agent applied and now from another:
    their connections carry a source address the WAN no longer has."""
    moves = []
    for wan in view.wans:
        for family in wan.families:
            before, now = applied_addresses.get((wan.name, family)), (wan.addresses_of(family) or (None,))[0]
            if wan.mark and before and now and before != now:
                moves.append(("0x%x" % wan.mark, family))
    return moves


def addresses_in_use(applied_addresses, view):
    """``applied_addresses`` after an apply: a family without an address keeps its last one, so that a lease
    that comes back with another address still counts as a renumbering."""
    known = dict(applied_addresses)
    for wan in view.wans:
        for family in wan.families:
            address = (wan.addresses_of(family) or (None,))[0]
            if address:
                known[(wan.name, family)] = address
    return known
