"""The shared RouterOS pieces: the ownership tag, CLI quoting, CLI lines back to API words."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import records
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import Find, api_sentences


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


@settings(max_examples=150)
@given(value=st.text())
def test_any_value_survives_quoting_and_the_way_back(value):
    line = "/routing rule add comment=%s" % records.quote(value)
    assert api_sentences(line) == [("/routing/rule/add", [("comment", value)], None)]


def test_set_unset_move_and_find_become_api_words():
    line = ('/routing rule set *3 table=wan2 comment="a b"; /routing rule unset *3 value-name=interface')
    assert api_sentences(line) == [
        ("/routing/rule/set", [("table", "wan2"), ("comment", "a b")], "*3"),
        ("/routing/rule/unset", [("value-name", "interface")], "*3"),
    ]
    assert api_sentences('/routing rule move [find comment="multiwan.pbr:a x"] destination=*1') == [
        ("/routing/rule/move", [("destination", "*1")], Find("multiwan.pbr:a x"))]
    assert api_sentences("/routing table add name=wan2 fib comment=multiwan.pbr") == [
        ("/routing/table/add", [("name", "wan2"), ("fib", ""), ("comment", "multiwan.pbr")], None)]
    assert api_sentences("/ip route remove *80000002") == [("/ip/route/remove", [], "*80000002")]


@pytest.mark.parametrize("value, expected", [
    ("192.0.2.0/24", "192.0.2.0/24"),
    ("", '""'),
    ("a b", '"a b"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("$x?", '"\\$x\\?"'),
    ("line\nbreak", '"line\\nbreak"'),
    ("\x01", '"\\01"'),
])
def test_quoting_is_routeros_cli_quoting(value, expected):
    assert records.quote(value) == expected
