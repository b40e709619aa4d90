"""Part 5: ``playbooks/site.yml`` against the podman lab, wall time of the first converge, the no-change
converge and ``--check --diff``.

Each sample brings up a fresh lab of its own (``lab/lab.py --prefix mwbench up``; containers
``mwbench-<host>``, never the demo lab's), runs the three, and removes the lab. The inventory is that
lab's (``lab/lab.py --prefix mwbench inventory``) beside the lab's own ``group_vars``. The no-change
run must report no changed task (read from the json callback's stats).
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

from common import BIN, INSTALLED, ROOT, Row, median, playbook_env, run_timed

PREFIX = "mwbench"
LAB = os.path.join(ROOT, "lab")
SITE = os.path.join(INSTALLED, "playbooks", "site.yml")   # the installed collection's, as users run it
PHASES = (("first", "first converge", ()), ("again", "no-change converge", ()),
          ("check", "--check --diff", ("--check", "--diff")))


class BenchLab(object):
    """A lab of the bench's own, and a directory with its inventory and the lab's group_vars."""

    def __enter__(self):
        run_timed([os.path.join(LAB, "build-image.sh")])
        self.directory = tempfile.mkdtemp(prefix="mwbench-lab-")
        self.inventory = os.path.join(self.directory, "inventory.yml")
        # The inventory sits outside lab/: it names lab/ (ssh-proxy, the key, known_hosts) absolutely.
        inventory = run_timed(["python3", os.path.join(LAB, "lab.py"), "--prefix", PREFIX, "inventory",
                               "--lab-dir", LAB])[1]
        with open(self.inventory, "w") as handle:
            handle.write(inventory)
        os.symlink(os.path.join(LAB, "group_vars"), os.path.join(self.directory, "group_vars"))
        return self

    def __exit__(self, *exc):
        self.down()
        shutil.rmtree(self.directory, ignore_errors=True)

    def up(self):
        run_timed(["python3", os.path.join(LAB, "lab.py"), "--prefix", PREFIX, "up"])

    def down(self):
        run_timed(["python3", os.path.join(LAB, "lab.py"), "--prefix", PREFIX, "down"], check=False)

    def site(self, options):
        """``(wall seconds, names of the changed tasks)`` of one ``ansible-playbook site.yml`` run."""
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", self.inventory, SITE, *options]
        started = time.perf_counter()
        completed = subprocess.run(argv, capture_output=True, text=True, env=playbook_env(), check=False)
        seconds = time.perf_counter() - started
        if "{" not in completed.stdout:
            raise RuntimeError("site.yml %s: no report (rc %d): %s" % (" ".join(options), completed.returncode,
                                                                       completed.stderr.strip()[-1500:]))
        report = json.loads(completed.stdout[completed.stdout.index("{"):])
        failed = _failed_tasks(report)
        if failed:
            raise RuntimeError("site.yml %s did not converge: %s" % (" ".join(options), "; ".join(failed)))
        return seconds, _changed_tasks(report)


def _changed_tasks(report):
    """The names of the tasks that reported a change (or, in check mode, would make one)."""
    return [task["task"]["name"] for play in report["plays"] for task in play["tasks"]
            if any(result.get("changed") for result in task["hosts"].values())]


def _failed_tasks(report):
    """``"<task>: <message>"`` for every failed or unreachable task result in a json callback report."""
    failed = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if (result.get("failed") and not result.get("ignore_errors")) or result.get("unreachable"):
                    failed.append("%s on %s: %s" % (task["task"]["name"], host, result.get("msg")))
    return failed


# A sample is a fresh lab and three playbook runs (about two minutes); two keep `make bench` near 20 minutes.
MOST_RUNS = 2


def run(settings):
    samples = {phase[0]: [] for phase in PHASES}
    changed = {phase[0]: [] for phase in PHASES}
    with BenchLab() as lab:
        for dummy in range(min(settings.runs, MOST_RUNS)):
            lab.up()
            for name, dummy, options in PHASES:
                seconds, changed_tasks = lab.site(options)
                samples[name].append(seconds)
                changed[name].append(changed_tasks)
            lab.down()
    return _rows(samples, changed), []


def _rows(samples, changed):
    rows = []
    for name, label, dummy in PHASES:
        note = "changed tasks per run: %s" % [len(names) for names in changed[name]]
        if name != "first":
            unexpected = sorted(set(task for names in changed[name] for task in names))
            if unexpected:
                note += "; after a converge this run should change nothing, but these changed: %s" % "; ".join(unexpected)
        rows.append(Row("5 lab site.yml", label, "ansible-playbook playbooks/site.yml, whole run", median(samples[name]),
                        samples=samples[name], note=note))
    return rows
