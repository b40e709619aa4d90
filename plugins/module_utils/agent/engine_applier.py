# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The applier that changes the router: the modules' own engine and runner, the agent's own tag.

``apply(view, changed)``:

1. ``linux.failover.runtime_tables`` turns "these WANs are up, with these gateways" into
   ``pbr_table`` config entries: table main's balance and every policy table's default;
2. the ``pbr_table`` engine plans them against the device (``state=overridden`` with the agent's
   tag, so only the agent's own routes are ever changed), and the ``iproute2`` runner applies
   the plan as one ``ip -batch`` per family (``ip route replace``: a route is swapped, never
   missing); a refused command is undone and verified like any module run (``core.resource``);
3. connections marked for a WAN that went down are deleted from conntrack, by that WAN's mark
   only and only when another WAN of the family is up to take them (never a global flush); on
   failback nothing is deleted, so established connections stay where they are.

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
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import run_resource
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import failover, pbr_table
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables_file import TablesFileRunner

log = logging.getLogger("multiwan_pbr.agent")
# The agent names no table: an empty names file of its own keeps pbr_table's file handling away
# from the modules' file (every line of the file pbr_table is given is its own).
AGENT_TABLES_FILE = "/etc/iproute2/rt_tables.d/multiwan_pbr_agent.conf"
# runtime_tables builds canonical entries from a routing document the agent checked when it
# loaded it; the option-spec check needs ansible-core, which the router does not have.
ENGINE = dataclasses.replace(pbr_table.ENGINE, config_spec=None)
CONNTRACK_FAMILY = {"ipv4": "ipv4", "ipv6": "ipv6"}


class EngineApplier(object):
    """Applies the failover routes for a ``RouterView``; ``last_commands`` says what the last apply ran."""

    def __init__(self, routing, host=None, lock_path=hostlock.DEFAULT_LOCK_PATH, lock_timeout=2.0):
        self.routing = routing
        self.host = host or Host()
        self.lock_path, self.lock_timeout = lock_path, lock_timeout
        self.last_commands = []

    def configure(self, config):
        """A reloaded configuration: its routing is used from the next apply on."""
        self.routing = config.routing

    def apply(self, view, changed):
        tables = failover.runtime_tables(self.routing, view.up_by_family, gateways_in_use(view))
        params = {"state": "overridden", "config": tables, "running_config": None,
                  "protocol": str(self.routing["protocol"]), "tables_file": AGENT_TABLES_FILE}
        hostlock.hold_host_lock(self.lock_path, timeout=self.lock_timeout)
        try:
            runner = TablesFileRunner(self.host, pbr_table.SHOW_COMMANDS, AGENT_TABLES_FILE,
                                      files=pbr_table.DUMP_FILES, directories=pbr_table.DUMP_DIRECTORIES,
                                      writes=False)
            result = run_resource(ENGINE, runner, params)
        finally:
            hostlock.release_host_lock(self.lock_path)
        self.last_commands = result.get("commands", [])
        for command in self.last_commands:
            log.info("applied: %s", command)
        for mark, family in connections_to_move(self.routing, view, changed):
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


def gateways_in_use(view):
    """``{wan: {family: gateway}}`` the agent knows (configured or learned), for ``runtime_tables``."""
    return dict((wan.name, dict((family, gateway) for family, gateway in wan.gateways if gateway))
                for wan in view.wans)


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
