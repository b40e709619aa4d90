"""Parts 1 and 2 measure the same things for two resources (``ip rule`` with ``pbr_rule``, ``ip route``
with ``pbr_table``); this is that measurement, driven by a ``Case`` that says how to write N entries
for the module, for a hand-written ``ip -batch`` file and for an ``ansible.builtin.command`` loop.

Every sample starts from a fresh network namespace, so every apply starts from the same state:
- floor: ``ip -batch <file>`` of the N lines, as a user would write them by hand;
- the module as a bare process (the module file run as Ansible runs it on a target, no controller);
- the module as one task of ``ansible-playbook`` (playbook wall time, and the task's own time);
- an ``ansible.builtin.command`` loop at a small N, extrapolated per entry;
- the no-change run (bare, and as a task) against one ``ip -json ... show`` of the same N entries.
Traffic never leaves the namespaces; nothing touches the host's own rules or routes.
"""

import json
import tempfile
from dataclasses import dataclass
from typing import Callable

from common import LocalPlaybook, Row, in_netns, median, profile_bare_module, run_bare_module, run_timed
from support.netns import Netns

APPLY_GOAL, NO_CHANGE_GOAL = 1.5, 2.0
# The loop is measured once: 100 items take about a minute, and each item pays the same fixed cost
# (a module process per item), so one run of 100 already averages 100 samples of it.
LOOP_RUNS = 1
OWNED_PROTOCOL = "211"      # the default ownership tag of pbr_rule and pbr_table; the floor writes it too


@dataclass
class Case:
    part: str                   # "1 ip rule"
    module: str                 # "pbr_rule"
    noun: str                   # "rules"
    module_args: Callable       # n -> the module's arguments (state merged)
    batch_lines: Callable       # n -> the lines of a hand-written ``ip -batch`` file
    command_argvs: Callable     # n -> one ``ip ...`` argv per entry, for the command loop
    dump_argv: list             # the one dump the no-change run is compared with
    prepare: Callable = None    # netns -> None: what the namespace needs first (devices, addresses)


def measure(case, sizes, loop_size, settings, playbooks=True):
    """Rows for every size, then the command loop (unless ``loop_size`` is None); ``(rows, notes)``.
    Notes hold profiles of misses. ``playbooks=False`` leaves out the playbook rows (for smoke runs)."""
    rows, notes = [], []
    for size in sizes:
        size_rows = _measure_size(case, size, settings, playbooks)
        rows += size_rows
        if not settings.quick:
            notes += _profile_misses(case, size, size_rows)
    if loop_size:
        rows += _measure_loop(case, loop_size, max(sizes), rows)
    return rows, notes


def _measure_size(case, size, settings, playbooks):
    samples = {name: [] for name in ("floor", "dump", "bare", "bare_nochange", "play", "play_task",
                                     "play_nochange", "play_nochange_task", "dump_task")}
    args = case.module_args(size)
    with LocalPlaybook([_module_task(case)], {"module_args": args}) as playbook, \
            LocalPlaybook([_dump_task(case)], {}) as dump_playbook:
        for run in range(settings.runs):
            floor_dump = _sample_floor(case, size, samples)
            bare_dump = _sample_bare(case, args, samples)
            play_dump = _sample_playbook(case, playbook, dump_playbook, samples) if playbooks else bare_dump
            if run == 0:
                _assert_same_job(case, size, floor_dump, bare_dump, play_dump)
    medians = {name: median(values) if values else 0.0 for name, values in samples.items()}
    return [row for row in _size_rows(case, size, medians, samples) if row.samples]


def _module_task(case):
    return {"name": "apply", "multiwan.pbr." + case.module: "{{ module_args }}"}


def _dump_task(case):
    """The no-change run's baseline through the same transport as the module task: the one dump
    as an ``ansible.builtin.command`` task (a module process, its JSON result, the controller's share)."""
    return {"name": "dump", "ansible.builtin.command": {"argv": case.dump_argv}, "changed_when": False}


def _sample_floor(case, size, samples):
    with Netns("mwb") as netns, tempfile.NamedTemporaryFile("w", suffix=".batch") as batch:
        _prepare(case, netns)
        batch.write("\n".join(case.batch_lines(size)) + "\n")
        batch.flush()
        seconds = run_timed(in_netns(netns.name, ["ip", "-batch", batch.name]))[0]
        samples["floor"].append(seconds)
        dumps = [run_timed(in_netns(netns.name, case.dump_argv))[0] for dummy in range(3)]
        samples["dump"].append(median(dumps))
        return _owned_state(netns)


def _sample_bare(case, args, samples):
    with Netns("mwb") as netns:
        _prepare(case, netns)
        seconds, result = run_bare_module(case.module, args, netns.name)
        assert result["changed"], result.get("msg")
        samples["bare"].append(seconds)
        seconds, result = run_bare_module(case.module, args, netns.name)
        assert not result["changed"], "the second run changed something: %s" % result.get("commands", [])[:3]
        samples["bare_nochange"].append(seconds)
        return _owned_state(netns)


def _sample_playbook(case, playbook, dump_playbook, samples):
    with Netns("mwb") as netns:
        _prepare(case, netns)
        seconds, tasks = playbook.run(netns.name)
        samples["play"].append(seconds)
        samples["play_task"].append(tasks["apply"])
        seconds, tasks = playbook.run(netns.name)
        samples["play_nochange"].append(seconds)
        samples["play_nochange_task"].append(tasks["apply"])
        samples["dump_task"].append(dump_playbook.run(netns.name)[1]["dump"])
        return _owned_state(netns)


def _prepare(case, netns):
    if case.prepare:
        case.prepare(netns)


def _owned_state(netns):
    """The owned rules and routes (protocol 211, the modules' default tag) as ``ip -N -json`` shows them,
    to check that every way did the same job; link-local routes come and go with time, so only owned ones."""
    state = {}
    for family in ("-4", "-6"):
        for what, argv in (("rule", ("rule", "show")), ("route", ("route", "show", "table", "all"))):
            entries = netns.ip_json("-N", family, *argv)
            state[what + family] = [entry for entry in entries if str(entry.get("protocol")) == OWNED_PROTOCOL]
    return json.dumps(state, sort_keys=True)


def _assert_same_job(case, size, *states):
    if len(set(states)) != 1:
        raise AssertionError("%s N=%d: the floor, the bare module and the playbook left different %s"
                             % (case.module, size, case.noun))


def _size_rows(case, size, medians, samples):
    apply_case, nochange_case = "apply N=%d" % size, "no change N=%d" % size
    floor = "ip -batch file (floor)"
    dump = "one `%s`" % " ".join(case.dump_argv)
    dump_task = "one `%s` as an ansible.builtin.command task" % " ".join(case.dump_argv)
    module = case.module
    return [
        Row(case.part, apply_case, floor, medians["floor"], samples=samples["floor"]),
        Row(case.part, apply_case, "%s, bare process" % module, medians["bare"], baseline=floor,
            baseline_value=medians["floor"], goal=APPLY_GOAL, samples=samples["bare"]),
        Row(case.part, apply_case, "%s, task in ansible-playbook" % module, medians["play_task"], baseline=floor,
            baseline_value=medians["floor"], goal=APPLY_GOAL, samples=samples["play_task"]),
        Row(case.part, apply_case, "%s, whole ansible-playbook run" % module, medians["play"], baseline=floor,
            baseline_value=medians["floor"], samples=samples["play"]),
        Row(case.part, nochange_case, dump, medians["dump"], samples=samples["dump"]),
        Row(case.part, nochange_case, "%s, bare process" % module, medians["bare_nochange"], baseline=dump,
            baseline_value=medians["dump"], goal=NO_CHANGE_GOAL, samples=samples["bare_nochange"]),
        Row(case.part, nochange_case, "%s, task in ansible-playbook" % module, medians["play_nochange_task"],
            baseline=dump, baseline_value=medians["dump"], goal=NO_CHANGE_GOAL, samples=samples["play_nochange_task"]),
        Row(case.part, nochange_case, "%s, whole ansible-playbook run" % module, medians["play_nochange"],
            baseline=dump, baseline_value=medians["dump"], samples=samples["play_nochange"]),
        Row(case.part, nochange_case, dump_task, medians["dump_task"], samples=samples["dump_task"],
            note="the same dump through the module's transport, for scale; the goal is against the bare dump"),
        Row(case.part, nochange_case, "%s, task in ansible-playbook" % module, medians["play_nochange_task"],
            baseline=dump_task, baseline_value=medians["dump_task"], samples=samples["play_nochange_task"],
            note="the same task as above, against the dump as a task"),
    ]


def _measure_loop(case, loop_size, target_size, rows):
    """``ansible.builtin.command`` once per entry at ``loop_size``, extrapolated to ``target_size``."""
    task = {"name": "apply", "ansible.builtin.command": {"argv": "{{ item }}"}, "loop": "{{ commands }}"}
    per_entry = []
    with LocalPlaybook([task], {"commands": case.command_argvs(loop_size)}) as playbook:
        for dummy in range(LOOP_RUNS):
            with Netns("mwb") as netns:
                _prepare(case, netns)
                tasks = playbook.run(netns.name)[1]
                per_entry.append(tasks["apply"] / loop_size)
    seconds_each = median(per_entry)
    note = ("measured at N=%d (%.3f s per entry, %d run(s)), extrapolated x%d"
            % (loop_size, seconds_each, LOOP_RUNS, target_size))
    apply_case = "apply N=%d" % target_size
    floor = _find(rows, apply_case, "ip -batch file (floor)")
    task = _find(rows, apply_case, "%s, task in ansible-playbook" % case.module)
    loop_name = "ansible.builtin.command loop (extrapolated)"
    loop_seconds = seconds_each * target_size
    return [
        Row(case.part, apply_case, loop_name, loop_seconds, baseline=floor.subject, baseline_value=floor.value,
            samples=[value * target_size for value in per_entry], note=note),
        Row(case.part, apply_case, "%s, task in ansible-playbook" % case.module, task.value, baseline=loop_name,
            baseline_value=loop_seconds, samples=task.samples, note="the same task as above, against the loop"),
    ]


def _find(rows, case_name, subject):
    return next(row for row in rows if row.case == case_name and row.subject == subject)


def _profile_misses(case, size, rows):
    """cProfile of the bare module where it missed its goal: where the time goes."""
    notes = []
    bare = [row for row in rows if row.subject.endswith("bare process")]
    apply_row, nochange_row = bare[0], bare[1]
    if apply_row.met is False or nochange_row.met is False:
        with Netns("mwb") as netns:
            _prepare(case, netns)
            args = case.module_args(size)
            if apply_row.met is False:
                notes.append(("%s apply N=%d (bare, %.2fx the floor): cProfile" % (case.module, size, apply_row.ratio),
                              profile_bare_module(case.module, args, netns.name)))
            else:
                run_bare_module(case.module, args, netns.name)
            if nochange_row.met is False:
                notes.append(("%s no change N=%d (bare, %.2fx one dump): cProfile"
                              % (case.module, size, nochange_row.ratio),
                              profile_bare_module(case.module, args, netns.name)))
    return notes
