"""Part 8: fleet scale. ONE ``ansible-playbook playbooks/site.yml`` run converging 1, 5 and 20 light lab routers.

Each fleet is fresh (``lab/lab.py --prefix flbench fleet up --routers N``: the lab's router, same image, sshd and
group_vars, each with one light neighbour holding its gateways; lab/fleet.py) and reached as the lab's router is:
ssh as ``admin`` through lab/ssh-proxy, ``become`` with sudo. Against it, with pipelining on and then, on another
fresh fleet, off (``ansible_ssh_pipelining``, which beats ANSIBLE_PIPELINING, as an extra variable):

- the first converge (one sample per fleet: the routers are bare only once);
- the no-change converge, which must report no changed task (read from the json callback), and how many task
  executions each router ran in it: on the router, delegated to localhost, controller-only, skipped;
- the baseline: a one-task playbook (``command: true`` with become) over the same connection.

Every run starts with no ssh master connection (a fresh ControlPath directory): what a run costs when nothing is
left from an earlier one. ``--forks`` is the fleet's size: every router at once. The routers share this machine's
cores with the controller; the notes give the controller's CPU seconds beside the wall time. Goals (issue 15 item 5): a
no-change converge of one router <= 3x the one-task playbook against it; of 20 routers <= 3x that of one.
"""

import glob
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time

from common import BIN, INSTALLED, ROOT, Row, changed_tasks, median, playbook_env, playbook_report, run_timed

PREFIX = "flbench"
LAB = os.path.join(ROOT, "lab")
SITE = os.path.join(INSTALLED, "playbooks", "site.yml")   # the installed collection's, as users run it
PART = "8 fleet"
SIZES = (1, 5, 20)
QUICK_SIZES = (1, 2)
PIPELINING = (("on", True), ("off", False))
GOAL = 3.0
ONE_TASK = [{"name": "One task over the same connection", "hosts": "linux_routers", "become": True,
             "gather_facts": False,
             "tasks": [{"name": "Run true", "ansible.builtin.command": "true", "changed_when": False}]}]
# Actions that run on the controller alone: no round trip to the router.
CONTROLLER_ACTIONS = {"ansible.builtin." + name for name in (
    "assert", "debug", "fail", "set_fact", "validate_argument_spec", "include_vars", "include_tasks",
    "import_tasks", "include_role", "meta", "add_host", "group_by", "set_stats")}


class BenchFleet(object):
    """The bench's fleet and a directory with its inventory, the lab's group_vars and the one-task playbook."""

    def __enter__(self):
        run_timed([os.path.join(LAB, "build-image.sh")])
        self.directory = tempfile.mkdtemp(prefix="mwbench-fleet-")
        self.inventory = os.path.join(self.directory, "inventory.yml")
        self.one_task = os.path.join(self.directory, "one_task.yml")
        with open(self.one_task, "w") as handle:
            json.dump(ONE_TASK, handle)         # JSON is YAML
        os.symlink(os.path.join(LAB, "group_vars"), os.path.join(self.directory, "group_vars"))
        return self

    def __exit__(self, *exc):
        self.down()
        shutil.rmtree(self.directory, ignore_errors=True)

    def up(self, size):
        """Seconds to bring the fleet up; writes its inventory (naming lab/ absolutely: it sits outside)."""
        seconds = run_timed(self._lab("fleet", "up", "--routers", str(size)))[0]
        with open(self.inventory, "w") as handle:
            handle.write(run_timed(self._lab("fleet", "inventory", "--lab-dir", LAB))[1])
        return seconds

    def down(self):
        run_timed(self._lab("fleet", "down"), check=False)

    def play(self, playbook, size, pipelining):
        """``(wall seconds, controller CPU seconds, json report)`` of one ansible-playbook run against the whole
        fleet, from cold. The controller's CPU is ansible-playbook's and its children's (forks, ssh, the proxy):
        on this one machine the routers' own work competes with it for the same two cores."""
        control = tempfile.mkdtemp(prefix="cp-", dir=self.directory)
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", self.inventory, playbook, "--forks", str(size),
                "-e", json.dumps({"ansible_ssh_pipelining": pipelining})]
        environment = dict(playbook_env(), ANSIBLE_SSH_CONTROL_PATH_DIR=control)
        try:
            cpu_before, started = _children_cpu(), time.perf_counter()
            completed = subprocess.run(argv, capture_output=True, text=True, env=environment, check=False)
            seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
        finally:
            _close_masters(control)
        return seconds, cpu, playbook_report(completed, os.path.basename(playbook))

    def _lab(self, *words):
        return ["python3", os.path.join(LAB, "lab.py"), "--prefix", PREFIX, *words]


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _close_masters(control):
    """End the ssh master connections a run left (ControlPersist) and remove their directory."""
    for socket in glob.glob(os.path.join(control, "*")):
        subprocess.run(["ssh", "-o", "ControlPath=" + socket, "-O", "exit", "fleet"], capture_output=True, check=False)
    shutil.rmtree(control, ignore_errors=True)


def run(settings):
    sizes = QUICK_SIZES if settings.quick else SIZES
    measured = {}
    with BenchFleet() as fleet:
        for label, pipelining in PIPELINING:
            for size in sizes:
                up_seconds = fleet.up(size)
                try:
                    measured[label, size] = _measure(fleet, size, pipelining, settings.runs)
                finally:
                    fleet.down()
                measured[label, size]["up"] = up_seconds
    return _rows(measured, sizes), []


def _measure(fleet, size, pipelining, runs):
    """The first converge once; then the no-change converge and the one-task playbook, alternately, `runs` times."""
    first_seconds, first_cpu, first_report = fleet.play(SITE, size, pipelining)
    result = {"first": [first_seconds], "first_cpu": first_cpu, "first_changed": len(changed_tasks(first_report)),
              "again": [], "again_cpu": [], "unexpected": set(), "baseline": [], "executions": None}
    for dummy in range(runs):
        seconds, cpu, report = fleet.play(SITE, size, pipelining)
        result["again"].append(seconds)
        result["again_cpu"].append(cpu)
        result["unexpected"].update(changed_tasks(report))
        result["executions"] = task_executions(report)
        result["baseline"].append(fleet.play(fleet.one_task, size, pipelining)[0])
    return result


def task_executions(report):
    """``{kind: executions per router}`` in one run (the mean over routers): "router" (a module ran on it),
    "delegated" (to localhost), "controller" (an action with no round trip: set_fact, assert, …), "skipped"."""
    counts = {"router": 0, "delegated": 0, "controller": 0, "skipped": 0}
    hosts = set()
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                hosts.add(host)
                counts[_kind(result)] += 1
    return {kind: number / max(1, len(hosts)) for kind, number in counts.items()}


def _kind(result):
    if result.get("skipped"):
        return "skipped"
    if result.get("_ansible_delegated_vars"):
        return "delegated"
    return "controller" if result.get("action") in CONTROLLER_ACTIONS else "router"


def _rows(measured, sizes):
    rows = []
    one, most = sizes[0], sizes[-1]
    for label, dummy in PIPELINING:
        for size in sizes:
            result = measured[label, size]
            case = "N=%d routers, pipelining %s" % (size, label)
            reference = measured[label, one]
            rows.append(Row(PART, case, "site.yml first converge, one run", result["first"][0], samples=result["first"],
                            baseline="" if size == one else "first converge, N=%d" % one,
                            baseline_value=0.0 if size == one else reference["first"][0],
                            note=_first_note(result, size)))
            rows.append(_no_change_row(case, result, size, one, most, reference))
            rows.append(Row(PART, case, "one-task playbook (command: true, become)", median(result["baseline"]),
                            samples=result["baseline"], baseline="" if size == one else "one-task playbook, N=%d" % one,
                            baseline_value=0.0 if size == one else median(reference["baseline"]),
                            note="per router %.3f s" % (median(result["baseline"]) / size)))
            rows.append(Row(PART, case, "task executions per router, no-change run",
                            result["executions"]["router"], unit="tasks", note=_executions_note(result["executions"])))
    return rows


def _no_change_row(case, result, size, one, most, reference):
    """The no-change converge: against the one-task playbook at N=1, against the no-change converge of N=1 above."""
    value = median(result["again"])
    if size == one:
        baseline, baseline_value = "one-task playbook, N=%d" % one, median(result["baseline"])
    else:
        baseline, baseline_value = "no-change converge, N=%d" % one, median(reference["again"])
    note = "per router %.3f s; controller CPU %.1f s" % (value / size, median(result["again_cpu"]))
    if result["unexpected"]:
        note += "; after a converge this run should change nothing, but these changed: %s" % "; ".join(
            sorted(result["unexpected"]))
    return Row(PART, case, "site.yml no-change converge", value, samples=result["again"], baseline=baseline,
               baseline_value=baseline_value, goal=GOAL if size in (one, most) else 0.0, note=note)


def _first_note(result, size):
    return "per router %.3f s; controller CPU %.1f s; %d tasks changed; fleet up in %.1f s (%d routers)" % (
        result["first"][0] / size, result["first_cpu"], result["first_changed"], result["up"], size)


def _executions_note(executions):
    return ("a module ran on the router (not skipped); also %.0f delegated to localhost, %.0f controller-only "
            "(set_fact, assert, …), %.0f skipped" % (executions["delegated"], executions["controller"],
                                                     executions["skipped"]))
