# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel says about each WAN: netlink records folded into a view, and the checks read off it.

Pure functions. ``fold(view, record)`` applies one ``netlink`` record; ``wan_facts(view, wan, ...)``
reads one WAN family's device, addresses and gateway (the configured one, or for ``dhcp`` the one the
host learned: the lowest-metric default route of the main table through the WAN's device, not carrying
the collection's own protocol); ``kernel_checks(facts)`` turns them into the three
``tracker.KernelSays`` a tracker folds in:

=========  ==========================================================  ==========
check      fails when                                                  reason
=========  ==========================================================  ==========
link       the device is absent, administratively down, has no         carrier
           carrier (IFF_LOWER_UP) or its operstate is neither up nor
           unknown (unknown: devices such as ppp that report none)
address    no address of the family fit to be a source (an IPv6 WAN    address
           may have only its link-local one: prefix delegation leaves
           the global addresses on the LAN) for ``RENUMBER_GRACE``
gateway    its neighbour entry is FAILED, or a ``dhcp`` WAN has        gateway
           learned no default route for ``RENUMBER_GRACE``
=========  ==========================================================  ==========

A point-to-point family (no gateway configured) has no gateway check: it routes by device.

A missing address or learned gateway counts only after ``RENUMBER_GRACE`` seconds (``KernelSays.grace``):
a DHCP client renumbering the WAN removes the old lease's address and default route before it installs
the new ones, and the WAN should not go down (and wait out its hold) for that. Traffic moves off it at
once anyway: ``linux.failover`` routes only through a WAN family whose address and gateway it knows.
``link_state`` names the link's state for ``FactChange``: a device that comes back has lost the routes
through it, and the applier must lay them again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass, field, replace
from typing import Optional, Tuple

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import netlink
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import KernelSays

DHCP = "dhcp"
RT_SCOPE_HOST = 254
CHECKS = ("link", "address", "gateway")
RENUMBER_GRACE = 3.0        # seconds; a DHCP client's NAK, DISCOVER, OFFER, REQUEST and ACK take well under one


@dataclass(frozen=True)
class KernelView:
    """Links by index, and addresses, neighbours and main-table default routes by identity.

    The dicts are never changed in place: ``fold`` returns a new view.
    """

    links: dict = field(default_factory=dict)           # index -> netlink.Link
    addresses: dict = field(default_factory=dict)       # (index, family, address) -> netlink.Address
    neighbours: dict = field(default_factory=dict)      # (index, family, address) -> netlink.Neighbour
    default_routes: dict = field(default_factory=dict)  # (family, priority, nexthops) -> netlink.Route


@dataclass(frozen=True)
class WanFacts:
    """One WAN family as the kernel has it."""

    device: str
    family: str
    index: Optional[int]                # None: no such device
    link: Optional[netlink.Link]
    addresses: Tuple[str, ...]          # "address/prefixlen", usable ones, the one to route from first
    gateway_config: Optional[str]       # an address, "dhcp" or None (point-to-point)
    gateway: Optional[str]              # the address in use: configured or learned
    gateway_state: Optional[str]        # its neighbour state (netlink.NUD_STATES names), None: no entry
    gateway_failed: bool
    peer: Optional[str] = None          # the far end of the first address, when it is point-to-point


def fold(view, record):
    """``view`` after one netlink record (records of other kinds leave it as it is)."""
    if isinstance(record, netlink.Link):
        view = replace(view, links=_put(view.links, record.index, record, record.deleted))
        return _without_flushed_routes(view, record.index) if record.deleted or not record.admin_up else view
    if isinstance(record, netlink.Address):
        key = (record.index, record.family, record.address)
        view = replace(view, addresses=_put(view.addresses, key, record, record.deleted))
        last_gone = record.deleted and record.family == "ipv4" and not any(
            index == record.index and family == "ipv4" for index, family, _address in view.addresses)
        return _without_flushed_routes(view, record.index) if last_gone else view
    if isinstance(record, netlink.Neighbour):
        key = (record.index, record.family, record.address)
        return replace(view, neighbours=_put(view.neighbours, key, record, record.deleted))
    if isinstance(record, netlink.Route) and record.is_default and record.table == netlink.RT_TABLE_MAIN:
        key = (record.family, record.priority, record.nexthops)
        return replace(view, default_routes=_put(view.default_routes, key, record, record.deleted))
    return view


def _without_flushed_routes(view, index):
    """``view`` without the IPv4 routes through ``index`` alone. The kernel drops them when the device goes
    down or loses its last IPv4 address, and sends no RTM_DELROUTE for them (net/ipv4/fib_frontend.c,
    ``fib_disable_ip``): measured, a DHCP client's old default route stayed in the agent's view after the
    lease's address went, and the agent routed through the old gateway."""
    flushed = [key for key, route in view.default_routes.items()
               if route.family == "ipv4" and all(oif == index for _gateway, oif in route.nexthops)]
    if not flushed:
        return view
    return replace(view, default_routes=dict((key, route) for key, route in view.default_routes.items()
                                             if key not in flushed))


def wan_facts(view, device, family, gateway_config, owned_protocols):
    """The facts of ``device``'s ``family``; ``gateway_config`` is an address, "dhcp" or None."""
    link = next((link for link in view.links.values() if link.name == device), None)
    index = link.index if link else None
    gateway = gateway_config
    if gateway_config == DHCP:
        gateway = learned_gateway(view, index, family, owned_protocols)
    neighbour = view.neighbours.get((index, family, gateway)) if gateway else None
    usable = _usable_addresses(view, index, family)
    return WanFacts(device=device, family=family, index=index, link=link,
                    addresses=tuple("%s/%d" % (address.address, address.prefixlen) for address in usable),
                    gateway_config=gateway_config, gateway=gateway,
                    gateway_state=neighbour.state_name if neighbour else None,
                    gateway_failed=bool(neighbour and neighbour.failed), peer=usable[0].peer if usable else None)


def link_state(facts):
    """``absent``, ``disabled``, ``no-carrier`` or ``up``: what a ``FactChange`` of the link says."""
    link = facts.link
    if link is None:
        return "absent"
    if not link.admin_up:
        return "disabled"
    return "up" if link.carrier and link.operstate in ("up", "unknown") else "no-carrier"


def learned_gateway(view, index, family, owned_protocols):
    """The gateway of the lowest-metric main-table default route through ``index`` that is not ours
    (``owned_protocols``: the modules' and the agent's route protocols)."""
    candidates = []
    for route in view.default_routes.values():
        if route.family != family or route.protocol in owned_protocols:
            continue
        for gateway, oif in route.nexthops:
            if oif == index and gateway:
                candidates.append((route.priority or 0, gateway))
    return min(candidates)[1] if candidates else None


def kernel_checks(facts):
    """The link, address and gateway checks of one WAN family, as tracker observations."""
    return (_link_check(facts), _address_check(facts), _gateway_check(facts))


# -- the checks


def _link_check(facts):
    link = facts.link
    if link is None:
        return KernelSays("link", False, "carrier", "%s is absent" % facts.device)
    if not link.admin_up:
        return KernelSays("link", False, "carrier", "%s is administratively down" % facts.device)
    if not link.carrier or link.operstate not in ("up", "unknown"):
        return KernelSays("link", False, "carrier", "%s has no carrier (operstate %s)" % (facts.device, link.operstate))
    return KernelSays("link", True)


def _address_check(facts):
    if facts.addresses:
        return KernelSays("address", True)
    return KernelSays("address", False, "address", "%s has no %s address" % (facts.device, facts.family),
                      grace=RENUMBER_GRACE)


def _gateway_check(facts):
    if facts.gateway_config is None:
        return KernelSays("gateway", True)
    if facts.gateway is None:
        return KernelSays("gateway", False, "gateway", "no %s default route learned on %s" % (facts.family, facts.device),
                          grace=RENUMBER_GRACE)
    if facts.gateway_failed:
        return KernelSays("gateway", False, "gateway", "gateway %s on %s does not answer (neighbour FAILED)"
                          % (facts.gateway, facts.device))
    return KernelSays("gateway", True)


# -- helpers


def _put(mapping, key, value, deleted):
    copied = dict(mapping)
    if deleted:
        copied.pop(key, None)
    else:
        copied[key] = value
    return copied


def _usable_addresses(view, index, family):
    """The usable ``netlink.Address`` records: global before link-local, primary before secondary, temporary or
    deprecated (the first is the one to route from), then by address so that the choice never flips."""
    if index is None:
        return []
    found = [address for (owner, address_family, _address), address in view.addresses.items()
             if owner == index and address_family == family and address.scope != RT_SCOPE_HOST
             and address.usable]
    second_choice = netlink.IFA_F_SECONDARY | netlink.IFA_F_DEPRECATED
    found.sort(key=lambda address: (address.scope != 0, bool(address.flags & second_choice), address.address))
    return found
