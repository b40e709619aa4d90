"""A smoke run of the benches of ``make bench`` (``bench/``): tiny sizes, one run each.

It checks that every bench still runs end to end against the real kernel and the simulator and
produces its rows (with their baselines, ratios and goals), not how fast anything is. The benches
check the job itself as they go: every way of applying leaves the same rules and routes, both
RouterOS modules leave the same rules, the data-path flow carries its WAN's mark. Part 5 (site.yml
against the podman lab) takes minutes and runs only in ``make bench``; part 6 (failover) brings up a lab
of its own and runs one trial per fault kind, about a minute (marker ``lab``).
"""

import importlib
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

common = importlib.import_module("common")
QUICK = common.Settings(runs=1, quick=True)


def run_part(name):
    rows, notes = importlib.import_module(name).run(QUICK)
    assert notes == []          # profiles are taken in full runs only
    assert rows and all(row.value > 0 for row in rows)
    assert all(row.ratio is not None for row in rows if row.baseline)
    assert all(row.met is not None for row in rows if row.goal)
    return rows


def subjects(rows, case):
    return [row.subject for row in rows if row.case == case]


def goals(rows, module):
    return [(row.case, row.subject, row.baseline, row.goal) for row in rows if row.goal and row.subject.startswith(module)]


@pytest.mark.netns
def test_rules_bench_measures_the_module_against_the_floors_the_dump_and_the_loop():
    rows = run_part("linux_rules")
    assert subjects(rows, "apply N=20") == [
        "ip -batch file (floor)", "pbr_rule, bare process", "pbr_rule, bare process",
        "pbr_rule, task in ansible-playbook", "pbr_rule, task in ansible-playbook",
        "pbr_rule, whole ansible-playbook run", "ansible.builtin.command loop (extrapolated)",
        "pbr_rule, task in ansible-playbook"]
    assert subjects(rows, "no change N=20")[:3] == [
        "one `ip -json rule show`", "module floor, bare process",
        "module floor without the config argument, bare process"]
    assert "module floor, task in ansible-playbook" in subjects(rows, "no change N=20")
    assert goals(rows, "pbr_rule") == [
        ("apply N=20", "pbr_rule, bare process", "ip -batch floor + module floor (bare)", 1.5),
        ("apply N=20", "pbr_rule, task in ansible-playbook", "ip -batch floor + module floor (task)", 1.5),
        ("no change N=20", "pbr_rule, bare process", "module floor, bare process", 2.0),
        ("no change N=20", "pbr_rule, task in ansible-playbook", "module floor, task in ansible-playbook", 2.0)]
    assert "extrapolated x20" in rows[-3].note
    assert subjects(rows, "reference") == ["python + `import AnsibleModule` (fixed cost of any module process)"]


@pytest.mark.netns
def test_routes_bench_measures_pbr_table_in_four_tables():
    rows = run_part("linux_routes")      # bare module only: part 1's smoke covers the playbook and the loop
    assert subjects(rows, "apply N=20") == ["ip -batch file (floor)", "pbr_table, bare process", "pbr_table, bare process"]
    assert subjects(rows, "no change N=20") == [
        "one `ip -json route show table all`", "module floor, bare process",
        "module floor without the config argument, bare process"] + ["pbr_table, bare process"] * 3
    assert goals(rows, "pbr_table") == [
        ("apply N=20", "pbr_table, bare process", "ip -batch floor + module floor (bare)", 1.5),
        ("no change N=20", "pbr_table, bare process", "module floor, bare process", 2.0)]


@pytest.mark.routeros
def test_routeros_bench_compares_with_api_modify_and_no_change_is_one_print():
    rows = run_part("routeros")
    for latency in (0, 20):
        case = "20 rules, %d ms converge" % latency
        assert subjects(rows, case) == ["api_modify, bare process", "ros_routing_rule, bare process"]
    one_print = [row for row in rows if row.unit == "commands"]
    assert len(one_print) == 2 and all(row.value == 1 and row.met for row in one_print)


@pytest.mark.netns
def test_data_path_bench_forwards_with_every_ruleset_and_table_size():
    rows = run_part("datapath")     # every ruleset loads, forwards, and gives the flow WAN1's mark (checked inside)
    connmark = ["nft_connmark, %d WANs" % wans for wans in (2, 8, 32)]
    field_note = ["field note ruleset (nft, seed 001), %d WANs" % wans for wans in (2, 8, 32)]
    mwan3 = ["mwan3-style ruleset (iptables-nft, seed 002), %d WANs" % wans for wans in (2, 8, 32)]
    against_no_table = [row.subject for row in rows if row.baseline == "no table"]
    assert against_no_table == ["conntrack only (one `ct state new` rule)"] + [
        subject for triple in zip(connmark, field_note, mwan3) for subject in triple]
    goals = [(row.subject, row.baseline, row.goal) for row in rows if row.goal]
    assert goals == [(connmark[1], connmark[0], 1.1), (connmark[2], connmark[0], 1.1)] + [
        (ours, theirs, 1.0) for alternative in (field_note, mwan3) for ours, theirs in zip(connmark, alternative)]
    assert all(row.unit == "us" and row.samples for row in rows)


def test_report_has_the_machine_the_table_and_every_sample():
    row = common.Row("1 ip rule", "apply N=1", "pbr_rule, bare process", 3.0, baseline="floor", baseline_value=2.0,
                     goal=1.5, samples=[2.9, 3.0, 3.1])
    report = importlib.import_module("run").render_report([row], [("a profile", ["  1.000 s  stage"])],
                                                          [("1", 4.0)], [("5", "RuntimeError: lab down")],
                                                          QUICK)
    assert "| 1 ip rule | apply N=1 | pbr_rule, bare process | 3.000 s | floor | 2.000 s | 1.50x | <= 1.5x | yes |" \
        in report
    assert "- nproc: %d" % os.cpu_count() in report
    assert "- part 5: RuntimeError: lab down" in report
    assert "- 1 ip rule apply N=1, pbr_rule, bare process: 2.900, 3.000, 3.100" in report


@pytest.mark.netns
def test_renumber_bench_times_a_new_lease_to_new_flows_against_the_goal():
    rows = run_part("renumber")
    assert [row.subject for row in rows] == ["agent (median)", "agent (max)"]
    assert rows[0].baseline_value == 2.0 and rows[0].goal == 1.0 and len(rows[0].samples) == 1
    assert "wan2 transitions during them: 0" in rows[0].note


def test_a_goal_may_be_a_limit_on_the_value_itself():
    row = common.Row("6 failover", "dead upstream", "new flows rerouted, median", 1.8, limit=3.0)
    assert row.met and row.goal_text == "<= 3.000 s" and row.ratio is None
    assert "| 6 failover | dead upstream | new flows rerouted, median | 1.800 s |  |  |  | <= 3.000 s | yes |" \
        in common.table([row])
    zero = common.Row("6 failover", "loss", "transitions", 1, unit="transitions", limit=0)
    assert zero.met is False and common.value_text(0.4, "%") == "0.40 % of a core"
    report = importlib.import_module("run").render_report([row, zero], [], [("6", 60.0)], [], QUICK, later_run="6")
    assert ", a later run (" in report.splitlines()[0] and "part(s) 6)" in report.splitlines()[0]
    assert "- missed: 6 failover loss, transitions (1 transitions, goal <= 0 transitions)" in report


@pytest.mark.lab
def test_failover_bench_reroutes_each_fault_kind_beside_the_anchors_and_measures_the_agent():
    rows, notes = importlib.import_module("failover").run(QUICK)     # a lab of its own, one trial per fault kind
    assert notes == []
    cases = ["carrier loss (link-down)", "dead gateway (gateway-dead)", "dead upstream behind a live gateway (blackhole)"]
    for case in cases:
        assert subjects(rows, case)[:2] == ["new flows rerouted (by traffic), median", "new flows rerouted (by traffic), max"]
        assert all(0 < row.value < 30 for row in rows if row.case == case)
    limits = [(row.case, row.subject, row.limit) for row in rows if row.limit is not None]
    assert limits == [(cases[0], "new flows rerouted (by traffic), median", 1.0),
                      (cases[2], "new flows rerouted (by traffic), median", 3.0),
                      ("10 % random loss on both WANs, 5 s", "the agent's transitions (false failovers)", 0),
                      ("agent, 8 WANs x 3 targets", "CPU", 1.0), ("agent, 8 WANs x 3 targets", "peak RSS (VmHWM)", 30.0)]
    anchors = [row.baseline for row in rows if row.case == cases[1] and row.baseline]
    assert [anchor.split(" defaults")[0] for anchor in anchors] == ["mwan3", "RouterOS check-gateway", "dpinger"]
    assert subjects(rows, "anchors' documented defaults") == [
        "mwan3 defaults", "RouterOS check-gateway defaults", "dpinger defaults + 20 % loss alarm"]
    assert all(row.met is not None for row in rows if row.limit is not None)
