"""What every bench shares: timing and medians, result rows, the table, the machine description,
running a module bare or inside ansible-playbook, and profiling a module run.

A bench module exposes ``run(settings) -> [Row]``. A row is one measured thing with its median
and, when it has one, the baseline it is compared with; the ratio is always measured / baseline
of a cost (seconds, or CPU microseconds per packet), so below 1 is cheaper than the baseline.
"""

import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
# The collection as users install it (`make collection`: the built tarball, installed); modules run from there.
COLLECTIONS = os.path.join(ROOT, ".collections")
INSTALLED = os.path.join(COLLECTIONS, "ansible_collections", "multiwan", "pbr")
PYTHON = sys.executable
BIN = os.path.dirname(PYTHON)

if TESTS not in sys.path:
    sys.path.insert(0, TESTS)


@dataclass
class Settings:
    runs: int = 3               # samples per measurement; the median is reported
    quick: bool = False         # tiny sizes, one run: the smoke test's mode


@dataclass
class Row:
    part: str                   # "1 ip rule"
    case: str                   # "apply N=10000"
    subject: str                # what was measured ("pbr_rule, bare process")
    value: float                # the median
    # "s", "pps", "us" (CPU microseconds per packet), "commands", "%" (of one core), "MB", "transitions" or "tasks"
    unit: str = "s"
    baseline: str = ""          # what it is compared with
    baseline_value: float = 0.0
    goal: float = 0.0           # the highest acceptable ratio; 0 = no goal
    samples: list = field(default_factory=list)
    note: str = ""
    limit: float = None         # the highest acceptable value itself, in ``unit`` (a goal with no baseline)

    @property
    def ratio(self):
        if not self.baseline_value:
            return None
        if self.unit == "pps":          # a cost ratio: more packets per second is cheaper
            return self.baseline_value / self.value
        return self.value / self.baseline_value

    @property
    def met(self):
        if self.limit is not None:
            return self.value <= self.limit
        if not self.goal or self.ratio is None:
            return None
        return self.ratio <= self.goal

    @property
    def goal_text(self):
        """The goal as the table shows it: ``<= 1.5x`` (a ratio) or ``<= 3.000 s`` (a limit), or empty."""
        if self.limit is not None:
            return "<= " + value_text(self.limit, self.unit)
        return "<= %gx" % self.goal if self.goal else ""


def subnet(index):
    """A distinct /24 for each index below 65536: 10.<hi>.<lo>.0/24 (the entries every bench writes)."""
    return "10.%d.%d.0/24" % (index // 256, index % 256)


# ---------------------------------------------------------------------------
# Timing


def timed(action, *args, **kwargs):
    """``(seconds, result)`` of one call, by ``time.perf_counter``."""
    start = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - start, result


def median(samples):
    return statistics.median(samples)


def run_timed(argv, input=None, env=None, check=True):
    """Run a command; ``(seconds, stdout)``. Raises with stderr when it fails and ``check``."""
    start = time.perf_counter()
    completed = subprocess.run(argv, input=input, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if check and completed.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv[:8]), completed.returncode,
                                                     completed.stderr[-2000:], completed.stdout[-2000:]))
    return seconds, completed.stdout


def in_netns(netns, argv):
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


# ---------------------------------------------------------------------------
# Modules: as a bare process, and inside ansible-playbook


def module_env():
    return dict(os.environ, PYTHONPATH=COLLECTIONS, LC_ALL="C")


def write_module_args(name, args, check_mode=False):
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=False, _ansible_module_name=_fqcn(name))
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    with handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    return handle.name


def _fqcn(name):
    return name if "." in name else "multiwan.pbr." + name


def module_file(name):
    return os.path.join(INSTALLED, "plugins", "modules", name.rsplit(".", 1)[-1] + ".py")


def run_bare_module(name, args, netns=None, path=None):
    """Run a module as Ansible runs it on a target (the module file as a process, JSON in and out,
    inside ``ip netns exec`` when ``netns``); ``(seconds, result)``. ``name`` is one of this collection's
    modules, or any FQCN with its file in ``path``. The args file is written before the clock starts:
    Ansible's transfer of it is not the module's cost."""
    args_file = write_module_args(name, args)
    try:
        seconds, out = run_timed(in_netns(netns, [PYTHON, path or module_file(name), args_file]), env=module_env(),
                                 check=False)
    finally:
        os.unlink(args_file)
    result = json.loads(out[out.index("{"):])
    if result.get("failed"):
        raise RuntimeError("%s failed: %s" % (name, result.get("msg")))
    return seconds, result


def profile_bare_module(name, args, netns=None, top=12):
    """Run a module once under cProfile; the functions that take the most time, as text lines
    (cumulative seconds, own seconds, calls, function)."""
    args_file = write_module_args(name, args)
    profile_file = args_file + ".prof"
    try:
        run_timed(in_netns(netns, [PYTHON, "-m", "cProfile", "-o", profile_file, module_file(name), args_file]),
                  env=module_env(), check=False)
        stats = pstats.Stats(profile_file)
    finally:
        for path in (args_file, profile_file):
            if os.path.exists(path):
                os.unlink(path)
    return _profile_lines(stats, top)


# Where a module run's time goes, by stage: (label, file suffix, function); cumulative seconds of each
BREAKDOWN = (
    ("whole run (imports + main)", "plugins/modules/", "<module>"),
    ("AnsibleModule(): arguments read, copied and checked", "ansible/module_utils/basic.py", "__init__"),
    ("run_resource (the engine and the device)", "pbr/plugins/module_utils/resource.py", "run_resource"),
    ("  runner.dump (device reads)", "pbr/plugins/module_utils/", "dump"),
    ("  read_state (parse the dumps)", "pbr/plugins/module_utils/resource.py", "read_state"),
    ("  normalise_all (config entries checked -> records)", "pbr/plugins/module_utils/resource.py", "normalise_all"),
    ("  converge_ops (plan)", "pbr/plugins/module_utils/resource.py", "converge_ops"),
    ("  simulate (predicted after)", "pbr/plugins/module_utils/resource.py", "simulate"),
    ("  configs (before/after in config shape)", "pbr/plugins/module_utils/resource.py", "configs"),
    ("  apply_or_restore (device writes)", "pbr/plugins/module_utils/resource.py", "apply_or_restore"),
    ("exit_json (no_log scrubbing + JSON out)", "ansible/module_utils/basic.py", "exit_json"),
)


def _profile_lines(stats, top):
    entries = []
    for (filename, line, function), (dummy, calls, own, cumulative, dummy) in stats.stats.items():
        entries.append((cumulative, own, calls, "%s:%d(%s)" % (_short_path(filename), line, function), filename, function))
    lines = ["by stage (cumulative seconds under cProfile, which slows Python code about 2x):"]
    for label, suffix, function in BREAKDOWN:
        matching = [entry for entry in entries if entry[5] == function and suffix in entry[4]]
        if matching:
            lines.append("  %7.3f s  %s" % (sum(entry[0] for entry in matching), label))
    lines += ["functions by own time:"]
    by_own = sorted(entries, key=lambda entry: entry[1], reverse=True)[:top]
    lines += ["  %7.3f s own %7.3f s cum %8d calls  %s" % (entry[1], entry[0], entry[2], entry[3]) for entry in by_own]
    return lines


def _short_path(filename):
    for marker in ("ansible_collections/multiwan/pbr/", "site-packages/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def playbook_env(callback="ansible.posix.json"):
    """ansible-playbook's environment: the installed collection, and bench/library (the module floor)."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                ANSIBLE_LIBRARY=os.path.join(ROOT, "bench", "library"),
                ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                ANSIBLE_CALLBACK_RESULT_FORMAT="json", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


class LocalPlaybook(object):
    """A one-play playbook against localhost (connection local, the venv's python), its variables in a
    JSON file; ``run(netns)`` returns ``(wall seconds, {task name: seconds})`` from the json callback."""

    def __init__(self, tasks, variables):
        self.directory = tempfile.mkdtemp(prefix="mwbench-")
        self.playbook = os.path.join(self.directory, "play.yml")
        self.variables = os.path.join(self.directory, "vars.json")
        play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
                 "vars": {"ansible_python_interpreter": PYTHON}, "tasks": tasks}]
        with open(self.playbook, "w") as handle:
            json.dump(play, handle)          # JSON is YAML
        with open(self.variables, "w") as handle:
            json.dump(variables, handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.directory, ignore_errors=True)

    def run(self, netns=None, extra=()):
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", self.playbook,
                "-e", "@" + self.variables, *extra]
        seconds, out = run_timed(in_netns(netns, argv), env=playbook_env())
        return seconds, task_durations(out)


def task_durations(callback_output):
    """``{task name: seconds}`` from the ``ansible.posix.json`` callback's output."""
    report = json.loads(callback_output[callback_output.index("{"):])
    durations = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") or result.get("unreachable"):
                    raise RuntimeError("task %r failed on %s: %s" % (task["task"]["name"], host, result.get("msg")))
            duration = task["task"]["duration"]
            durations[task["task"]["name"]] = _iso_seconds(duration["end"]) - _iso_seconds(duration["start"])
    return durations


def playbook_report(completed, what):
    """The ``ansible.posix.json`` report of a finished ansible-playbook process; raises naming ``what`` and the
    failed tasks when there is no report or a task failed (or a host was unreachable)."""
    if "{" not in completed.stdout:
        raise RuntimeError("%s: no report (rc %d): %s" % (what, completed.returncode, completed.stderr.strip()[-1500:]))
    report = json.loads(completed.stdout[completed.stdout.index("{"):])
    failed = failed_tasks(report)
    if failed:
        raise RuntimeError("%s did not converge: %s" % (what, "; ".join(failed)))
    return report


def changed_tasks(report):
    """The names of the tasks that reported a change (or, in check mode, would make one)."""
    return [task["task"]["name"] for play in report["plays"] for task in play["tasks"]
            if any(result.get("changed") for result in task["hosts"].values())]


def failed_tasks(report):
    """``"<task>: <message>"`` for every failed or unreachable task result in a json callback report."""
    failed = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if (result.get("failed") and not result.get("ignore_errors")) or result.get("unreachable"):
                    failed.append("%s on %s: %s" % (task["task"]["name"], host, result.get("msg")))
    return failed


def _iso_seconds(stamp):
    from datetime import datetime
    return datetime.strptime(stamp.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f").timestamp()


# ---------------------------------------------------------------------------
# The table and the machine


HEADER = ("Part", "Case", "Measured", "Median", "Baseline", "Baseline median", "Ratio", "Goal", "Met")


def table(rows):
    """The rows as a Markdown table (it also reads well in a terminal)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for dummy in HEADER) + "|"]
    for row in rows:
        cells = (row.part, row.case, row.subject, value_text(row.value, row.unit), row.baseline or "",
                 value_text(row.baseline_value, row.unit) if row.baseline_value else "",
                 ratio_text(row.ratio), row.goal_text,
                 {True: "yes", False: "**no**", None: ""}[row.met])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def value_text(value, unit):
    if unit == "us":
        return "%.2f µs/packet" % value
    if unit in ("pps", "commands", "transitions", "tasks"):
        return "%.0f %s" % (value, unit)
    if unit == "%":
        return "%.2f %% of a core" % value
    if unit == "MB":
        return "%.1f MB" % value
    return "%.3f s" % value if value < 100 else "%.0f s" % value


def machine():
    """``[(what, value)]`` describing the machine and the tools the numbers depend on."""
    from ansible.release import __version__ as ansible_core
    memory_kib = int(_first_line("/proc/meminfo", "MemTotal:").split()[1])
    described = [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        ("CPU", (_first_line("/proc/cpuinfo", "model name") or "?").split(":", 1)[-1].strip()),
        ("nproc", str(os.cpu_count())),
        ("memory", "%.1f GiB" % (memory_kib / 1048576.0)),
        ("kernel", platform.release()),
        ("iproute2", _tool_version(["ip", "-V"])),
        ("nftables", _tool_version(["nft", "--version"])),
        ("python", platform.python_version()),
        ("ansible-core", ansible_core),
        ("librouteros", _package_version("librouteros")),
        ("community.routeros", _collection_version("community", "routeros")),
        ("iperf3", _tool_version(["iperf3", "--version"])),
    ]
    return described


def _first_line(path, prefix):
    with open(path) as handle:
        for line in handle:
            if line.startswith(prefix):
                return line.strip()
    return ""


def _tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "not installed"
    return out.splitlines()[0].strip() if out else "?"


def _package_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _collection_version(namespace, name):
    import importlib
    try:
        package = importlib.import_module("ansible_collections.%s.%s" % (namespace, name))
    except ImportError:
        return "not installed"
    manifest = os.path.join(os.path.dirname(package.__file__ or list(package.__path__)[0] + "/x"), "MANIFEST.json")
    try:
        with open(manifest) as handle:
            return json.load(handle)["collection_info"]["version"]
    except (OSError, KeyError, ValueError):
        return "?"


def ratio_text(ratio):
    if ratio is None:
        return ""
    return "%.2fx" % ratio if ratio >= 0.1 else "%.2gx" % ratio
