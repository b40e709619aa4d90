"""The order of linux_multiwan's tasks is what makes bad input change nothing (issue 11, defect 7).

The role's task files are read as data and flattened (imports and includes expanded, blocks opened);
each task is either a check or read (it changes nothing by construction) or a change. The inventory
check must come before every change, the package installation included, and every module's check
against the router before every change to the network.
"""

import os

import yaml

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "linux_multiwan")
TASKS = os.path.join(ROLE, "tasks")
# Modules that only look (or only print): a task of theirs changes nothing whatever its arguments.
LOOKING = {"ansible.builtin.assert", "ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.stat"}
PBR_MODULES = {"multiwan.pbr.pbr_table", "multiwan.pbr.pbr_rule", "multiwan.pbr.nft_connmark"}
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
        return [flat for inner in task["block"] for flat in _flatten(inner, keywords)]
    module = next(key for key in task if key not in TASK_KEYWORDS)
    if module in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks", "include_tasks", "import_tasks"):
        return flattened(task[module], inherited)
    return [dict(inherited, **dict(task, module=module, args=task[module]))]


def changes_something(task):
    module, args = task["module"], task["args"]
    if module in LOOKING:
        return False
    if module == "ansible.builtin.command":
        return task.get("changed_when") is not False       # a read the role declares as one
    if module in PBR_MODULES:
        return not (task.get("check_mode") is True or args.get("state") in ("rendered", "gathered"))
    return True


def test_the_inventory_check_is_the_first_task_and_needs_no_router():
    tasks = flattened("main.yml")
    assert tasks[0]["name"] == VALIDATE and tasks[0]["module"] == "ansible.builtin.assert"
    assert "multiwan.pbr.multiwan_layout" in tasks[0]["vars"]["linux_multiwan_checked"]
    assert "interfaces" not in tasks[0]["vars"]["linux_multiwan_checked"]      # nothing read from the router


def test_every_change_comes_after_the_inventory_check():
    tasks = flattened("main.yml")
    first_change = next(index for index, task in enumerate(tasks) if changes_something(task))
    assert first_change > 0, tasks[first_change]["name"]


def test_the_network_changes_come_after_every_modules_own_check():
    # packages.yml (a fresh router's iproute2 and nftables) may change the host before the modules can check
    # against it; every other change comes after their checks
    tasks = flattened("main.yml")
    checks = [index for index, task in enumerate(tasks)
              if task["module"] in PBR_MODULES and task.get("check_mode") is True]
    network_changes = [index for index, task in enumerate(tasks)
                       if changes_something(task) and task["file"] != "packages.yml"]
    assert checks and max(checks) < min(network_changes), [tasks[index]["name"] for index in network_changes[:1]]


def test_every_module_the_role_applies_has_checked_its_input_against_the_router_first():
    tasks = flattened("main.yml")
    for index, task in enumerate(tasks):
        if task["module"] in PBR_MODULES and changes_something(task):
            earlier = [check for check in tasks[:index] if check["module"] == task["module"]
                       and check.get("check_mode") is True]
            assert earlier, task["name"]
            assert _arguments(earlier[-1]) == _arguments(task), task["name"]


def _arguments(task):
    return dict((key, value) for key, value in task["args"].items() if key != "check_mode")


def test_the_addresses_are_read_before_the_layout_the_modules_get():
    tasks = flattened("main.yml")
    names = [task["name"] for task in tasks]
    read = names.index("Read the router's interfaces and addresses")
    computed = next(index for index, task in enumerate(tasks) if task["module"] == "ansible.builtin.set_fact"
                    and "linux_multiwan_layout" in task["args"])
    assert read < computed < min(index for index, task in enumerate(tasks) if task["module"] in PBR_MODULES)
