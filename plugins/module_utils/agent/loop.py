# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's thin shell: one ``selectors`` loop over the probe sockets, the netlink socket and a timer.

::

    netlink records --fold--> uplinks.KernelView --kernel_checks--+
    probe answers  ---------> probes.Prober --due-----------------+--> tracker.step --> transitions
    timer          ---------> send_round / Tick ------------------+                        |
                                                                  applier.apply(view, changes) <--+
                                                                  status file, log lines

Each pass waits until the next timer (a round to send, a round to judge, a hold to expire, the
status to write, a hook's deadline) or a socket event (netlink, probe answers, a hook's end, a metrics
client), handles what is ready, then calls the applier if the view changed. Nothing blocks but ``select``
and the applier. After each apply the hooks of the transitions and renumberings it covered are started
(``hooks``); the status file, and the metrics file when configured (``metrics``), are written on every
change and every ``status.PERIOD``.

Signals: SIGHUP reloads the configuration file. A file that does not load or check is refused (the
error is logged) and the running configuration stays. WANs whose configuration is unchanged keep
their tracker state and probers untouched; a changed WAN keeps its verdict and flap memory and starts
its probe windows again; a removed WAN is forgotten. SIGTERM and SIGINT stop the loop.

Every transition is logged as one line with its reason, for the journal:
``wan2 ipv4 up -> down: probes (fewer than 1 of 2 targets answered 9 rounds in a row)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import logging
import math
import os
import selectors
import signal
import socket
import time

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import config as agent_config
from ansible_collections.multiwan.pbr.plugins.module_utils.agent import metrics, netlink, status, tracker, uplinks
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.applier import (
    RETRY_SECONDS, FactChange, RouterView, WanView)
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.hooks import HookRunner, hook_events
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.probes import ProbePlan, Prober

log = logging.getLogger("multiwan_pbr.agent")
MAX_WAIT = 1.0          # seconds: the loop looks at its timers at least this often
DUMP_STALLED = 10.0     # seconds: a netlink dump that has not finished by then is started again
_NETLINK, _SIGNALS = "netlink", "signals"


class _Family:
    """One WAN family at run time: its tracker, its prober and what the kernel last said."""

    def __init__(self, settings, health, prober=None, next_send=None):
        self.settings, self.health, self.prober, self.next_send = settings, health, prober, next_send
        self.checks = {}            # check name -> the tracker.KernelSays last fed
        self.facts = None           # uplinks.WanFacts


class _Wan:
    def __init__(self, wan_config, families):
        self.config, self.families = wan_config, families


class Agent:
    """The loop. ``config_path`` is read again on SIGHUP; ``clock`` is monotonic, ``wall`` epoch seconds."""

    def __init__(self, config_path, loaded, applier, status_file=None, clock=time.monotonic, wall=time.time):
        self.config_path, self.config, self.applier = config_path, loaded, applier
        self.applier.configure(loaded)
        self._status_file_given = status_file is not None
        self.status_file = status_file or loaded.status_file
        self.clock, self.wall = clock, wall
        self.selector = selectors.DefaultSelector()
        self.netlink = None
        self.kernel, self._dumped_kernel = uplinks.KernelView(), uplinks.KernelView()
        self.kernel_ready = False
        self._dump_started = self._started = clock()
        self.wans = {}
        self.changes, self.applied_view = [], None
        self._view_dirty, self._retry_at = True, 0.0
        self._status_due, self._next_status = True, 0.0
        self._stop = self._reload = False
        self._identifiers = itertools.count(os.getpid())
        self._wakeup = None
        self._saved_signals = {}
        self.hooks = HookRunner(self.selector, loaded.hooks_directory, loaded.hook_timeout)
        self.hook_changes = []          # transitions and renumberings whose hooks run after the next apply
        self.metrics_server, self._metrics_listen = None, None
        self.apply_stats = {"ok": None, "at": None, "applies": 0, "failures": 0}

    # -- life cycle

    def open(self):
        """Sockets, signal handlers and the first netlink dump; then ``iterate`` until ``stop``."""
        now = self.clock()
        self.prepare(now)
        self.netlink = netlink.RtNetlink()
        self.selector.register(self.netlink, selectors.EVENT_READ, _NETLINK)
        self.netlink.request_dumps()
        self._dump_started = now
        self._catch_signals()
        self._serve_metrics()
        log.info("started: %d WAN(s) from %s", len(self.wans), self.config_path)

    def prepare(self, now):
        """A tracker (and, for a probed WAN, a prober) for every family of every configured WAN."""
        self.wans = dict((wan.name, self._build_wan(wan, now, None)) for wan in self.config.wans)

    def run(self):
        self.open()
        try:
            while not self._stop:
                self.iterate()
        finally:
            self.close()
        log.info("stopped")

    def stop(self, *_signal):
        self._stop = True

    def request_reload(self, *_signal):
        self._reload = True

    def close(self):
        for wan in self.wans.values():
            self._close_wan(wan)
        self.hooks.close()
        if self.metrics_server:
            self.metrics_server.close()
        for number, handler in self._saved_signals.items():
            signal.signal(number, handler)
        if self._wakeup:
            signal.set_wakeup_fd(-1)
            for end in self._wakeup:
                end.close()
        if self.netlink:
            self.selector.unregister(self.netlink)
            self.netlink.close()
        self.selector.close()

    def iterate(self):
        """One pass: wait for the next timer or event, handle it, apply and write what changed."""
        now = self.clock()
        for key, _events in self.selector.select(max(0.0, self._next_timer(now) - now)):
            self._dispatch(key, self.clock())
        if self._reload:
            self._reload = False
            self.reload()
        now = self.clock()
        self._on_time(now)
        self.flush(now)

    # -- configuration

    def reload(self):
        """Read the configuration file again; keep the running one if the new one is refused."""
        try:
            loaded = agent_config.load(self.config_path)
        except (agent_config.ConfigError, OSError) as error:
            log.error("reload refused, the running configuration stays: %s", error)
            return
        now, previous, self.wans, outcome = self.clock(), self.wans, {}, {"kept": [], "changed": [], "added": []}
        for wan in loaded.wans:
            old = previous.pop(wan.name, None)
            if old is not None and old.config == wan:
                self.wans[wan.name] = old
                outcome["kept"].append(wan.name)
                continue
            if old is not None:
                self._close_wan(old)
            self.wans[wan.name] = self._build_wan(wan, now, old)
            outcome["changed" if old else "added"].append(wan.name)
        for gone in previous.values():
            self._close_wan(gone)
        self.config, self._view_dirty, self._status_due = loaded, True, True
        # the routing may have changed with the WANs unchanged: apply again whatever the view
        self.applier.configure(loaded)
        self.hooks.configure(loaded.hooks_directory, loaded.hook_timeout)
        self._serve_metrics()
        self.applied_view = None
        if not self._status_file_given:
            self.status_file = loaded.status_file
        if self.kernel_ready:
            self._recheck(now)
        log.info("reloaded %s: kept [%s], changed [%s], added [%s], removed [%s]", self.config_path,
                 *[",".join(outcome[key]) for key in ("kept", "changed", "added")], ",".join(previous))

    def _build_wan(self, wan, now, old):
        families = {}
        for family in wan.families:
            settings = agent_config.tracker_settings(wan, family)
            if old is not None and family in old.families:
                health = tracker.carried_over(settings, old.families[family].health)
            else:
                health = tracker.initial(settings, now)
            families[family] = _Family(settings, health)
            if wan.track:
                plan = ProbePlan(device=wan.device, mark=wan.mark, family=family, targets=wan.track.targets_of(family),
                                 method=wan.track.method, port=wan.track.port, interval=wan.track.interval,
                                 timeout=wan.track.timeout)
                families[family].prober = Prober(plan, self.selector, next(self._identifiers))
                # Probers with the same interval send in the same pass and their answers arrive together:
                # one wakeup per round for every WAN instead of one per WAN (a few dozen small packets).
                families[family].next_send = self._round_start(now, plan.interval)
        return _Wan(wan, families)

    def _serve_metrics(self):
        """Listen where the configuration says (again after a reload that moved it); a refused bind is logged."""
        wanted = self.config.metrics_listen
        if wanted == self._metrics_listen:
            return
        if self.metrics_server:
            self.metrics_server.close()
            self.metrics_server = None
        self._metrics_listen = wanted
        if wanted is None:
            return
        try:
            self.metrics_server = metrics.MetricsServer(self.selector, wanted[0], wanted[1], self.metrics_text)
        except OSError as error:
            log.error("cannot serve metrics on %s port %d: %s", wanted[0], wanted[1], error)

    def _round_start(self, now, interval):
        """The next multiple of ``interval`` since the agent started: every prober of that interval shares it."""
        return self._started + math.ceil((now - self._started) / interval) * interval

    def _close_wan(self, wan):
        for family in wan.families.values():
            if family.prober:
                family.prober.close()

    # -- events

    def _dispatch(self, key, now):
        if key.data == _NETLINK:
            self._on_netlink(now)
        elif key.data == _SIGNALS:
            try:
                while key.fileobj.recv(64):
                    pass
            except BlockingIOError:
                pass
        else:
            key.data.on_ready(key.fileobj, now)

    def _on_netlink(self, now):
        self.take_netlink(self.netlink.read(), now, self.netlink.dumping)

    def take_netlink(self, records, now, dumping):
        """Fold netlink records in; ``dumping``: whether a dump is still running after them."""
        for record in records:
            if isinstance(record, netlink.Overrun):
                log.warning("netlink events were lost (receive buffer full); dumping everything again")
                self._dumped_kernel, self._dump_started = uplinks.KernelView(), now
            elif isinstance(record, netlink.DumpFailed):
                log.warning("a netlink dump failed: %s", os.strerror(record.error))
            if self._dumped_kernel is not None:
                self._dumped_kernel = uplinks.fold(self._dumped_kernel, record)
            else:
                self.kernel = uplinks.fold(self.kernel, record)
        if self._dumped_kernel is not None and not dumping:
            self.kernel, self._dumped_kernel = self._dumped_kernel, None
            self.kernel_ready = True
        if records and self._dumped_kernel is None:
            self._recheck(now)

    def _recheck(self, now):
        """Read every WAN's facts off the kernel view; feed the checks that changed to the trackers."""
        for wan in self.wans.values():
            for family_name, family in wan.families.items():
                facts = uplinks.wan_facts(self.kernel, wan.config.device, family_name, wan.config.gateway(family_name),
                                          self.config.owned_protocols)
                if facts != family.facts:
                    self._facts_changed(wan, family, facts)
                for check in uplinks.kernel_checks(facts):
                    if family.checks.get(check.check) != check:
                        family.checks[check.check] = check
                        self._observe(family, check, now)

    def _facts_changed(self, wan, family, facts):
        old, family.facts = family.facts, facts
        self._view_dirty = self._status_due = True
        if old is None:
            return
        for fact, before, after in (("addresses", old.addresses, facts.addresses),
                                    ("gateway", old.gateway, facts.gateway), ("ifindex", old.index, facts.index),
                                    ("link", uplinks.link_state(old), uplinks.link_state(facts))):
            if before != after:
                change = FactChange(wan.config.name, facts.family, fact, before, after)
                self.changes.append(change)
                self.hook_changes.append(change)
                log.info("%s %s %s: %s -> %s", wan.config.name, facts.family, fact, before, after)
        if old.index != facts.index and family.prober:
            family.prober.rebind()

    def _observe(self, family, observation, now):
        family.health, transitions = tracker.step(family.settings, family.health, observation, now)
        for transition in transitions:
            log.info("%s %s %s -> %s: %s (%s)", transition.wan, transition.family, transition.old, transition.new,
                     transition.reason, transition.detail)
            self.changes.append(transition)
            self.hook_changes.append(transition)
            self._view_dirty = self._status_due = True

    # -- timers

    def _on_time(self, now):
        if self._dumped_kernel is not None and now - self._dump_started > DUMP_STALLED:
            log.warning("the netlink dump stalled for %g s; starting it again", DUMP_STALLED)
            self.netlink.resync()
            self._dumped_kernel, self._dump_started = uplinks.KernelView(), now
        for wan in self.wans.values():
            for family in wan.families.values():
                self._probe(family, now)
                wakeup = tracker.next_wakeup(family.settings, family.health)
                if wakeup is not None and wakeup <= now:
                    self._observe(family, tracker.Tick(), now)
        self.hooks.on_time(now)
        if self.metrics_server:
            self.metrics_server.on_time(now)

    def _probe(self, family, now):
        prober = family.prober
        if prober is None:
            return
        if family.next_send <= now:
            prober.send_round(now)
            family.next_send += prober.plan.interval
            if family.next_send <= now:     # a late pass skips rounds rather than sending a burst
                family.next_send = self._round_start(now, prober.plan.interval)
        for observation in prober.due(now):
            self._observe(family, observation, now)

    def _next_timer(self, now):
        moments = [now + MAX_WAIT, self._next_status]
        if self._view_dirty and self.kernel_ready:
            moments.append(self._retry_at)
        for wan in self.wans.values():
            for family in wan.families.values():
                if family.prober:
                    moments.append(family.next_send)
                    moments.append(family.prober.next_deadline() or family.next_send)
                wakeup = tracker.next_wakeup(family.settings, family.health)
                if wakeup is not None:
                    moments.append(wakeup)
        for part in (self.hooks, self.metrics_server):
            deadline = part.next_deadline() if part else None
            if deadline is not None:
                moments.append(deadline)
        return min(moments)

    # -- output

    def flush(self, now):
        """Call the applier if the view changed (and no retry is pending); write the status when due."""
        if self.kernel_ready and self._view_dirty and now >= self._retry_at:
            self._apply(now)
        if self._status_due or now >= self._next_status:
            self._write_status(now)

    def _apply(self, now):
        view = self.view()
        if view == self.applied_view and not self.changes:
            self._view_dirty = False
            return
        self.apply_stats.update(at=self.wall(), applies=self.apply_stats["applies"] + 1)
        try:
            self.applier.apply(view, tuple(self.changes))
        # whatever the applier raises: log it, retry later, keep probing
        except Exception as error:      # pylint: disable=broad-except
            log.error("apply failed, retrying in %g s: %s: %s", RETRY_SECONDS, type(error).__name__, error)
            self._retry_at = now + RETRY_SECONDS
            self.apply_stats.update(ok=False, failures=self.apply_stats["failures"] + 1)
            self._run_hooks(view, now, applied=False)
            return
        self.apply_stats["ok"] = True
        self.applied_view, self.changes, self._view_dirty = view, [], False
        self._run_hooks(view, now, applied=True)

    def _run_hooks(self, view, now, applied):
        """The hooks of what happened since the last apply (each change once, even when the apply is retried)."""
        changes, self.hook_changes = self.hook_changes, []
        self.hooks.submit(hook_events(changes, view, applied), now)

    def view(self):
        """The ``applier.RouterView`` of this moment."""
        wans = []
        for wan in self.wans.values():
            families = wan.families
            wans.append(WanView(
                name=wan.config.name, device=wan.config.device, mark=wan.config.mark, families=wan.config.families,
                up=tuple(name for name, family in families.items() if family.health.state == tracker.UP),
                addresses=tuple((name, family.facts.addresses if family.facts else ()) for name, family in families.items()),
                gateways=tuple((name, family.facts.gateway if family.facts else wan.config.gateway(name))
                               for name, family in families.items()),
                peers=tuple((name, family.facts.peer if family.facts else None) for name, family in families.items())))
        return RouterView(tuple(wans))

    def status(self):
        """The status document of this moment. The two clocks are read together: ``since`` (monotonic) becomes wall
        time by their difference, which a moment taken before a slow apply would shift by the apply's duration."""
        now, wall_now = self.clock(), self.wall()
        entries = []
        for wan in self.wans.values():
            families = [self._family_status(family, now, wall_now) for family in wan.families.values()]
            entries.append(status.wan_status(wan.config.name, wan.config.device, families))
        applied = dict(self.apply_stats, at=status.iso(self.apply_stats["at"]) if self.apply_stats["at"] else None)
        return dict(status.document(entries, wall_now), apply=applied, hooks=dict(self.hooks.counters))

    def metrics_text(self):
        """The metrics of this moment (``metrics.render`` of the status document)."""
        return metrics.render(self.status())

    def _family_status(self, family, now, wall_now):
        prober = family.prober
        counters = {"sent": prober.sent, "answered": prober.answered} if prober else None
        if prober and prober.last_error:
            counters["last_error"] = prober.last_error
        return status.family_status(family.settings, family.health, targets=prober.plan.targets if prober else (),
                                    counters=counters, facts=family.facts,
                                    to_wall=lambda moment: wall_now - (now - moment))

    def _write_status(self, now):
        self._status_due, self._next_status = False, now + status.PERIOD
        document = self.status()
        try:
            status.write_atomically(self.status_file, document)
        except OSError as error:
            log.error("cannot write the status to %s: %s", self.status_file, error)
        if self.config.metrics_textfile:
            try:
                metrics.write_textfile(self.config.metrics_textfile, metrics.render(document))
            except OSError as error:
                log.error("cannot write the metrics to %s: %s", self.config.metrics_textfile, error)

    # -- signals

    def _catch_signals(self):
        # A signal's handler only sets a flag; the byte the wakeup fd receives makes select return.
        self._wakeup = socket.socketpair()
        for end in self._wakeup:
            end.setblocking(False)
        self.selector.register(self._wakeup[0], selectors.EVENT_READ, _SIGNALS)
        signal.set_wakeup_fd(self._wakeup[1].fileno())
        for number, handler in ((signal.SIGHUP, self.request_reload), (signal.SIGTERM, self.stop),
                                (signal.SIGINT, self.stop)):
            self._saved_signals[number] = signal.signal(number, handler)
