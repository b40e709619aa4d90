"""Value types: how the simulator normalises what clients write."""

import pytest

from routeros_sim import Behaviour, RouterState, Trap
from routeros_sim.values import (AddressListEntry, Boolean, Duration, EnumSet, Gateway, Integer,
                                 Negatable, Prefix)


@pytest.fixture
def state():
    return RouterState()


def parse(value_type, raw, state):
    return value_type.parse("arg", raw, state)


@pytest.mark.parametrize("raw, keep, drop", [
    ("8.8.8.8", "8.8.8.8/32", "8.8.8.8"),
    ("8.8.8.8/32", "8.8.8.8/32", "8.8.8.8"),
    ("10.1.2.3/8", "10.0.0.0/8", "10.0.0.0/8"),
    ("2001:db8::1/32", "2001:db8::/32", "2001:db8::/32"),
])
def test_prefixes_keep_or_drop_the_host_length(state, raw, keep, drop):
    assert parse(Prefix("keep"), raw, state) == keep
    assert parse(Prefix("drop"), raw, state) == drop


def test_host_bits_policy(state):
    state.behaviour = Behaviour(host_bits="keep")
    assert parse(Prefix("keep"), "10.1.2.3/8", state) == "10.1.2.3/8"
    state.behaviour = Behaviour(host_bits="refuse")
    with pytest.raises(Trap, match="invalid value for argument arg"):
        parse(Prefix("keep"), "10.1.2.3/8", state)


@pytest.mark.parametrize("raw, printed", [
    ("yes", "true"), ("true", "true"), ("no", "false"), ("false", "false")])
def test_booleans_print_true_false(state, raw, printed):
    assert parse(Boolean(), raw, state) == printed


@pytest.mark.parametrize("raw, printed", [
    ("24h", "1d"), ("3600", "1h"), ("01:00:00", "1h"), ("1d01:02:03", "1d1h2m3s"),
    ("90m", "1h30m"), ("0", "0s"), ("1w", "1w")])
def test_durations_print_canonically(state, raw, printed):
    assert parse(Duration(), raw, state) == printed


def test_enum_sets_print_in_routeros_order_and_negate(state):
    states = Negatable(EnumSet(("established", "invalid", "new", "related", "untracked")))
    assert parse(states, "related,new,established", state) == "established,new,related"
    assert parse(states, "!invalid", state) == "!invalid"
    with pytest.raises(Trap, match="input does not match any value of arg"):
        parse(states, "bogus", state)


def test_integers_check_type_and_range(state):
    assert parse(Integer(1, 255), "007", state) == "7"
    with pytest.raises(Trap, match=r"out of range \(1..255\)"):
        parse(Integer(1, 255), "0", state)


def test_address_list_entries(state):
    entry = AddressListEntry()
    assert parse(entry, "10.10.10.10/32", state) == "10.10.10.10"
    assert parse(entry, "192.0.2.1-192.0.2.9", state) == "192.0.2.1-192.0.2.9"
    assert parse(entry, "Example.COM", state) == "example.com"
    with pytest.raises(Trap):
        parse(AddressListEntry(allow_names=False), "example.com", state)


def test_gateways(state):
    gateway = Gateway()
    assert parse(gateway, "192.0.2.1@main", state) == "192.0.2.1@main"      # kept: it says where to resolve
    assert gateway.show(parse(gateway, "192.0.2.1@main,192.0.2.2@wan1", state), state) == "192.0.2.1,192.0.2.2@wan1"
    assert parse(gateway, "192.0.2.1%ether1,ether2", state) == "192.0.2.1%ether1,ether2"
    with pytest.raises(Trap, match="input does not match any value of arg"):
        parse(gateway, "192.0.2.1%eth9", state)
