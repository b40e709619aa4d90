"""The kernel view and the checks read off it, from the recorded netlink fixtures."""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import netlink, uplinks
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import KernelSays

from .test_netlink import load, records

OWNED = (211,)


def folded(found, view=None):
    view = view or uplinks.KernelView()
    for record in found:
        view = uplinks.fold(view, record)
    return view


@pytest.fixture(scope="module")
def dumped():
    return folded(records(load("dump.json")["datagrams"]))


@pytest.fixture(scope="module")
def steps():
    return [(step["what"], records(step["datagrams"])) for step in load("events.json")["steps"]]


def after(dumped, steps, last):
    """The view after every event step up to and including ``last``."""
    view = dumped
    for what, found in steps:
        view = folded(found, view)
        if what == last:
            return view
    raise AssertionError(last)


def checks(view, device, family="ipv4", gateway=None):
    facts = uplinks.wan_facts(view, device, family, gateway, OWNED)
    return [(check.check, check.ok, check.reason) for check in uplinks.kernel_checks(facts)]


ALL_OK = [("link", True, ""), ("address", True, ""), ("gateway", True, "")]


def test_facts_of_a_healthy_wan(dumped):
    facts = uplinks.wan_facts(dumped, "wan1", "ipv4", "100.64.1.1", OWNED)
    assert (facts.addresses, facts.gateway, facts.gateway_state, facts.gateway_failed) == \
        (("100.64.1.2/24",), "100.64.1.1", "permanent", False)
    assert checks(dumped, "wan1", gateway="100.64.1.1") == ALL_OK
    ipv6 = uplinks.wan_facts(dumped, "wan1", "ipv6", "fe80::1", OWNED)
    # the link-local address was still in duplicate address detection (tentative) when the dump was made
    assert ipv6.addresses == ("2001:db8:1::2/64",)
    assert ipv6.gateway_state == "reachable"


def test_dhcp_learns_the_main_default_route_through_the_device(dumped):
    # the multipath default (protocol static) has a hop through each WAN; the WAN table's route is ours
    assert uplinks.wan_facts(dumped, "wan2", "ipv4", "dhcp", OWNED).gateway == "100.64.2.1"
    assert uplinks.wan_facts(dumped, "wan1", "ipv6", "dhcp", OWNED).gateway == "fe80::1"


def test_dhcp_never_learns_a_route_the_collection_owns(dumped):
    index = uplinks.wan_facts(dumped, "wan2", "ipv4", None, OWNED).index
    ours = netlink.Route(family="ipv4", table=254, protocol=OWNED, type=1, dst=None, dst_len=0, priority=5,
                         nexthops=(("100.64.2.9", index),))
    assert uplinks.wan_facts(uplinks.fold(dumped, ours), "wan2", "ipv4", "dhcp", OWNED).gateway == "100.64.2.1"


def test_carrier_loss_fails_the_link_check(dumped, steps):
    view = after(dumped, steps, "carrier lost: the peer's end goes down")
    assert checks(view, "wan1")[0] == ("link", False, "carrier")
    assert "no carrier (operstate down)" in uplinks.kernel_checks(uplinks.wan_facts(view, "wan1", "ipv4", None, OWNED))[0].detail
    assert checks(after(dumped, steps, "carrier back"), "wan1") == ALL_OK


def test_admin_down_fails_the_link_check(dumped, steps):
    view = after(dumped, steps, "admin down")
    link = uplinks.kernel_checks(uplinks.wan_facts(view, "wan2", "ipv4", None, OWNED))[0]
    assert (link.ok, link.reason, link.detail) == (False, "carrier", "wan2 is administratively down")
    # LOWER_UP comes before operstate up: the link is not up until both say so
    assert checks(after(dumped, steps, "admin up"), "wan2")[0] == ("link", True, "")


def test_a_failed_gateway_neighbour_fails_the_gateway_check(dumped, steps):
    view = after(dumped, steps, "a neighbour that never answers fails")
    assert checks(view, "wan2", gateway="100.64.2.99")[2] == ("gateway", False, "gateway")
    assert checks(view, "wan2", gateway="100.64.2.1") == ALL_OK


def test_a_dhcp_gateway_follows_learned_routes(dumped, steps):
    view = after(dumped, steps, "a learned default route")
    assert uplinks.learned_gateway(view, uplinks.wan_facts(view, "wan2", "ipv4", None, OWNED).index, "ipv4", OWNED) \
        == "100.64.2.1"
    view = after(dumped, steps, "the learned default route removed")
    # the multipath default of the dump still has a hop via wan2
    assert uplinks.wan_facts(view, "wan2", "ipv4", "dhcp", OWNED).gateway == "100.64.2.1"
    without_multipath = uplinks.KernelView(view.links, view.addresses, view.neighbours, {})
    assert checks(without_multipath, "wan2", gateway="dhcp")[2] == ("gateway", False, "gateway")


def test_a_deleted_link_is_absent(dumped, steps):
    view = after(dumped, steps, "the link deleted")
    facts = uplinks.wan_facts(view, "wan2", "ipv4", "100.64.2.1", OWNED)
    assert facts.index is None and facts.addresses == ()
    assert uplinks.kernel_checks(facts)[0] == KernelSays("link", False, "carrier", "wan2 is absent")
    assert checks(view, "wan2", gateway="100.64.2.1")[1] == ("address", False, "address")


def test_an_address_being_checked_for_duplicates_is_not_yet_usable(dumped, steps):
    view = folded(dict(steps)["an IPv6 address through DAD"][:1], dumped)
    assert "2001:db8:1::3/64" not in uplinks.wan_facts(view, "wan1", "ipv6", None, OWNED).addresses
    view = after(dumped, steps, "an IPv6 address through DAD")
    assert "2001:db8:1::3/64" in uplinks.wan_facts(view, "wan1", "ipv6", None, OWNED).addresses


def test_fold_leaves_the_previous_view_alone(dumped, steps):
    before = dict(dumped.links)
    after(dumped, steps, "the link deleted")
    assert dumped.links == before
