# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which routes a gateway resolves through: what the plan and the writer order ``/ip/route`` writes by.

RouterOS looks an IP gateway up among the routes whose ``scope`` is at most the route's
``target-scope`` (tests/routeros_sim/README.md, Route activity: "Next hops"); the recursive-route
pattern rests on it: a host route to a monitor target with ``scope=10``, and a default via that
target with ``target-scope=11``. A route written before the host route it resolves through is
inactive meanwhile (its table falls back, or drops, for that moment), so a host route goes first,
and goes last. A gateway written ``IP%interface`` or as an interface needs no route; one written
``IP@table`` resolves in that table; where one without ``@`` resolves is not known
(``gateway_resolution`` in that README), so any table is taken to be possible: ordering more than
needed costs a round trip, ordering less could leave a route inactive.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import ipaddress

# RouterOS's values when a route leaves them out (tests/routeros_sim/README.md, Menus: /ip/route).
DEFAULT_SCOPE, DEFAULT_TARGET_SCOPE = 30, 10
MAX_SCOPE = 255


def resolved_hops(gateway):
    """``[(address, table or None)]``: the hops of ``gateway`` that RouterOS must look up in a table."""
    hops = []
    for hop in (gateway or "").split(","):
        address, _at, table = hop.strip().partition("@")
        if "%" in address:
            continue                    # IP%interface: on that interface's link, no lookup
        parsed = _address(address)
        if parsed is not None:
            hops.append((parsed, table or None))
    return hops


@functools.lru_cache(maxsize=4096)
def _address(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None                     # an interface name


@functools.lru_cache(maxsize=4096)
def network(prefix_text):
    """The network of a ``dst-address`` (``None`` when it is not one)."""
    try:
        return ipaddress.ip_network(prefix_text, strict=False)
    except (TypeError, ValueError):
        return None


class Destinations(object):
    """Routes by destination, for "which of them could a gateway at this address resolve through".

    ``add(prefix, scope, table, item)``: ``scope``/``table`` ``None`` when unknown (a ``set`` that does
    not name them, a disabled route that does not print them), which never rules a route out.
    """

    def __init__(self):
        self._by_length = {}

    def __bool__(self):
        return bool(self._by_length)

    __nonzero__ = __bool__

    def add(self, prefix_text, scope, table, item):
        destination = network(prefix_text)
        if destination is None:
            return
        by_network = self._by_length.setdefault((destination.version, destination.prefixlen), {})
        by_network.setdefault(int(destination.network_address), []).append((scope, table, item))

    def covering(self, address, table, target_scope):
        """The items whose destination holds ``address``, in ``table`` (any if ``None``), that a
        route with ``target_scope`` (``None``: unknown) may resolve through."""
        found = []
        for (version, length), by_network in self._by_length.items():
            if version != address.version:
                continue
            host_bits = address.max_prefixlen - length
            masked = int(address) >> host_bits << host_bits
            for scope, route_table, item in by_network.get(masked, ()):
                if _may_resolve(scope, route_table, table, target_scope):
                    found.append(item)
        return found


def _may_resolve(scope, route_table, table, target_scope):
    in_scope = scope is None or target_scope is None or scope <= target_scope
    return in_scope and (table is None or route_table is None or route_table == table)
