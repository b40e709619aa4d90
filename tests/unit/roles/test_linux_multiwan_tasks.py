"""The order of linux_multiwan's tasks is what makes bad input change nothing (issue 11, defect 7).

The role's task files are read as data and flattened (imports and includes expanded, blocks opened);
each task is either a check or read (it changes nothing by construction) or a change. The inventory
check must come before every change, the package installation included; everything after it is one
multiwan.pbr.linux_router task, which checks every module's input against the router before its first change,
unless the router lacks a package: then it changes nothing, the packages are installed, and it runs again.
"""

import os

import yaml

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "linux_multiwan")
TASKS = os.path.join(ROLE, "tasks")
# Modules that only look (or only print): a task of theirs changes nothing whatever its arguments.
LOOKING = {"ansible.builtin.assert", "ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.stat"}
PBR_MODULES = {"multiwan.pbr.pbr_table", "multiwan.pbr.pbr_rule", "multiwan.pbr.nft_connmark"}
ROUTER = "multiwan.pbr.linux_router"
TASK_KEYWORDS = {"name", "when", "vars", "register", "check_mode", "diff", "changed_when", "failed_when", "loop",
                 "loop_control", "delegate_to", "become", "block", "tags", "module_defaults", "no_log"}
VALIDATE = "Check the inventory with the modules' own checks (nothing on the router is read or changed)"


def flattened(file_name, inherited=None):
    """Every task of ``file_name`` in run order, with the ``vars``/``check_mode`` its blocks give it.
    A task file that does not exist yet (packages.yml) counts as one change."""
    path = os.path.join(TASKS, file_name)
    if not os.path.exists(path):
        return [{"name": "include " + file_name, "module": "include_tasks", "args": file_name, "file": file_name}]
    with open(path) as handle:
        tasks = yaml.safe_load(handle) or []
    return [flat for task in tasks for flat in _flatten(task, dict(inherited or {}, file=file_name))]


def _flatten(task, inherited):
    if "block" in task:
        keywords = dict(inherited, **dict((key, task[key]) for key in ("check_mode", "delegate_to") if key in task))
        keywords["when"] = _conditions(inherited, task)
        return [flat for inner in task["block"] for flat in _flatten(inner, keywords)]
    module = next(key for key in task if key not in TASK_KEYWORDS)
    if module in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks", "include_tasks", "import_tasks"):
        keywords = dict(inherited, **dict((key, task[key]) for key in ("vars",) if key in task))
        keywords["when"] = _conditions(inherited, task)
        return flattened(task[module], keywords)
    return [dict(inherited, **dict(task, module=module, args=task[module], when=_conditions(inherited, task)))]


def _conditions(inherited, task):
    """The ``when`` a task runs under: its blocks' and imports' conditions and its own, as a list."""
    own = task.get("when", [])
    return list(inherited.get("when", [])) + (own if isinstance(own, list) else [own])


def changes_something(task):
    module, args = task["module"], task["args"]
    if module in LOOKING:
        return False
    if module == "ansible.builtin.command":
        return task.get("changed_when") is not False       # a read the role declares as one
    if module in PBR_MODULES:
        return not (task.get("check_mode") is True or args.get("state") in ("rendered", "gathered"))
    return True


def runs_only_when_something_is_missing(task):
    return "linux_multiwan_router.missing" in str(task.get("when", ""))


def test_the_inventory_check_is_the_first_task_and_needs_no_router():
    tasks = flattened("main.yml")
    assert tasks[0]["name"] == VALIDATE and tasks[0]["module"] == "ansible.builtin.assert"
    assert "multiwan.pbr.multiwan_layout" in tasks[0]["vars"]["linux_multiwan_checked"]
    assert "interfaces" not in tasks[0]["vars"]["linux_multiwan_checked"]      # nothing read from the router


def test_every_change_comes_after_the_inventory_check():
    tasks = flattened("main.yml")
    first_change = next(index for index, task in enumerate(tasks) if changes_something(task))
    assert first_change > 0, tasks[first_change]["name"]


def test_the_first_change_is_the_converge_which_only_reports_what_is_missing():
    # linux_router plans every module's change against the router before it makes the first one
    # (tests/integration/test_linux_router.py); run first, it changes nothing on a router that lacks a package
    tasks = flattened("main.yml")
    first = next(task for task in tasks if changes_something(task))
    assert first["module"] == ROUTER and first["vars"]["linux_multiwan_report_missing"] is True
    assert first["register"] == "linux_multiwan_router"


def test_packages_are_installed_only_when_the_converge_said_they_are_missing_and_then_it_runs_again():
    tasks = flattened("main.yml")
    packages = [index for index, task in enumerate(tasks) if task["file"] == "packages.yml"]
    assert packages and all(runs_only_when_something_is_missing(tasks[index]) for index in packages)
    again = [index for index, task in enumerate(tasks) if task["module"] == ROUTER][1]
    assert runs_only_when_something_is_missing(tasks[again]) and again > max(packages)
    assert tasks[again]["vars"]["linux_multiwan_report_missing"] == "{{ ansible_check_mode }}"


def test_a_router_that_has_everything_is_converged_in_one_remote_task():
    # issue 15: a no-change converge within 3x a one-task playbook; every remote task is a round trip
    tasks = flattened("main.yml")
    remote = [task["name"] for task in tasks if task["module"] not in LOOKING
              and not runs_only_when_something_is_missing(task)]
    assert remote == ["Converge the router (read it, check every change against it, then make them)"]


def test_the_role_calls_no_resource_module_of_its_own():
    # one process plans and applies them all; a task of its own would plan against a router the converge changed
    assert not [task["name"] for task in flattened("main.yml") if task["module"] in PBR_MODULES]
