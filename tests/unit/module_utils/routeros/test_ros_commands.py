"""RouterOS commands as data: the CLI text users see, the API sentence the runner sends, and
which writes may be in flight together whatever order RouterOS runs them in."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.commands import (
    FLAG, UNSET, Added, ApiCommand, InFlight, quote)

RULES, TABLES, ROUTES = "/routing/rule", "/routing/table", "/ip/route"
NEW = Added(RULES, "multiwan.pbr:new")


def ids(value):
    return {NEW: "*9"}.get(value, value)


@pytest.mark.parametrize("command, text, sentence", [
    (ApiCommand(RULES, "add", None, (("dst-address", "192.0.2.0/24"), ("comment", "multiwan.pbr:a b"))),
     '/routing rule add dst-address=192.0.2.0/24 comment="multiwan.pbr:a b"',
     ["/routing/rule/add", "=dst-address=192.0.2.0/24", "=comment=multiwan.pbr:a b"]),
    (ApiCommand(TABLES, "add", None, (("name", "wan2"), ("fib", FLAG))),
     "/routing table add name=wan2 fib", ["/routing/table/add", "=name=wan2", "=fib="]),
    (ApiCommand(RULES, "set", "*3", (("table", "wan2"), ("interface", UNSET), ("min-prefix", UNSET))),
     "/routing rule set *3 table=wan2; /routing rule unset *3 value-name=interface; "
     "/routing rule unset *3 value-name=min-prefix",
     ["/routing/rule/set", "=.id=*3", "=table=wan2", "=!interface=", "=!min-prefix="]),
    (ApiCommand(TABLES, "set", "*2", (("fib", UNSET),)),
     "/routing table unset *2 value-name=fib", ["/routing/table/set", "=.id=*2", "=!fib="]),
    (ApiCommand(ROUTES, "remove", "*80000002"), "/ip route remove *80000002",
     ["/ip/route/remove", "=.id=*80000002"]),
    (ApiCommand(RULES, "move", (NEW,), (("destination", "*2"),)),
     "/routing rule move [find comment=multiwan.pbr:new] destination=*2",
     ["/routing/rule/move", "=numbers=*9", "=destination=*2"]),
    (ApiCommand(RULES, "move", ("*3", NEW)), "/routing rule move *3,[find comment=multiwan.pbr:new]",
     ["/routing/rule/move", "=numbers=*3,*9"]),
])
def test_text_and_sentence_come_from_the_same_parts(command, text, sentence):
    assert command.text == text
    assert command.sentence(ids) == sentence


@settings(max_examples=150)
@given(value=st.text())
def test_any_value_reaches_the_api_as_itself_and_the_cli_quoted(value):
    command = ApiCommand(RULES, "add", None, (("comment", value),))
    assert command.sentence() == ["/routing/rule/add", "=comment=" + value]
    assert command.text == "/routing rule add comment=" + quote(value)


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
    assert quote(value) == expected


def add(menu, **attributes):
    return ApiCommand(menu, "add", None, tuple((key.replace("_", "-"), value) for key, value in attributes.items()))


def in_flight(*commands):
    pending = InFlight()
    for command in commands:
        pending.add(command)
    return pending


@pytest.mark.parametrize("earlier, later", [
    # a move of an entry an add in flight creates: it needs the .id
    (add(RULES, comment="multiwan.pbr:new"), ApiCommand(RULES, "move", (NEW,), (("destination", "*1"),))),
    # any move after an add in its ordered menu: where the add lands decides where "the end" is
    (add(RULES, comment="multiwan.pbr:x"), ApiCommand(RULES, "move", ("*3",))),
    (ApiCommand(RULES, "move", ("*3",), (("destination", "*1"),)), add(RULES, comment="multiwan.pbr:y")),
    # a route or rule naming a table an add in flight creates
    (add(TABLES, name="wan3"), add(ROUTES, gateway="192.0.2.1", routing_table="wan3")),
    (add(TABLES, name="wan3"), add(ROUTES, gateway="192.0.2.1@wan3")),
    (add(TABLES, name="wan3"), add(RULES, table="wan3")),
    # one entry, two changes
    (ApiCommand(ROUTES, "set", "*80000002", (("distance", "2"),)), ApiCommand(ROUTES, "remove", "*80000002")),
    (ApiCommand(RULES, "remove", "*1"), ApiCommand(RULES, "move", ("*3",), (("destination", "*1"),))),
    # a table goes only after every other write, and nothing follows it unseen
    (ApiCommand(RULES, "remove", "*3"), ApiCommand(TABLES, "remove", "*4")),
    (ApiCommand(TABLES, "remove", "*4"), add(ROUTES, gateway="192.0.2.1")),
    # the recursive-route pattern: the default via a monitor target after the host route to it
    (add(ROUTES, dst_address="198.18.2.2/32", gateway="192.0.2.1", scope="10", routing_table="wan1"),
     add(ROUTES, gateway="198.18.2.2@wan1", target_scope="11", check_gateway="ping", routing_table="wan1")),
    (add(ROUTES, dst_address="198.18.2.0/24", gateway="192.0.2.1", scope="10"),
     ApiCommand(ROUTES, "set", "*80000003", (("gateway", "198.18.2.2,198.18.3.3"),))),
    (ApiCommand(ROUTES, "set", "*80000002", (("dst-address", "198.18.2.2/32"),)),
     add(ROUTES, gateway="198.18.2.2", target_scope="11")),
    (ApiCommand(ROUTES, "set", "*80000002", (("scope", "10"),)),        # the host route becomes one to resolve by
     ApiCommand(ROUTES, "set", "*80000003", (("gateway", "198.18.2.2@wan1"),))),
    # a route goes only once the routes that resolved through it have moved off
    (ApiCommand(ROUTES, "set", "*80000003", (("gateway", "198.18.3.3@wan1"),)), ApiCommand(ROUTES, "remove", "*80000002")),
])
def test_a_dependent_write_waits_for_its_prerequisites_reply(earlier, later):
    assert in_flight(earlier).must_wait(later)


@pytest.mark.parametrize("earlier, later", [
    (add(RULES, comment="multiwan.pbr:a"), add(RULES, comment="multiwan.pbr:b")),
    (add(TABLES, name="wan3"), add(TABLES, name="wan4")),
    (add(TABLES, name="wan3"), add(ROUTES, gateway="192.0.2.1", routing_table="wan2")),
    (ApiCommand(RULES, "set", "*3", (("table", "wan2"),)), ApiCommand(RULES, "move", ("*3",))),
    (ApiCommand(RULES, "remove", "*3"), ApiCommand(RULES, "remove", "*4")),
    (ApiCommand(TABLES, "remove", "*4"), ApiCommand(TABLES, "remove", "*5")),
    (add(ROUTES, gateway="192.0.2.1"), ApiCommand(ROUTES, "set", "*80000002", (("distance", "2"),))),
    # a route of the default scope (30) resolves no gateway of the default target-scope (10)
    (add(ROUTES, gateway="192.0.2.1"), add(ROUTES, dst_address="10.0.0.0/8", gateway="198.51.100.1")),
    (add(ROUTES, dst_address="198.18.2.2/32", gateway="192.0.2.1"), add(ROUTES, gateway="198.18.2.2")),
    # another address, another table, or a gateway on an interface's link needs no lookup
    (add(ROUTES, dst_address="198.18.2.2/32", gateway="192.0.2.1", scope="10"),
     add(ROUTES, gateway="198.18.3.3", target_scope="11")),
    (add(ROUTES, dst_address="198.18.2.2/32", gateway="192.0.2.1", scope="10", routing_table="wan2"),
     add(ROUTES, gateway="198.18.2.2@wan1", target_scope="11")),
    (add(ROUTES, dst_address="198.18.2.2/32", gateway="192.0.2.1", scope="10"),
     add(ROUTES, gateway="198.18.2.2%ether1", target_scope="11")),
    (ApiCommand(ROUTES, "remove", "*80000002"), ApiCommand(ROUTES, "remove", "*80000003")),
])
def test_independent_writes_share_a_window(earlier, later):
    assert not in_flight(earlier).must_wait(later)


def test_nothing_in_flight_means_nothing_to_wait_for():
    pending = in_flight(add(TABLES, name="wan3"))
    pending.clear()
    assert len(pending) == 0 and not pending.must_wait(add(ROUTES, routing_table="wan3"))
