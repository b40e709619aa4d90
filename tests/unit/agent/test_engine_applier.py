"""The engine applier's pure parts: the facts it hands linux.failover, and which connections it deletes."""

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import engine_applier
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.applier import RouterView, WanView
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import Transition


def wan(name, mark, address, gateway="198.51.100.1", up=("ipv4",), peer=None):
    return WanView(name=name, device=name, mark=mark, families=("ipv4",), up=up,
                   addresses=(("ipv4", (address,) if address else ()),), gateways=(("ipv4", gateway),),
                   peers=(("ipv4", peer),))


def test_the_first_usable_address_peer_and_gateway_are_the_facts():
    view = RouterView((wan("wan1", 0x100, "192.0.2.2/24"), wan("lte", 0x300, "100.64.9.2/32", None, peer="100.64.9.1"),
                       wan("wan2", 0x200, None, None)))
    assert engine_applier.uplink_facts(view) == {
        "wan1": {"ipv4": {"address": "192.0.2.2/24", "peer": None, "gateway": "198.51.100.1"}},
        "lte": {"ipv4": {"address": "100.64.9.2/32", "peer": "100.64.9.1", "gateway": None}},
        "wan2": {"ipv4": {"address": None, "peer": None, "gateway": None}}}


def test_a_renumbered_wan_loses_its_connections_by_its_mark_and_a_returning_lease_does_not():
    before = RouterView((wan("wan1", 0x100, "192.0.2.2/24"), wan("wan2", 0x200, "198.51.100.2/24")))
    applied = engine_applier.addresses_in_use({}, before)
    assert engine_applier.renumbered(applied, before) == []
    # the lease is gone for a moment, then a new one comes (another subnet): the old connections go
    gap = RouterView((wan("wan1", 0x100, "192.0.2.2/24"), wan("wan2", 0x200, None, None)))
    assert engine_applier.renumbered(applied, gap) == []
    applied = engine_applier.addresses_in_use(applied, gap)
    assert applied[("wan2", "ipv4")] == "198.51.100.2/24"
    after = RouterView((wan("wan1", 0x100, "192.0.2.2/24"), wan("wan2", 0x200, "203.0.113.66/26", "203.0.113.65")))
    assert engine_applier.renumbered(applied, after) == [("0x200", "ipv4")]
    assert engine_applier.renumbered(engine_applier.addresses_in_use(applied, before), before) == []


def test_connections_move_off_a_wan_that_went_down_only_when_another_is_up():
    view = RouterView((wan("wan1", 0x100, "192.0.2.2/24"), wan("wan2", 0x200, "198.51.100.2/24", up=())))
    down = Transition("wan2", "ipv4", "up", "down", "probes", "", 1.0)
    assert engine_applier.connections_to_move({}, view, (down,)) == [("0x200", "ipv4")]
    nobody = RouterView((wan("wan1", 0x100, "192.0.2.2/24", up=()), wan("wan2", 0x200, "198.51.100.2/24", up=())))
    assert engine_applier.connections_to_move({}, nobody, (down,)) == []
