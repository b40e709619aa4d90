"""The ``?`` query stack machine (API doc, "Queries")."""

import pytest

from routeros_sim import query
from routeros_sim.traps import Trap

ETHER = {"name": "ether1", "type": "ether", "mtu": "1500", "disabled": "false"}
VLAN = {"name": "vlan7", "type": "vlan", "mtu": "1500", "disabled": "true", "comment": "x"}
BRIDGE = {"name": "br", "type": "bridge", "mtu": "9000", "disabled": "false"}
ROWS = (ETHER, VLAN, BRIDGE)                # a tuple: it is the default argument of names()


def names(words, rows=ROWS, normaliser_for=lambda name: None):
    return [row["name"] for row in rows if query.matches(words, row, normaliser_for)]


@pytest.mark.parametrize("words, expected", [
    ([], ["ether1", "vlan7", "br"]),
    (["?type=ether"], ["ether1"]),
    (["?=type=ether"], ["ether1"]),
    (["?type=ether", "?type=vlan", "?#|"], ["ether1", "vlan7"]),       # API doc example
    (["?type=ether", "?type=vlan"], []),                                # implicit AND
    (["?comment"], ["vlan7"]),
    (["?-comment"], ["ether1", "br"]),
    (["?>comment="], ["vlan7"]),                                        # non-empty comment
    (["?>mtu=1500"], ["br"]),
    (["?<mtu=9000"], ["ether1", "vlan7"]),
    (["?=type=ether", "?#!"], ["vlan7", "br"]),                         # librouteros `!=`
    (["?type=ether", "?type=vlan", "?type=bridge", "?#|", "?#|"], ["ether1", "vlan7", "br"]),
    (["?mtu=1500", "?disabled=false", "?#&"], ["ether1"]),
    (["?type=ether", "?#!!"], ["ether1"]),
    (["?type=vlan", "?type=ether", "?#1"], ["vlan7"]),                  # index at end: replace stack
    (["?type=vlan", "?type=ether", "?#1|", "?#0"], ["ether1", "vlan7"]),  # index then op: copy
    (["?type=vlan", "?#.!|"], ["ether1", "vlan7", "br"]),               # "." copies top
    (["?type=vlan", "?#0.!|"], ["ether1", "vlan7", "br"]),              # "." after index: no-op
    (["?type=bridge", "?type=vlan", "?type=ether", "?#|", "?#|", "?mtu=1500", "?#&"],
     ["ether1", "vlan7"]),
])
def test_query_words_select_rows(words, expected):
    assert names(words) == expected


def test_values_compare_typed_through_the_property_normaliser():
    booleans = {"disabled": lambda raw: {"yes": "true", "no": "false"}.get(raw, raw)}
    assert names(["?disabled=no"], normaliser_for=booleans.get) == ["ether1", "br"]
    assert names(["?=disabled=yes"]) == ["vlan7"]        # yes == true even without a type


def test_ids_and_addresses_order_numerically():
    rows = [{"name": "a", ".id": "*A"}, {"name": "b", ".id": "*1F"}]
    assert names(["?>.id=*B"], rows) == ["b"]
    prefixes = [{"name": "a", "dst-address": "10.0.0.0/8"}, {"name": "b", "dst-address": "9.0.0.0/8"}]
    assert names(["?<dst-address=10.0.0.0/8"], prefixes) == ["b"]


def test_unknown_operations_are_refused():
    with pytest.raises(Trap):
        query.validate(["?#x"])
    with pytest.raises(Trap):
        query.validate(["notaquery"])
