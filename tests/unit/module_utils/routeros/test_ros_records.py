"""The shared RouterOS pieces: the ownership tag, and what reads a field table."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records


@pytest.mark.parametrize("comment, parsed", [
    ("multiwan.pbr:dns resolvers of ISP 2", (True, "dns", "resolvers of ISP 2")),
    ("multiwan.pbr:dns", (True, "dns", None)),
    ("multiwan.pbr", (True, None, None)),
    ("multiwan.pbr ISP 2", (True, None, "ISP 2")),
    ("multiwan.pbrX", (False, None, "multiwan.pbrX")),
    ("office VPN multiwan.pbr:dns", (False, None, "office VPN multiwan.pbr:dns")),
    (None, (False, None, None)),
    (123, (False, None, "123")),      # librouteros casts a numeric comment
])
def test_the_tag_is_read_back(comment, parsed):
    assert records.parse_comment(comment) == parsed


@given(name=st.one_of(st.none(), st.from_regex(records.NAME_PATTERN, fullmatch=True)),
       comment=st.one_of(st.none(), st.text(min_size=1)))
def test_compose_and_parse_are_inverse(name, comment):
    assert records.parse_comment(records.compose_comment(name, comment)) == (True, name, comment)


@pytest.mark.parametrize("row, configuration", [
    ({".id": "*0", "name": "main", "dynamic": "true"}, False),
    ({".id": "*40000001", "chain": "local", "default": "true"}, False),     # a 7.22 built-in rule
    ({".id": "*3", "table": "wan2", "default": "false"}, True),
    ({".id": "*3", "table": "wan2"}, True),
])
def test_dynamic_and_built_in_entries_are_not_configuration(row, configuration):
    assert records.is_configuration(row) is configuration
