# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hooks: the executables of a directory, run on every transition and renumbering of a WAN.

After each apply the agent runs every hook once per event, with the event's facts in its environment:

==============  ==============================================================================
EVENT           ``state`` (the WAN family went up or down), ``addresses`` or ``gateway`` (changed)
WAN, FAMILY     the WAN's name, ``ipv4`` or ``ipv6``
DEVICE, MARK    the WAN's interface and its mark (``0x200``)
OLD_STATE       the state before (``up``/``down``); for an ``addresses``/``gateway`` event, the state
NEW_STATE       the state after
REASON, DETAIL  why (``probes``, ``carrier``, ``address``, ``gateway``, ``loss``, ``latency``, ``recovered``;
                ``renumbered`` for a change of facts) and the words the journal shows
OLD_VALUE       for ``addresses``/``gateway``: what it was (addresses separated by blanks)
NEW_VALUE       ... and what it is now
ADDRESSES       the family's usable addresses now, ``address/prefixlen`` separated by blanks
ADDRESS         the one the WAN routes from (the first), or empty
GATEWAY, PEER   the gateway in use (configured or learned) and a point-to-point peer, or empty
APPLIED         ``ok`` when the routes of this moment are in place, ``failed`` when the apply failed
==============  ==============================================================================

Which files run: those whose names are letters, digits, ``_`` and ``-`` only (``run-parts(8)``'s rule, so
``.dpkg-old``, ``~`` backups and ``README.md`` never run), regular and executable, in name order. Each runs as
a child process of its own session, its output going to the agent's (the journal); the agent never waits for
one: a hook's end is seen when its pidfd becomes readable in the agent's ``selectors`` loop, where it is
reaped. A hook still running after ``timeout`` seconds is killed with its whole process group. One hook runs
one event at a time, in order (a hook never sees ``up`` before the ``down`` that came first); different hooks
run side by side. A hook that fails, is killed or cannot be started is logged and counted; the agent goes on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging
import os
import re
import selectors
import signal
import subprocess
from collections import deque

from ansible_collections.multiwan.pbr.plugins.module_utils.agent.applier import FactChange
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import Transition

log = logging.getLogger("multiwan_pbr.agent")
HOOK_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
QUEUE_LIMIT = 64            # events waiting for one hook; beyond it the oldest are dropped (and logged)
FACT_EVENTS = ("addresses", "gateway")


def hook_events(changes, view, applied):
    """The environment of each event in ``changes`` (transitions, and changed addresses or gateways)."""
    wans = dict((wan.name, wan) for wan in view.wans)
    events = []
    for change in changes:
        wan = wans.get(change.wan)
        if wan is None:
            continue
        if isinstance(change, Transition):
            event = {"EVENT": "state", "OLD_STATE": change.old, "NEW_STATE": change.new, "REASON": change.reason,
                     "DETAIL": change.detail}
        elif isinstance(change, FactChange) and change.fact in FACT_EVENTS:
            state = "up" if change.family in wan.up else "down"
            event = {"EVENT": change.fact, "OLD_STATE": state, "NEW_STATE": state, "REASON": "renumbered",
                     "DETAIL": "%s %s: %s -> %s" % (change.family, change.fact, _shown(change.old), _shown(change.new)),
                     "OLD_VALUE": _shown(change.old), "NEW_VALUE": _shown(change.new)}
        else:
            continue
        events.append(dict(event, **_facts(wan, change.family, applied)))
    return events


def _facts(wan, family, applied):
    addresses = wan.addresses_of(family)
    return {"WAN": wan.name, "FAMILY": family, "DEVICE": wan.device, "MARK": "0x%x" % wan.mark,
            "ADDRESSES": " ".join(addresses), "ADDRESS": addresses[0].split("/")[0] if addresses else "",
            "GATEWAY": wan.gateway_of(family) or "", "PEER": wan.peer_of(family) or "",
            "APPLIED": "ok" if applied else "failed"}


def _shown(value):
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, (tuple, list)) else str(value)


def hook_paths(directory):
    """The hooks of ``directory`` in name order (none when it is missing)."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return []
    return [entry.path for entry in entries if HOOK_NAME.match(entry.name) and entry.is_file()
            and os.access(entry.path, os.X_OK)]


class _Run(object):
    """One hook process: its ``Popen``, its pidfd (None where the kernel has none) and its deadline."""

    def __init__(self, path, event, process, pidfd, deadline):
        self.path, self.event, self.process, self.pidfd, self.deadline = path, event, process, pidfd, deadline
        self.killed = False

    def fileno(self):
        return self.pidfd

    def describe(self):
        return "%s (%s %s %s)" % (self.path, self.event.get("WAN"), self.event.get("FAMILY"), _what(self.event))


def _what(event):
    if event.get("EVENT") == "state":
        return "%s -> %s" % (event.get("OLD_STATE"), event.get("NEW_STATE"))
    return "%s %s" % (event.get("EVENT"), event.get("NEW_VALUE"))


class HookRunner(object):
    """Runs hooks for events without ever waiting for one; the loop passes its clock to every method."""

    def __init__(self, selector, directory=None, timeout=10.0):
        self.selector, self.directory, self.timeout = selector, directory, timeout
        self.queues = {}            # hook path -> deque of events not started yet
        self.running = {}           # hook path -> _Run
        self.counters = {"run": 0, "failed": 0, "killed": 0}

    def configure(self, directory, timeout):
        self.directory, self.timeout = directory, timeout

    def submit(self, events, now):
        """Queue every event for every hook in the directory; start what can start."""
        if not events or not self.directory:
            return
        for path in hook_paths(self.directory):
            queue = self.queues.setdefault(path, deque())
            queue.extend(events)
            while len(queue) > QUEUE_LIMIT:
                dropped = queue.popleft()
                log.warning("hook %s is %d events behind: dropped %s %s %s", path, QUEUE_LIMIT,
                            dropped.get("WAN"), dropped.get("FAMILY"), _what(dropped))
            self._start_next(path, now)

    def on_ready(self, run, now):
        """A hook's pidfd is readable (the selector hands back the ``_Run`` registered with it): it ended."""
        if self.running.get(run.path) is run:
            self._reap(run, now)

    def on_time(self, now):
        """Kill hooks past their deadline; reap those the kernel gave no pidfd for."""
        for run in list(self.running.values()):
            if run.pidfd is None and run.process.poll() is not None:
                self._reap(run, now)
            elif now >= run.deadline and not run.killed:
                self._kill(run)

    def next_deadline(self):
        deadlines = [run.deadline for run in self.running.values() if not run.killed]
        return min(deadlines) if deadlines else None

    def close(self):
        """Kill what still runs and reap it (the agent is stopping)."""
        for run in list(self.running.values()):
            self._kill(run)
            run.process.wait()
            self._forget(run)
        self.queues.clear()

    # -- one hook

    def _start_next(self, path, now):
        queue = self.queues.get(path)
        while path not in self.running and queue:
            event = queue.popleft()
            try:
                process = subprocess.Popen([path], env=dict(os.environ, **event), stdin=subprocess.DEVNULL,
                                           close_fds=True, start_new_session=True, cwd="/")
            except OSError as error:
                self.counters["failed"] += 1
                log.error("hook %s could not start: %s", path, error)
                continue
            self.counters["run"] += 1
            run = _Run(path, event, process, _pidfd(process.pid), now + self.timeout)
            self.running[path] = run
            if run.pidfd is not None:
                self.selector.register(run, selectors.EVENT_READ, self)

    def _kill(self, run):
        run.killed = True
        try:
            os.killpg(run.process.pid, signal.SIGKILL)     # its own session: the hook and all it started
        except OSError:
            pass

    def _reap(self, run, now):
        code = run.process.wait()
        self._forget(run)
        if run.killed:
            self.counters["killed"] += 1
            self.counters["failed"] += 1
            log.error("hook %s was killed after %g s", run.describe(), self.timeout)
        elif code != 0:
            self.counters["failed"] += 1
            log.warning("hook %s exited %d", run.describe(), code)
        self._start_next(run.path, now)

    def _forget(self, run):
        del self.running[run.path]
        if run.pidfd is not None:
            self.selector.unregister(run)
            os.close(run.pidfd)


def _pidfd(pid):
    """A pidfd for ``pid`` (readable once it exits), or None on a kernel without pidfd_open (before 5.3)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
