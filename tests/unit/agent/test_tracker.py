"""The tracker as tables: observations on a fake clock in, transitions out. No sockets, no sleeps.

A round is written as one character per target: ``.`` answered (20 ms), ``x`` lost, ``s`` answered
slowly (900 ms). ``drive`` feeds rounds every ``INTERVAL`` seconds and returns the transitions as
``(round number, new state, reason)``.
"""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import tracker
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import (
    DOWN, UP, KernelSays, LateAnswer, ProbeJudgement, Round, Settings, Tick)

INTERVAL = 0.2
RTT = {".": 0.02, "x": None, "s": 0.9}


def settings(targets=1, reliability=1, window=10, loss=50.0, latency=None, down=3, up=2, hold=1.0, hold_max=8.0):
    judgement = ProbeJudgement(targets=targets, reliability=reliability, window_rounds=window, loss_percent=loss,
                               latency_ms=latency, down_rounds=down, up_rounds=up)
    return Settings("wan2", "ipv4", judgement, hold=hold, hold_max=hold_max)


def drive(rounds, config=None, health=None, start=0.0):
    """Feed ``rounds`` (a list of strings) one per INTERVAL; return (health, [(round, state, reason)])."""
    config = config or settings(targets=len(rounds[0]))
    health = health or tracker.initial(config, start)
    seen = []
    for number, marks in enumerate(rounds, 1):
        health, transitions = tracker.step(config, health, Round(tuple(RTT[mark] for mark in marks)),
                                           start + number * INTERVAL)
        seen += [(number, transition.new, transition.reason) for transition in transitions]
    return health, seen


def rounds_of(text):
    """'..x|x.' -> ['..x', 'x.']: per-round target marks separated by '|' (or a single target per character)."""
    return text.split("|") if "|" in text else list(text)


# -- going down on probes


@pytest.mark.parametrize("pattern, expected", [
    ("..........", []),                                    # all answered
    ("xx.xx.xx.xx.", []),                                  # never three silent rounds in a row (window: 100)
    ("...xxx", [(6, DOWN, "probes")]),                     # the third silent round
    ("xxx...", [(3, DOWN, "probes")]),                     # even right after the start
    (".x.x.x.x.x.x.x.x", []),                              # 50 % loss is not more than 50 %
])
def test_one_target_goes_down_after_down_silent_rounds_in_a_row(pattern, expected):
    assert drive(list(pattern), settings(window=100))[1] == expected


@pytest.mark.parametrize("pattern, expected", [
    ("x..|.x.|..x|x..|.x.", []),                          # one target lost per round: quorum 2 of 3 holds
    ("xx.|.xx|x.x", [(3, DOWN, "probes")]),               # only one answers: the quorum fails three times
    ("xx.|.xx|...|x.x|xx.", []),                          # a round with quorum breaks the run
    ("xxx|xxx|xxx", [(3, DOWN, "probes")]),
])
def test_quorum_counts_rounds_in_which_fewer_than_reliability_targets_answered(pattern, expected):
    config = settings(targets=3, reliability=2, window=100)
    assert drive(rounds_of(pattern), config)[1] == expected


def test_late_answers_from_a_quorum_cancel_the_silent_run():
    config = settings(targets=2, reliability=1, down=3)
    health, seen = drive(["xx", "xx"], config)
    health, transitions = tracker.step(config, health, LateAnswer(1), 0.5)
    assert transitions == () and health.bad_rounds == 0          # the path is slow, not dead
    health, seen = drive(["xx", "xx"], config, health, start=0.5)
    assert seen == []
    _health, seen = drive(["xx"], config, health, start=0.9)
    assert seen == [(1, DOWN, "probes")]


def test_a_late_answer_needs_a_quorum_of_late_targets():
    config = settings(targets=2, reliability=2, down=3)
    health, _seen = drive(["xx", "xx"], config)
    health, _transitions = tracker.step(config, health, LateAnswer(0), 0.5)
    health, _transitions = tracker.step(config, health, LateAnswer(0), 0.5)   # the same target twice
    assert health.bad_rounds == 2
    health, _transitions = tracker.step(config, health, LateAnswer(1), 0.5)
    assert health.bad_rounds == 0


def test_late_answers_outside_a_silent_run_change_nothing():
    config = settings()
    health, _seen = drive(["."], config)
    assert tracker.step(config, health, LateAnswer(0), 0.3)[0] == health


# -- the window


def test_loss_over_a_full_window_takes_it_down_without_a_silent_run():
    config = settings(window=10, loss=50.0, down=3)
    pattern = "xx.xx.xx.x"          # 7 of 10 lost, never three in a row
    health, seen = drive(list(pattern[:9]), config)
    assert seen == [] and health.probe_trouble is None              # the window is not full yet
    _health, seen = drive(list(pattern[9]), config, health, start=9 * INTERVAL)
    assert seen == [(1, DOWN, "loss")]


def test_loss_is_judged_per_target_with_the_quorum():
    config = settings(targets=2, reliability=1, window=4, loss=50.0, down=5)
    # target 0 loses everything, target 1 nothing: one healthy target satisfies reliability 1
    assert drive(["x."] * 12, config)[1] == []
    config = settings(targets=2, reliability=2, window=4, loss=50.0, down=5)
    assert drive(["x."] * 12, config)[1] == [(4, DOWN, "loss")]


def test_latency_threshold_uses_the_median_and_is_off_by_default():
    slow = ["s", "s", ".", "s", "s", ".", "s", "s", ".", "s"]      # median 900 ms
    assert drive(slow, settings(window=10))[1] == []                       # latency=None: off
    assert drive(slow, settings(window=10, latency=500.0))[1] == [(10, DOWN, "latency")]
    mostly_fast = [".", ".", "s", ".", ".", "s", ".", ".", "s", "."]      # median 20 ms
    assert drive(mostly_fast, settings(window=10, latency=500.0))[1] == []


def test_target_stats_report_loss_and_median_latency():
    assert tracker.target_stats((0.01, None, 0.03, 0.02)) == (25.0, 20.0)
    assert tracker.target_stats((None, None)) == (100.0, None)
    assert tracker.target_stats(()) == (0.0, None)


# -- coming back up


def test_up_needs_up_good_rounds_and_the_hold():
    config = settings(down=3, up=2, hold=1.0)       # 1 s = 5 rounds
    health, seen = drive(list("xxx"), config)
    assert seen == [(3, DOWN, "probes")]
    # the last trouble was round 3 (t=0.6); the hold ends at t=1.6 = round 8
    _health, seen = drive(list("........"), config, health, start=0.6)
    assert seen == [(5, UP, "recovered")]          # 0.6 + 5 * 0.2 = 1.6


def test_up_rounds_govern_when_longer_than_the_hold():
    config = settings(down=3, up=8, hold=0.2)
    health, _seen = drive(list("xxx"), config)
    _health, seen = drive(list(".........."), config, health, start=0.6)
    assert seen == [(8, UP, "recovered")]


def test_a_silent_round_during_the_hold_does_not_restart_it_but_a_run_does():
    config = settings(down=3, up=2, hold=1.0, window=100)
    health, _seen = drive(list("xxx"), config)
    # one lost round is not trouble (the run is below ``down``), it only resets the up count
    _health, seen = drive(list("...x......"), config, health, start=0.6)
    assert seen == [(6, UP, "recovered")]
    _health, seen = drive(list("..xxx......."), config, health, start=0.6)
    assert seen == [(10, UP, "recovered")]          # calm from round 5 (t=1.6): up at t=2.6


# -- the kernel


def test_carrier_loss_goes_down_at_once_and_its_return_waits_for_the_hold():
    config = settings(hold=1.0)
    health = tracker.initial(config, 0.0)
    health, transitions = tracker.step(config, health, KernelSays("link", False, "carrier", "wan2 has no carrier"), 5.0)
    assert [(t.new, t.reason, t.at) for t in transitions] == [(DOWN, "carrier", 5.0)]
    health, transitions = tracker.step(config, health, KernelSays("link", True), 7.0)
    assert transitions == ()
    # probes answer again; the hold counts from the moment the carrier came back
    _health, seen = drive(list("......"), config, health, start=7.0)
    assert seen == [(5, UP, "recovered")]


def test_the_most_basic_reason_is_reported():
    config = settings(down=3)
    health, _seen = drive(list("xx"), config)
    health, transitions = tracker.step(config, health, KernelSays("gateway", False, "gateway", "FAILED"), 0.5)
    assert [t.reason for t in transitions] == ["gateway"]
    health, _seen = drive(list("x"), config, health, start=0.5)
    assert [trouble.reason for trouble in health.troubles] == ["gateway", "probes"]
    health, _transitions = tracker.step(config, health, KernelSays("link", False, "carrier", "gone"), 0.8)
    assert [trouble.reason for trouble in health.troubles] == ["carrier", "gateway", "probes"]


def test_a_repeated_kernel_failure_is_one_trouble():
    config = settings()
    health = tracker.initial(config, 0.0)
    for moment in (1.0, 2.0):
        health, _transitions = tracker.step(config, health, KernelSays("address", False, "address", "none"), moment)
    assert len(health.kernel_troubles) == 1 and health.transitions == 1


def test_an_untracked_wan_is_judged_by_the_kernel_and_ticks():
    config = Settings("wan3", "ipv4", None, hold=10.0, hold_max=300.0)
    health = tracker.initial(config, 0.0)
    health, _seen = tracker.step(config, health, Round((None,)), 1.0)     # rounds are ignored
    assert health.state == UP
    health, transitions = tracker.step(config, health, KernelSays("link", False, "carrier", "no carrier"), 2.0)
    assert [t.new for t in transitions] == [DOWN] and tracker.next_wakeup(config, health) is None
    health, _transitions = tracker.step(config, health, KernelSays("link", True), 3.0)
    assert tracker.next_wakeup(config, health) == 13.0
    health, transitions = tracker.step(config, health, Tick(), 12.9)
    assert transitions == ()
    health, transitions = tracker.step(config, health, Tick(), 13.0)
    assert [(t.new, t.reason) for t in transitions] == [(UP, "recovered")]


# -- flapping


def _flap(config, health, down_at, up_at):
    """Carrier lost at ``down_at``, back at ``up_at``; ticks until the tracker comes up (or not)."""
    health, _transitions = tracker.step(config, health, KernelSays("link", False, "carrier", "flap"), down_at)
    health, _transitions = tracker.step(config, health, KernelSays("link", True), up_at)
    return health


def test_the_hold_doubles_for_each_flap_up_to_hold_max_and_resets_after_a_long_up():
    config = Settings("wan3", "ipv4", None, hold=10.0, hold_max=300.0)
    health, moment, holds = tracker.initial(config, 0.0), 0.0, []
    for _flap_number in range(8):
        health = _flap(config, health, moment + 1.0, moment + 2.0)
        holds.append(tracker.required_hold(config, health.flaps))
        moment = tracker.next_wakeup(config, health)
        health, _transitions = tracker.step(config, health, Tick(), moment)
        assert health.state == UP
    assert holds == [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]
    # up for hold_max: the next down is a first flap again
    health = _flap(config, health, moment + 300.0, moment + 301.0)
    assert tracker.required_hold(config, health.flaps) == 10.0


def test_carried_over_keeps_the_verdict_and_restarts_the_windows():
    config = settings(down=3)
    health, _seen = drive(list("xxx"), config)
    wider = settings(targets=2, down=3)
    carried = tracker.carried_over(wider, health)
    assert (carried.state, carried.reason, carried.since, carried.flaps) == (DOWN, "probes", health.since, 1)
    assert carried.windows == ((), ()) and carried.bad_rounds == 0 and carried.probe_trouble is None


# -- the defaults' arithmetic


@pytest.mark.parametrize("targets, reliability, expected", [
    (1, 1, 9), (2, 1, 5), (3, 1, 3), (3, 2, 6), (2, 2, 12), (3, 3, 15)])
def test_auto_down_rounds_match_the_table_in_the_docstring(targets, reliability, expected):
    assert tracker.auto_down_rounds(targets, reliability, 0.2) == expected


def test_auto_down_rounds_keep_the_budget_when_the_interval_changes():
    # fewer rounds a day need fewer rounds in a row for the same false-alarm budget
    assert tracker.auto_down_rounds(1, 1, 5.0) < tracker.auto_down_rounds(1, 1, 0.2)
    assert tracker.auto_down_rounds(3, 1, 10.0) == tracker.MIN_DOWN_ROUNDS


def test_round_failure_probability():
    assert tracker.round_failure_probability(1, 1, 0.1) == pytest.approx(0.1)
    assert tracker.round_failure_probability(2, 1, 0.1) == pytest.approx(0.01)
    assert tracker.round_failure_probability(3, 2, 0.1) == pytest.approx(3 * 0.01 * 0.9 + 0.001)


def test_while_down_the_reason_follows_the_current_trouble():
    config = settings()
    health = tracker.initial(config, 0.0)
    health, _transitions = tracker.step(config, health, KernelSays("link", False, "carrier", "wan2 is administratively down"), 1.0)
    health, transitions = tracker.step(config, health, KernelSays("link", False, "carrier", "wan2 is absent"), 1.1)
    assert transitions == () and (health.reason, health.detail, health.since) == ("carrier", "wan2 is absent", 1.0)


# -- a missing address or learned gateway counts after its grace (a DHCP client renumbering)


UNTRACKED = Settings("wan2", "ipv4", None, hold=10.0, hold_max=300.0)
NO_ADDRESS = KernelSays("address", False, "address", "wan2 has no ipv4 address", grace=3.0)


def kernel(health, observation, now, config=UNTRACKED):
    return tracker.step(config, health, observation, now)


def test_an_address_back_within_its_grace_is_no_transition_and_no_hold():
    health = tracker.initial(UNTRACKED, 0.0)
    health, seen = kernel(health, NO_ADDRESS, 1.0)
    assert seen == () and health.state == UP and tracker.next_wakeup(UNTRACKED, health) == 4.0
    health, seen = kernel(health, KernelSays("address", True), 1.2)
    assert seen == () and health.pending_troubles == () and tracker.next_wakeup(UNTRACKED, health) is None


def test_an_address_missing_past_its_grace_takes_the_wan_down_and_back_after_the_hold():
    health, _seen = kernel(tracker.initial(UNTRACKED, 0.0), NO_ADDRESS, 1.0)
    health, _seen = kernel(health, NO_ADDRESS, 2.0)        # repeated: the grace still counts from 1.0
    health, seen = kernel(health, Tick(), 4.0)
    assert [(t.new, t.reason, t.at) for t in seen] == [(DOWN, "address", 4.0)]
    health, seen = kernel(health, KernelSays("address", True), 5.0)
    assert seen == () and tracker.next_wakeup(UNTRACKED, health) == 15.0
    assert [t.new for t in kernel(health, Tick(), 15.0)[1]] == [UP]


def test_a_carrier_loss_counts_at_once_and_a_pending_grace_keeps_a_down_wan_down():
    health, seen = kernel(tracker.initial(UNTRACKED, 0.0), KernelSays("link", False, "carrier", "no carrier"), 1.0)
    assert [t.reason for t in seen] == ["carrier"]
    health, _seen = kernel(health, KernelSays("link", True), 2.0)
    health, _seen = kernel(health, NO_ADDRESS, 11.5)                   # the lease is not back yet
    assert kernel(health, Tick(), 12.0)[1] == ()                       # hold over, the grace is not
    health, seen = kernel(health, KernelSays("address", True), 13.0)
    assert [t.new for t in seen] == [UP]
