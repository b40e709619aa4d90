# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WAN health as a pure function: ``step(settings, health, observation, now) -> (health, transitions)``.

One tracker per WAN and family. The loop feeds it observations and a monotonic ``now``; it never
reads a clock, a socket or a file, so hysteresis, quorum and the loss window are table tests.

Observations
    ``Round``       one probe round: per target its RTT in seconds, or ``None`` when no answer came
                    within ``timeout``.
    ``LateAnswer``  an answer that came after its round was judged: the path is slow, not dead.
    ``KernelSays``  a netlink fact about the link, the family's address or the gateway's neighbour
                    entry, ok or failing, with the reason a failure is reported under; a failure with a
                    ``grace`` counts only once it has lasted that long (a missing address or learned
                    gateway while a DHCP client renumbers the WAN).
    ``Tick``        time passed (the loop sends one when ``next_wakeup`` says a hold expires).

Verdicts
    down, at once    a kernel check fails: link absent, disabled or without carrier (``carrier``), no
                     address of the family (``address``), gateway neighbour FAILED or no gateway learned
                     (``gateway``) -- the address and the learned gateway after their grace.
    down, probes     ``down`` rounds in a row in which fewer than ``reliability`` targets answered in
                     time (``probes``) -- unless late answers from ``reliability`` targets arrived during
                     that run; or, once the window is full, fewer than ``reliability`` targets with loss
                     <= ``loss_percent`` (``loss``) and median RTT <= ``latency_ms`` (``latency``).
    up               nothing above for ``hold`` seconds -- doubled for each flap, at most ``hold_max``
                     -- and, when probed, the last ``up`` rounds each had their quorum.

A WAN without ``track`` has no rounds: only the kernel checks and the hold judge it.

Defaults and why (``config.TRACK_DEFAULTS``; issue 12 sets the goals: a dead upstream behind a live gateway rerouted
in <= 3 s median, carrier loss <= 1 s, zero false failovers under 10 % random loss, bounded flapping)

* Carrier, address and gateway failures act on the netlink event itself: no round is waited for.
* A dead upstream is found when the ``down``-th silent round's timeout expires. The fault falls at a
  uniformly random point of a round, so the median detection time is
  ``timeout + (down - 1) * interval + interval / 2`` = 0.8 + (down - 1) * 0.2 + 0.1 s.
* ``down`` defaults to the fewest rounds (at least 3) that keep false failovers under
  ``FALSE_DOWNS_PER_DAY`` = 1e-3 (one in almost three years) when every probe is lost independently
  with probability ``DESIGN_LOSS`` = 0.10. A round fails with probability ``q`` = P(fewer than
  ``reliability`` of the ``k`` targets answer); a run of ``n`` failed rounds starts on a given round with
  probability ``(1 - q) * q**n``, and there are 86400 / 0.2 = 432,000 rounds a day::

      k  reliability  q       down  median detection  false downs / day at 10 %   at 19 % (10 % each way)
      1  1            0.1     9     2.5 s             432000*0.9*0.1**9  = 3.9e-4  0.11
      2  1            0.01    5     1.7 s             432000*0.99*0.01**5 = 4.3e-5  0.026
      3  1            0.001   3     1.3 s             4.3e-4                       0.14
      3  2            0.028   6     1.9 s             2.0e-4                       0.28
      2  2            0.19    12    3.1 s             7.7e-4                       0.78

  More targets buy speed at the same false-alarm rate; a quorum of all targets is the slow choice.
  ``auto_down_rounds`` computes the column, so a changed ``interval`` keeps the same budget.
* ``timeout`` 0.8 s: the median detection time pays it once. An answer slower than that is lost for
  the statistics, but still proves the path alive (``LateAnswer``), so a bufferbloated link whose RTT
  climbs past the timeout is not taken down unless it stays silent for the whole run.
* The window (20 s = 100 rounds) judges partial loss: a target fails when more than 50 % of its
  probes were lost. At 10 % loss, P(Binomial(100, 0.1) > 50) = 6.3e-25, times 432,000 windows a day
  (a union bound) = 2.7e-19 false downs a day; at 19 % it is 3.0e-7. 40 % would give 0.14 a day at 19 %.
  The window remembers an outage too: after one longer than half the window, the WAN stays down until
  its loss is back under 50 % (up to 10 s of good rounds), and only then does the hold start.
* ``latency`` is off by default: a link is slow mostly because it is busy, and failing it over would
  move (and, for marked connections, delete) the traffic that makes it slow. RTTs beyond ``timeout``
  count as loss anyway.
* Up after ``up`` = 5 rounds with quorum and ``hold`` = 10 s without trouble. At 10 % loss and one
  target five good rounds in a row come with probability 0.9**5 = 0.59 per try: the hold dominates.
* Flapping is bounded by the hold doubling: a down less than ``hold_max`` after the last up is a flap,
  and the next up needs 10, 20, 40, 80, 160, then 300 s of calm. A link that flaps forever therefore
  makes at most one up/down cycle per 300 s once warmed up: 24 transitions an hour, and at most
  2 * (5 + (3600 - 310) / 300) = 32 in the first hour (``test_tracker_simulation`` checks both).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from dataclasses import dataclass, replace
from typing import Optional, Tuple

UP, DOWN = "up", "down"
DESIGN_LOSS = 0.10              # issue 12: "zero false failovers under 10 % random loss"
FALSE_DOWNS_PER_DAY = 1e-3      # the budget ``auto_down_rounds`` spends at DESIGN_LOSS
MIN_DOWN_ROUNDS = 3
SECONDS_PER_DAY = 86400.0
# When several checks fail at once, the transition names the most basic one.
REASON_ORDER = ("carrier", "address", "gateway", "probes", "loss", "latency")


@dataclass(frozen=True)
class ProbeJudgement:
    """How the rounds of one WAN family are judged (see the module docstring for the defaults)."""

    targets: int                # how many answers a round carries
    reliability: int            # targets that must answer
    window_rounds: int          # rounds in the loss/latency window
    loss_percent: float         # a target fails above this loss over a full window
    latency_ms: Optional[float]  # ... or above this median RTT; None: latency never fails a target
    down_rounds: int            # rounds in a row without quorum that take the WAN down
    up_rounds: int              # rounds in a row with quorum the WAN needs to come up


@dataclass(frozen=True)
class Settings:
    """One tracker's configuration: whose it is, how its probes are judged, and its hold."""

    wan: str
    family: str
    probes: Optional[ProbeJudgement]    # None: not probed, judged by the kernel checks alone
    hold: float = 10.0
    hold_max: float = 300.0


@dataclass(frozen=True)
class Round:
    """One probe per target, in the order of the targets: RTT in seconds or None (no answer in time)."""

    rtts: Tuple[Optional[float], ...]


@dataclass(frozen=True)
class LateAnswer:
    """Target number ``target`` answered a probe after its round had been judged."""

    target: int


@dataclass(frozen=True)
class KernelSays:
    """A netlink fact: ``check`` (link, address or gateway) is ``ok``, or fails with ``reason``."""

    check: str
    ok: bool
    reason: str = ""
    detail: str = ""
    grace: float = 0.0          # seconds the failure may last before it counts


@dataclass(frozen=True)
class Tick:
    """Time passed; nothing was observed."""


@dataclass(frozen=True)
class Trouble:
    """A reason the WAN family is (or would be) down right now."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Transition:
    """``wan``'s ``family`` went from ``old`` to ``new`` at ``at`` (the tracker's clock) because of ``reason``."""

    wan: str
    family: str
    old: str
    new: str
    reason: str
    detail: str
    at: float


@dataclass(frozen=True)
class Health:
    """Everything the tracker remembers about one WAN family."""

    state: str
    since: float
    reason: str
    detail: str
    kernel_troubles: Tuple[Tuple[str, Trouble], ...] = ()    # (check, trouble) for each failing check
    pending_troubles: Tuple[Tuple[str, Trouble, float], ...] = ()  # (check, trouble, counts from): in their grace
    probe_trouble: Optional[Trouble] = None
    bad_rounds: int = 0             # rounds in a row without quorum
    good_rounds: int = 0            # rounds in a row with quorum
    late_targets: Tuple[int, ...] = ()  # targets that answered late during the current bad run
    last_trouble: float = -math.inf  # the last moment any trouble held
    up_at: Optional[float] = None   # when the family last came up (None: never, or since start)
    flaps: int = 0
    windows: Tuple[Tuple[Optional[float], ...], ...] = ()  # per target, its last RTTs (None: lost)
    transitions: int = 0

    @property
    def troubles(self):
        """Every current trouble, the most basic first."""
        if not self.kernel_troubles:
            return [self.probe_trouble] if self.probe_trouble else []
        found = [trouble for _check, trouble in self.kernel_troubles]
        if self.probe_trouble:
            found.append(self.probe_trouble)
        return sorted(found, key=lambda trouble: REASON_ORDER.index(trouble.reason))


def initial(settings, now):
    """A new tracker: up until something says otherwise, so starting the agent moves no traffic."""
    windows = ((),) * settings.probes.targets if settings.probes else ()
    return Health(state=UP, since=now, reason="start", detail="agent started", windows=windows)


def carried_over(settings, health):
    """``health`` under new ``settings`` (a reload changed the WAN): the verdict, its reason and the flap
    memory stay; probe counts and windows start again for the new targets."""
    windows = ((),) * settings.probes.targets if settings.probes else ()
    return replace(health, probe_trouble=None, bad_rounds=0, good_rounds=0, late_targets=(), windows=windows)


def step(settings, health, observation, now):
    """Fold one observation into ``health``; return the new health and the transitions it caused."""
    if isinstance(observation, Round):
        health = _after_round(settings.probes, health, observation)
    elif isinstance(observation, LateAnswer):
        health = _after_late_answer(settings.probes, health, observation.target)
    elif isinstance(observation, KernelSays):
        health = _after_kernel(health, observation, now)
    return _judge(settings, health, now)


def next_wakeup(settings, health):
    """When the tracker wants a ``Tick`` (a grace or a hold expires), or None."""
    moments = [due for _check, _trouble, due in health.pending_troubles]
    if health.state == DOWN and not health.troubles:
        moments.append(health.last_trouble + required_hold(settings, health.flaps))
    return min(moments) if moments else None


def required_hold(settings, flaps):
    """Seconds of calm a down family needs: ``hold`` doubled for each flap after the first."""
    return min(settings.hold * 2 ** max(flaps - 1, 0), settings.hold_max)


def target_stats(window):
    """(loss percent, median RTT in ms or None) over one target's window."""
    if not window:
        return 0.0, None
    answered = sorted(rtt for rtt in window if rtt is not None)
    loss = 100.0 * (len(window) - len(answered)) / len(window)
    return loss, (answered[len(answered) // 2] * 1000.0 if answered else None)


def auto_down_rounds(targets, reliability, interval, loss=DESIGN_LOSS, budget=FALSE_DOWNS_PER_DAY):
    """The fewest rounds in a row without quorum that keep false downs under ``budget`` a day.

    ``loss`` is the independent per-probe loss the budget must survive (see the module docstring).
    """
    failed_round = round_failure_probability(targets, reliability, loss)
    rounds_per_day = SECONDS_PER_DAY / interval
    # runs of n failed rounds starting per day: rounds_per_day * (1 - q) * q**n <= budget
    needed = math.log(budget / (rounds_per_day * (1.0 - failed_round))) / math.log(failed_round)
    return max(MIN_DOWN_ROUNDS, int(math.ceil(needed)))


def round_failure_probability(targets, reliability, loss):
    """P(fewer than ``reliability`` of ``targets`` answer) when each probe is lost with ``loss``."""
    return sum(math.comb(targets, answered) * (1.0 - loss) ** answered * loss ** (targets - answered)
               for answered in range(reliability))


# -- folding observations in


def _after_round(judgement, health, observation):
    if judgement is None:
        return health
    windows = tuple((window + (rtt,))[-judgement.window_rounds:]
                    for window, rtt in zip(health.windows, observation.rtts))
    answered = len(observation.rtts) - observation.rtts.count(None)
    if answered >= judgement.reliability:
        counts = dict(bad_rounds=0, good_rounds=health.good_rounds + 1, late_targets=())
    else:
        counts = dict(bad_rounds=health.bad_rounds + 1, good_rounds=0, late_targets=health.late_targets)
    health = replace(health, windows=windows, **counts)
    trouble = _probe_trouble(judgement, health)
    return health if trouble == health.probe_trouble else replace(health, probe_trouble=trouble)


def _after_late_answer(judgement, health, target):
    if judgement is None or health.bad_rounds == 0 or target in health.late_targets:
        return health
    late = health.late_targets + (target,)
    if len(late) < judgement.reliability:
        return replace(health, late_targets=late)
    # The path answers, only slowly: the run of silent rounds is not a dead path.
    health = replace(health, bad_rounds=0, late_targets=())
    return replace(health, probe_trouble=_probe_trouble(judgement, health))


def _after_kernel(health, observation, now):
    others = tuple(item for item in health.kernel_troubles if item[0] != observation.check)
    pending = tuple(item for item in health.pending_troubles if item[0] != observation.check)
    if observation.ok:
        was_failing = len(others) != len(health.kernel_troubles)
        # the hold counts from the moment the failure ended; a failure still in its grace never counted
        last_trouble = now if was_failing else health.last_trouble
        return replace(health, kernel_troubles=others, pending_troubles=pending, last_trouble=last_trouble)
    trouble = Trouble(observation.reason, observation.detail)
    counted = len(others) != len(health.kernel_troubles)
    if observation.grace > 0 and not counted:
        due = next((item[2] for item in health.pending_troubles if item[0] == observation.check),
                   now + observation.grace)
        return replace(health, pending_troubles=pending + ((observation.check, trouble, due),))
    return replace(health, kernel_troubles=others + ((observation.check, trouble),), pending_troubles=pending)


def _counting_from(health, now):
    """``health`` with the failures whose grace is over counted as troubles."""
    due = tuple(item for item in health.pending_troubles if item[2] <= now)
    if not due:
        return health
    counted = tuple((check, trouble) for check, trouble, _due in due)
    return replace(health, kernel_troubles=health.kernel_troubles + counted,
                   pending_troubles=tuple(item for item in health.pending_troubles if item[2] > now))


def _probe_trouble(judgement, health):
    if health.bad_rounds >= judgement.down_rounds:
        return Trouble("probes", "fewer than %d of %d targets answered %d rounds in a row"
                       % (judgement.reliability, judgement.targets, health.bad_rounds))
    if any(len(window) < judgement.window_rounds for window in health.windows):
        return None
    return _window_trouble(judgement, health.windows)


def _window_trouble(judgement, windows):
    # loss first: it is a count, while latency needs a sort and is off by default
    losses = [100.0 * window.count(None) / len(window) for window in windows]
    lossy = [loss for loss in losses if loss > judgement.loss_percent]
    slow = []
    if judgement.latency_ms is not None:
        slow = [latency for (loss, latency) in map(target_stats, windows) if loss <= judgement.loss_percent
                and latency is not None and latency > judgement.latency_ms]
    if len(windows) - len(lossy) - len(slow) >= judgement.reliability:
        return None
    if len(lossy) >= len(slow):
        return Trouble("loss", "%d of %d targets lost more than %g %% of probes (worst %.0f %%)"
                       % (len(lossy), len(windows), judgement.loss_percent, max(lossy)))
    return Trouble("latency", "%d of %d targets answered slower than %g ms (median, worst %.0f ms)"
                   % (len(slow), len(windows), judgement.latency_ms, max(slow)))


# -- judging


def _judge(settings, health, now):
    health = _counting_from(health, now)
    troubles = health.troubles
    if troubles:
        if health.state == UP:
            return _went_down(settings, replace(health, last_trouble=now), troubles[0], now)
        # down already: the reason shown is why it is down now (admin down, then absent ...)
        return replace(health, last_trouble=now, reason=troubles[0].reason, detail=troubles[0].detail), ()
    if health.state == DOWN and _may_come_up(settings, health, now):
        return _went_up(settings, health, now)
    return health, ()


def _may_come_up(settings, health, now):
    calm = now - health.last_trouble
    if calm < required_hold(settings, health.flaps) or health.pending_troubles:
        return False
    return settings.probes is None or health.good_rounds >= settings.probes.up_rounds


def _went_down(settings, health, trouble, now):
    flapped = health.up_at is not None and now - health.up_at < settings.hold_max
    health = replace(health, state=DOWN, since=now, reason=trouble.reason, detail=trouble.detail,
                     flaps=health.flaps + 1 if flapped else 1, transitions=health.transitions + 1)
    return health, (Transition(settings.wan, settings.family, UP, DOWN, trouble.reason, trouble.detail, now),)


def _went_up(settings, health, now):
    detail = "no trouble for %g s" % required_hold(settings, health.flaps)
    health = replace(health, state=UP, since=now, reason="recovered", detail=detail, up_at=now,
                     transitions=health.transitions + 1)
    return health, (Transition(settings.wan, settings.family, DOWN, UP, "recovered", detail, now),)
