"""routeros_dst_routing checks the whole inventory before its first task that talks to the router."""

import os

import yaml

TASKS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "routeros_dst_routing", "tasks", "main.yml")


def test_the_layout_with_every_input_is_computed_before_any_module_runs():
    with open(TASKS) as handle:
        tasks = yaml.safe_load(handle)
    first = tasks[0]
    assert "ansible.builtin.set_fact" in first
    layout = first["ansible.builtin.set_fact"]["routeros_dst_routing_layout"]
    for variable in ("routeros_pbr_wans", "routeros_pbr_destinations", "routeros_pbr_output_exclusions",
                     "routeros_pbr_rule_placement"):
        assert variable in layout
    modules = [key for task in tasks for inner in task.get("block", [task]) for key in inner
               if key.startswith("multiwan.pbr.")]
    assert modules and all(not key.startswith("multiwan.pbr.") for key in first)
