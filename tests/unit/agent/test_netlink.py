"""rtnetlink parsing against datagrams recorded from the kernel (tests/unit/fixtures/netlink/README.md)."""

import json
import os
import struct

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import netlink
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.netlink import (
    Address, DumpDone, DumpFailed, Link, Neighbour, Route)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "netlink")


def load(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


def records(datagrams):
    return [record for datagram in datagrams for record in netlink.parse(bytes.fromhex(datagram))]


@pytest.fixture(scope="module")
def dump():
    return records(load("dump.json")["datagrams"])


@pytest.fixture(scope="module")
def steps():
    return dict((step["what"], records(step["datagrams"])) for step in load("events.json")["steps"])


def of(kind, found, **fields):
    return [record for record in found if isinstance(record, kind)
            and all(getattr(record, name) == value for name, value in fields.items())]


def test_the_dump_ends_each_of_its_four_parts(dump):
    assert [record.seq for record in dump if isinstance(record, DumpDone)] == [1, 2, 3, 4]
    assert not of(DumpFailed, dump)


def test_links_in_the_dump(dump):
    wan1 = of(Link, dump, name="wan1")[0]
    assert (wan1.admin_up, wan1.carrier, wan1.operstate, wan1.deleted) == (True, True, "up", False)
    assert [link.name for link in of(Link, dump)] == ["lo", "wan1", "wan2"]


def test_addresses_in_the_dump(dump):
    wan1 = of(Link, dump, name="wan1")[0].index
    found = [(a.family, a.address, a.prefixlen, a.scope, a.usable) for a in of(Address, dump, index=wan1)]
    assert ("ipv4", "100.64.1.2", 24, 0, True) in found
    assert ("ipv6", "2001:db8:1::2", 64, 0, True) in found
    assert [f for f in found if f[0] == "ipv6" and f[1].startswith("fe80:")][0][3] == 253     # link scope


def test_neighbours_in_the_dump(dump):
    gateway = of(Neighbour, dump, address="100.64.1.1")[0]
    assert (gateway.family, gateway.state_name, gateway.failed) == ("ipv4", "permanent", False)
    assert of(Neighbour, dump, address="fe80::1")[0].state_name == "reachable"


def test_routes_in_the_dump(dump):
    defaults = [route for route in of(Route, dump) if route.is_default]
    by_table = dict(((route.family, route.table), route) for route in defaults)
    wan1 = of(Link, dump, name="wan1")[0].index
    wan2 = of(Link, dump, name="wan2")[0].index
    assert by_table[("ipv4", 101)].protocol == 211 and by_table[("ipv4", 101)].nexthops == (("100.64.1.1", wan1),)
    assert by_table[("ipv4", 254)].nexthops == (("100.64.1.1", wan1), ("100.64.2.1", wan2))
    ipv6 = by_table[("ipv6", 254)]
    assert (ipv6.protocol, ipv6.priority, ipv6.nexthops) == (9, 1024, (("fe80::1", wan1),))   # 9: ra
    connected = of(Route, dump, dst="100.64.1.0")[0]
    assert (connected.dst_len, connected.nexthops, connected.is_default) == (24, ((None, wan1),), False)


def test_carrier_lost_and_back(steps):
    lost = of(Link, steps["carrier lost: the peer's end goes down"], name="wan1")[-1]
    assert (lost.admin_up, lost.carrier, lost.operstate) == (True, False, "down")
    back = of(Link, steps["carrier back"], name="wan1")[-1]
    assert (back.carrier, back.operstate) == (True, "up")


def test_admin_down_and_up(steps):
    down = of(Link, steps["admin down"], name="wan2")[-1]
    assert (down.admin_up, down.carrier) == (False, False)
    up = of(Link, steps["admin up"], name="wan2")
    # the kernel reports IFF_LOWER_UP first and operstate up a moment later
    assert [(link.admin_up, link.carrier, link.operstate) for link in up] == [(True, True, "down"), (True, True, "up")]


def test_address_events(steps):
    added = of(Address, steps["an IPv4 address added"], address="100.64.1.3")
    removed = of(Address, steps["an IPv4 address deleted"], address="100.64.1.3")
    assert [a.deleted for a in added] == [False] and [a.deleted for a in removed] == [True]
    dad = of(Address, steps["an IPv6 address through DAD"], address="2001:db8:1::3")
    assert [a.usable for a in dad] == [False, True]         # tentative first


def test_neighbour_events(steps):
    resolved = of(Neighbour, steps["a neighbour resolved"], address="100.64.2.1")[-1]
    assert resolved.state_name == "reachable"
    failed = of(Neighbour, steps["a neighbour that never answers fails"], address="100.64.2.99")[-1]
    assert failed.failed and failed.state_name == "failed"


def test_learned_default_route_events(steps):
    added = [r for r in of(Route, steps["a learned default route"]) if r.is_default][0]
    assert (added.protocol, added.table, added.priority, added.nexthops[0][0], added.deleted) == \
        (16, 254, 100, "100.64.2.1", False)            # 16: dhcp
    removed = [r for r in of(Route, steps["the learned default route removed"]) if r.is_default][0]
    assert removed.deleted and removed.nexthops == added.nexthops


def test_link_deleted(steps):
    found = steps["the link deleted"]
    assert of(Link, found, name="wan2")[-1].deleted
    assert of(Address, found, address="100.64.2.2")[-1].deleted


def test_dump_request_layout():
    request = netlink.dump_request("link", 7)
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", request)
    assert (length, kind, flags, seq, pid) == (32, netlink.RTM_GETLINK, 0x301, 7, 0) and len(request) == 32
    assert len(netlink.dump_request("route", 1)) == 16 + 12


def test_garbage_and_foreign_families_are_skipped():
    data = bytes.fromhex(load("dump.json")["datagrams"][0])
    assert netlink.parse(data[:10]) == []
    truncated = netlink.parse(data[:-8])     # the last message is cut: it and nothing after it is skipped
    assert truncated == netlink.parse(data)[:len(truncated)]
    # a bridge (AF_BRIDGE = 7) neighbour entry is no ARP/NDP entry
    neighbour = [bytes.fromhex(d) for d in load("dump.json")["datagrams"] if of(Neighbour, netlink.parse(bytes.fromhex(d)))][0]
    bridged = neighbour[:16] + bytes([7]) + neighbour[17:]
    assert netlink.parse(bridged) == netlink.parse(neighbour)[1:]


def test_an_error_message_is_a_failed_dump():
    message = struct.pack("=IHHII", 36, netlink.NLMSG_ERROR, 0, 9, 0) + struct.pack("=i", -16) + b"\0" * 16
    assert netlink.parse(message) == [DumpFailed(9, 16)]
    ack = struct.pack("=IHHII", 36, netlink.NLMSG_ERROR, 0, 9, 0) + struct.pack("=i", 0) + b"\0" * 16
    assert netlink.parse(ack) == []
