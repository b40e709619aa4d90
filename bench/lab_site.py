"""Part 5: ``playbooks/site.yml`` against the podman lab, wall time of the first converge, the no-change
converge and ``--check --diff``.

Each sample brings up a fresh lab of its own (``lab/lab.py --prefix mwbench up``; containers
``mwbench-<host>``, never the demo lab's), runs the three, and removes the lab. The inventory is that
lab's (``lab/lab.py --prefix mwbench inventory``) beside the lab's own ``group_vars``. The no-change
run must report no changed task (read from the json callback's stats).
"""

import os
import shutil
import subprocess
import tempfile
import time

from common import BIN, INSTALLED, ROOT, Row, changed_tasks, median, playbook_env, playbook_report, run_timed

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
        report = playbook_report(completed, "site.yml " + " ".join(options))
        return seconds, changed_tasks(report)


# A sample is a fresh lab and three playbook runs (about two minutes); two keep `make bench` near 20 minutes.
MOST_RUNS = 2


def run(settings):
    samples = {phase[0]: [] for phase in PHASES}
    changed = {phase[0]: [] for phase in PHASES}
    with BenchLab() as lab:
        for dummy in range(min(settings.runs, MOST_RUNS)):
            lab.up()
            for name, dummy, options in PHASES:
                seconds, changed_names = lab.site(options)
                samples[name].append(seconds)
                changed[name].append(changed_names)
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
