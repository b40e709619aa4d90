"""Parts 1 and 2 measure the same things for two resources (``ip rule`` with ``pbr_rule``, ``ip route``
with ``pbr_table``); this is that measurement, driven by a ``Case`` that says how to write N entries
for the module, for a hand-written ``ip -batch`` file and for an ``ansible.builtin.command`` loop.

Every sample starts from a fresh network namespace, so every apply starts from the same state:
- floor: ``ip -batch <file>`` of the N lines, as a user would write them by hand;
- the module as a bare process (the module file run as Ansible runs it on a target, no controller);
- the module as one task of ``ansible-playbook`` (playbook wall time, and the task's own time);
- an ``ansible.builtin.command`` loop at a small N, extrapolated per entry;
- the no-change run (bare, and as a task) against one ``ip -json ... show`` of the same N entries;
- the module floor (bench/library/module_floor.py): a module that takes the same arguments, runs that one dump,
  parses it and exits, bare and as a task; and, for scale, the same without the ``config`` argument.
The goals are against the module floor: no change <= 2x the floor, apply <= 1.5x (the ``ip -batch`` floor +
the module floor), bare and as a task alike; the ratios against the bare ``ip`` process stay, without goals.
Traffic never leaves the namespaces; nothing touches the host's own rules or routes.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Callable

from common import ROOT, LocalPlaybook, Row, in_netns, median, profile_bare_module, run_bare_module, run_timed
from support.netns import Netns

APPLY_GOAL, NO_CHANGE_GOAL = 1.5, 2.0
# The loop is measured once: 100 items take about a minute, and each item pays the same fixed cost
# (a module process per item), so one run of 100 already averages 100 samples of it.
LOOP_RUNS = 1
OWNED_PROTOCOL = "211"      # the default ownership tag of pbr_rule and pbr_table; the floor writes it too
FLOOR_MODULE = os.path.join(ROOT, "bench", "library", "module_floor.py")   # ANSIBLE_LIBRARY holds it for tasks


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
    samples = {name: [] for name in ("floor", "dump", "bare", "bare_nochange", "module_floor", "module_floor_bare",
                                     "play", "play_task", "play_nochange", "play_nochange_task", "dump_task",
                                     "floor_task")}
    args = case.module_args(size)
    with LocalPlaybook([_module_task(case)], {"module_args": args}) as playbook, \
            LocalPlaybook([_dump_task(case)], {}) as dump_playbook, \
            LocalPlaybook([_floor_task()], {"module_args": _floor_args(case, args)}) as floor_playbook:
        for run in range(settings.runs):
            floor_dump = _sample_floor(case, size, samples)
            bare_dump = _sample_bare(case, args, samples)
            play_dump = _sample_playbook(case, (playbook, dump_playbook, floor_playbook), samples) \
                if playbooks else bare_dump
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


def _floor_task():
    return {"name": "floor", "module_floor": "{{ module_args }}"}


def _floor_args(case, args):
    """The module floor's arguments: the measured module's own, and the dump to run."""
    return dict(args, dump=case.dump_argv)


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
        # the module floor against the same N entries: with the module's arguments, and with none of its own
        samples["module_floor"].append(run_bare_module("module_floor", _floor_args(case, args), netns.name,
                                                       path=FLOOR_MODULE)[0])
        samples["module_floor_bare"].append(run_bare_module("module_floor", {"dump": case.dump_argv}, netns.name,
                                                            path=FLOOR_MODULE)[0])
        return _owned_state(netns)


def _sample_playbook(case, playbooks, samples):
    playbook, dump_playbook, floor_playbook = playbooks
    with Netns("mwb") as netns:
        _prepare(case, netns)
        seconds, tasks = playbook.run(netns.name)
        samples["play"].append(seconds)
        samples["play_task"].append(tasks["apply"])
        seconds, tasks = playbook.run(netns.name)
        samples["play_nochange"].append(seconds)
        samples["play_nochange_task"].append(tasks["apply"])
        samples["dump_task"].append(dump_playbook.run(netns.name)[1]["dump"])
        samples["floor_task"].append(floor_playbook.run(netns.name)[1]["floor"])
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
    module_floor, module_floor_task = "module floor, bare process", "module floor, task in ansible-playbook"
    floors = "ip -batch floor + module floor (bare)"
    floors_task = "ip -batch floor + module floor (task)"
    bare, task = "%s, bare process" % case.module, "%s, task in ansible-playbook" % case.module
    whole = "%s, whole ansible-playbook run" % case.module

    def row(case_name, subject, name, baseline="", baseline_value=0.0, goal=0.0, note=""):
        return Row(case.part, case_name, subject, medians[name], baseline=baseline, baseline_value=baseline_value,
                   goal=goal, samples=samples[name], note=note)

    apply_floors = medians["floor"] + medians["module_floor"]
    apply_floors_task = medians["floor"] + medians["floor_task"]
    return [
        row(apply_case, floor, "floor"),
        row(apply_case, bare, "bare", floor, medians["floor"]),
        row(apply_case, bare, "bare", floors, apply_floors if medians["module_floor"] else 0.0, APPLY_GOAL),
        row(apply_case, task, "play_task", floor, medians["floor"]),
        row(apply_case, task, "play_task", floors_task, apply_floors_task if medians["floor_task"] else 0.0,
            APPLY_GOAL),
        row(apply_case, whole, "play", floor, medians["floor"]),
        row(nochange_case, dump, "dump"),
        row(nochange_case, module_floor, "module_floor", dump, medians["dump"],
            note="a module that takes %s's arguments (the %d entries), runs that dump, parses it and exits"
            % (case.module, size)),
        row(nochange_case, "module floor without the config argument, bare process", "module_floor_bare",
            dump, medians["dump"], note="for scale: the floor of a module that is given no entries"),
        row(nochange_case, bare, "bare_nochange", dump, medians["dump"]),
        row(nochange_case, bare, "bare_nochange", module_floor, medians["module_floor"], NO_CHANGE_GOAL),
        row(nochange_case, bare, "bare_nochange", "module floor without the config argument",
            medians["module_floor_bare"]),
        row(nochange_case, dump_task, "dump_task",
            note="the same dump through the module's transport, for scale"),
        row(nochange_case, module_floor_task, "floor_task", dump_task, medians["dump_task"]),
        row(nochange_case, task, "play_nochange_task", dump, medians["dump"]),
        row(nochange_case, task, "play_nochange_task", module_floor_task, medians["floor_task"], NO_CHANGE_GOAL),
        row(nochange_case, whole, "play_nochange", dump, medians["dump"]),
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
    """cProfile of the bare module where it missed a goal: where the time goes."""
    notes = []
    bare = "%s, bare process" % case.module
    missed = {row.case.split(" N=")[0] for row in rows if row.subject == bare and row.met is False}
    if missed:
        with Netns("mwb") as netns:
            _prepare(case, netns)
            args = case.module_args(size)
            if "apply" in missed:
                notes.append(("%s apply N=%d (bare, missed its goal): cProfile" % (case.module, size),
                              profile_bare_module(case.module, args, netns.name)))
            else:
                run_bare_module(case.module, args, netns.name)
            if "no change" in missed:
                notes.append(("%s no change N=%d (bare, missed its goal): cProfile" % (case.module, size),
                              profile_bare_module(case.module, args, netns.name)))
    return notes
