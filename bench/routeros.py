"""Part 3: 1,000 ``/routing rule`` entries converged on the RouterOS API simulator by ``ros_routing_rule``
(pipelined writes) and by community.routeros ``api_modify`` (from PyPI's ``ansible`` package), at 0 ms and
20 ms latency per command, then the no-change run.

Both run the same way, side by side: as one task of ``ansible-playbook`` against localhost (so both pay
Ansible's overhead alike), and as a bare module process (the module file run as Ansible runs it, no
controller). Each sample starts from a fresh simulator with the four tables the rules use. The end
state is checked to be the same rules, with the same comments, in the same order, for both modules.
"""

import importlib.util

from common import LocalPlaybook, Row, median, run_bare_module, subnet
from routeros_sim import Simulator

RULES = "/routing/rule"
TABLES = ("wan1", "wan2", "wan3", "wan4")
GOAL_AT_20MS = 0.1
API_MODIFY = importlib.util.find_spec("ansible_collections.community.routeros.plugins.modules.api_modify").origin


def ros_config(size):
    return [{"name": "r%05d" % index, "dst_address": subnet(index), "table": TABLES[index % 4]}
            for index in range(size)]


def api_modify_data(size):
    """The same rules as ``ros_config``, as api_modify takes them (the comment is ros_routing_rule's tag)."""
    return [{"dst-address": subnet(index), "action": "lookup", "table": TABLES[index % 4],
             "comment": "multiwan.pbr:r%05d" % index} for index in range(size)]


class Subject(object):
    """One module, run bare or in a playbook, against a simulator's port."""

    def __init__(self, label, module_args, task_module, bare_file=None):
        self.label, self.module_args, self.task_module, self.bare_file = label, module_args, task_module, bare_file

    def bare(self, sim):
        args = dict(self.module_args, hostname="127.0.0.1", port=sim.port, username="admin", password="")
        return run_bare_module(self.task_module, args, path=self.bare_file)

    def task(self):
        args = dict(self.module_args, hostname="127.0.0.1", port="{{ port | int }}", username="admin", password="")
        return {"name": "apply", self.task_module: args}


def subjects(size):
    ours = Subject("ros_routing_rule", {"config": ros_config(size), "state": "merged"}, "multiwan.pbr.ros_routing_rule")
    theirs = Subject("api_modify", {"path": "routing rule", "data": api_modify_data(size)},
                     "community.routeros.api_modify", bare_file=API_MODIFY)
    return ours, theirs


def run(settings):
    """The quick (smoke) mode runs the bare modules only: a playbook run costs seconds even for 20 rules."""
    size = 20 if settings.quick else 1000
    ways = ("bare",) if settings.quick else ("bare", "task")
    rows = []
    for latency in (0.0, 0.02):
        rows += _measure_latency(size, latency, ways, settings)
    return rows, []


def _measure_latency(size, latency, ways, settings):
    ours, theirs = subjects(size)
    samples, prints = {}, {}
    with SimulatorPlaybook([ours.task()], {}) as our_play, SimulatorPlaybook([theirs.task()], {}) as their_play:
        for run in range(settings.runs):
            final = []
            for subject, playbook in ((ours, our_play), (theirs, their_play)):
                runners = {"bare": subject.bare, "task": playbook.run_against}
                final += [_sample(subject, how, runners[how], latency, samples, prints) for how in ways]
            if run == 0 and len(set(final)) != 1:
                raise AssertionError("ros_routing_rule and api_modify left different rules (%d entries)" % size)
    medians = {key: median(values) for key, values in samples.items()}
    return _latency_rows(size, latency, ways, medians, samples, prints)


class SimulatorPlaybook(LocalPlaybook):
    def run_against(self, sim):
        """``(task seconds, playbook wall seconds)`` of the play against ``sim``."""
        seconds, tasks = self.run(extra=("-e", "port=%d" % sim.port))
        return tasks["apply"], seconds


def _sample(subject, how, runner, latency, samples, prints):
    """A fresh simulator: apply, then the no-change run; times go to ``samples``, print counts to ``prints``."""
    with Simulator(latency=latency) as sim:
        for table in TABLES:
            sim.state.menu("/routing/table").add({"name": table, "fib": ""})
        for phase in ("apply", "nochange"):
            sim.reset_counters()
            measured = runner(sim)
            task_seconds, wall = measured if how == "task" else (measured[0], None)
            samples.setdefault((subject.label, how, phase), []).append(task_seconds)
            if wall is not None:
                samples.setdefault((subject.label, "playbook", phase), []).append(wall)
            prints[(subject.label, how, phase)] = (dict(sim.print_counts), sim.write_count)
        return tuple((row.get("dst-address"), row.get("table"), row.get("action"), row.get("comment"))
                     for row in sim.state.menu(RULES).rows())


WAYS = (("bare", "bare process"), ("task", "task in ansible-playbook"), ("playbook", "whole ansible-playbook run"))


def _latency_rows(size, latency, ways, medians, samples, prints):
    case = "%d rules, %d ms" % (size, round(latency * 1000))
    rows = []
    measured = set(ways) | ({"playbook"} if "task" in ways else set())
    for how, words in [(how, words) for how, words in WAYS if how in measured]:
        for phase, phase_words in (("apply", "converge"), ("nochange", "no change")):
            theirs, ours = ("api_modify", how, phase), ("ros_routing_rule", how, phase)
            goal = GOAL_AT_20MS if latency and phase == "apply" and how != "playbook" else 0
            rows.append(Row("3 RouterOS", "%s %s" % (case, phase_words), "api_modify, %s" % words, medians[theirs],
                            samples=samples[theirs]))
            rows.append(Row("3 RouterOS", "%s %s" % (case, phase_words), "ros_routing_rule, %s" % words,
                            medians[ours], baseline="api_modify, %s" % words, baseline_value=medians[theirs],
                            goal=goal, samples=samples[ours]))
    rows += _one_print_rows(case, ways, prints)
    return rows


def _one_print_rows(case, ways, prints):
    """The no-change goal: one print per path and no write, read off the simulator's counters."""
    rows = []
    for how in ways:
        counts, writes = prints[("ros_routing_rule", how, "nochange")]
        busiest = max(counts.values()) if counts else 0
        rows.append(Row("3 RouterOS", "%s no change" % case, "ros_routing_rule, %s: prints of the busiest path + writes"
                        % ("bare process" if how == "bare" else "task in ansible-playbook"),
                        busiest + writes, unit="commands", baseline="one print per path, no write",
                        baseline_value=1, goal=1.0, note=_prints_note(prints, how)))
    return rows


def _prints_note(prints, how):
    ours, theirs = prints[("ros_routing_rule", how, "nochange")], prints[("api_modify", how, "nochange")]
    return "prints per path %s, writes %d (api_modify: prints %s, writes %d)" % (ours[0], ours[1], theirs[0], theirs[1])
