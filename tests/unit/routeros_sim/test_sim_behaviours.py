"""Behaviour switches as data: values, the environment, and that every switch is documented and
has a real-router check."""

import os

import pytest

from routeros_sim.behaviours import settings, variant_id, variants
from routeros_sim.state import Behaviour, RouterState, switch_values

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
README = os.path.join(ROOT, "tests", "routeros_sim", "README.md")
CHR = os.path.join(ROOT, "roles", "routeros_dst_routing", "molecule", "chr")


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_every_switch_has_a_row_with_its_evidence_in_the_readme():
    readme = read(README)
    for name, values in switch_values().items():
        (row,) = [line for line in readme.splitlines() if line.startswith(f"| `{name}`")]
        assert row.count("|") >= 4 and len(row.split("|")[3].strip()) > 40, name


def test_every_switch_has_a_real_router_check_that_the_chr_scenario_prints():
    checks = read(os.path.join(CHR, "real-router-checks.rsc"))
    for name in switch_values():
        assert f" {name}" in checks, name
    create = read(os.path.join(CHR, "create.yml"))
    assert "lookup('ansible.builtin.file', 'real-router-checks.rsc')" in create
    assert "roles/routeros_dst_routing/molecule/chr/real-router-checks.rsc" in create   # said when skipped


def test_values_are_checked_and_round_trip_through_text():
    with pytest.raises(ValueError, match="builtin_rules='sometimes'"):
        Behaviour(builtin_rules="sometimes")
    with pytest.raises(ValueError, match="no switch 'colour'"):
        Behaviour.from_text("colour=blue")
    for behaviour in variants(*switch_values()):
        assert Behaviour.from_text(behaviour.describe()) == behaviour
    assert variant_id(Behaviour()) == "defaults"
    assert settings("table_removal") == ["table_removal=refuse", "table_removal=cascade"]


def test_a_router_state_without_a_behaviour_reads_the_environment(monkeypatch):
    monkeypatch.setenv("ROUTEROS_SIM_BEHAVIOUR", "login_methods=challenge execution_seed=4")
    assert RouterState().behaviour == Behaviour(login_methods=("challenge",), execution_seed=4)
    assert RouterState(behaviour=Behaviour()).behaviour == Behaviour()
