"""core.role_input: a role's configs checked by the modules' engines, refusals named after the inventory."""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.role_input import (
    Entry, Source, checked_records, last_option)
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_rule
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_route

RULE = {"priority": 2000, "ipproto": "tcp", "dport": "443", "table": 101}
POLICY = {"name": "https", "wan": "isp1", "dport": "443"}


def entry(config, **sources):
    return Entry(config, "multiwan_policies[3]", POLICY,
                 dict((option, Source(variable, value)) for option, (variable, value) in sources.items()))


@pytest.mark.parametrize("field, option", [
    ("config[priority=2020].dport", "dport"), ("routes.nexthops.dev", "dev"), ("wans[1].device", "device"),
    ("exclude.devices[0]", "devices"), ("table", "table")])
def test_the_last_option_of_an_engine_field(field, option):
    assert last_option(field) == option


def test_an_engine_refusal_names_the_inventory_value_it_came_from():
    with pytest.raises(InvalidInput) as raised:
        checked_records(pbr_rule.ENGINE, {}, [entry(dict(RULE, dport="http"),
                                                    dport=("multiwan_policies[3].dport", "http"))])
    assert (raised.value.field, raised.value.value) == ("multiwan_policies[3].dport", "http")


def test_without_a_source_the_refusal_names_the_variable_and_the_engine_field():
    with pytest.raises(InvalidInput) as raised:
        checked_records(pbr_rule.ENGINE, {}, [entry(dict(RULE, dport="http"))])
    assert (raised.value.field, raised.value.value) == ("multiwan_policies[3]", POLICY)
    assert "pbr_rule refuses config[priority=2000].dport='http'" in raised.value.reason


def test_an_argument_spec_refusal_is_traced_to_the_option_it_refused():
    # ansible-core's validator names only the entry (config[0]); each option is tried alone to find it
    route = {"name": "fiber-default", "gateway": "192.0.2.1", "distance": "near"}
    with pytest.raises(InvalidInput) as raised:
        checked_records(ros_route.ENGINE, {}, [entry(route, distance=("routeros_pbr_wans[0].distance", "near"))])
    assert (raised.value.field, raised.value.value) == ("routeros_pbr_wans[0].distance", "near")


def test_two_entries_making_one_record_are_refused_naming_both():
    first = Entry(RULE, "multiwan_policies[0]", {})
    second = Entry(dict(RULE, dport="80"), "multiwan_policies[1]", {})
    with pytest.raises(InvalidInput) as raised:
        checked_records(pbr_rule.ENGINE, {}, [first, second])
    assert raised.value.field == "multiwan_policies[1]" and "multiwan_policies[0]" in raised.value.reason


def test_the_records_are_what_the_module_would_apply():
    records = checked_records(pbr_rule.ENGINE, {"protocol": "211"}, [Entry(RULE, "multiwan_policies[0]", {})])
    assert [(record.priority, record.dport, record.protocol) for record in records] == [(2000, (443, 443), 211)]
