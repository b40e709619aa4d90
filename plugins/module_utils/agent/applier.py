# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the agent's decisions go: the applier interface, the view it receives, and a logging applier.

The agent decides *which WANs are up* and *what their addresses and gateways are*; what that means for
rules, routes, nft and conntrack is computed by the collection's engines (design: one code path, two
callers). An applier is the bridge, any object with this method::

    configure(config: config.AgentConfig) -> None     at start and after every accepted reload
    apply(view: RouterView, changed: tuple) -> None

``view``
    Every configured WAN (``WanView``) in configuration order: the families that are up, the usable
    addresses of each family (the one to route from first), the peer of a point-to-point address, and
    the gateway in use (configured, or learned for ``dhcp``; None for a point-to-point family, or while
    none is learned). ``view.up_by_family`` gives ``{"ipv4": ["wan1", ...], "ipv6": [...]}``.
``changed``
    What happened since the last successful call, oldest first: ``tracker.Transition`` (a WAN family
    went up or down, with its reason) and ``FactChange`` (an address, gateway, device index or link
    state changed: the kernel drops a device's routes when it goes down, so its coming back is a change
    to apply even when nothing else moved).
    On the first call, whatever happened since the agent started (often nothing): converge to ``view``.

The loop calls ``apply`` once the first netlink dump is complete, then whenever the view changes. A
failure is an exception (any ``Exception``): the agent logs it and calls again after
``RETRY_SECONDS`` with the view of that moment and every change since the last success, so ``apply``
must be idempotent (plan from what the device has, as every engine does). ``apply`` runs inside the
loop: while it runs nothing is probed or judged, so it should finish within a second or so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging
from dataclasses import dataclass
from typing import Optional, Tuple

RETRY_SECONDS = 5.0
log = logging.getLogger("multiwan_pbr.agent")


@dataclass(frozen=True)
class WanView:
    """One WAN as an applier needs it."""

    name: str
    device: str
    mark: int
    families: Tuple[str, ...]
    up: Tuple[str, ...]                                  # the families that are up
    addresses: Tuple[Tuple[str, Tuple[str, ...]], ...]   # (family, ("address/prefixlen", ...))
    gateways: Tuple[Tuple[str, Optional[str]], ...]      # (family, address or None)
    peers: Tuple[Tuple[str, Optional[str]], ...] = ()     # (family, the far end of a point-to-point address)

    def addresses_of(self, family):
        return dict(self.addresses).get(family, ())

    def gateway_of(self, family):
        return dict(self.gateways).get(family)

    def peer_of(self, family):
        return dict(self.peers).get(family)


@dataclass(frozen=True)
class RouterView:
    """Every WAN, in configuration order."""

    wans: Tuple[WanView, ...]

    @property
    def up_by_family(self):
        """{family: [names of the WANs up in it]} for every family some WAN has."""
        families = sorted(set(family for wan in self.wans for family in wan.families))
        return dict((family, [wan.name for wan in self.wans if family in wan.up]) for family in families)


@dataclass(frozen=True)
class FactChange:
    """``wan``'s ``fact`` (addresses, gateway, ifindex or link) of ``family`` went from ``old`` to ``new``."""

    wan: str
    family: str
    fact: str
    old: object
    new: object


class LoggingApplier:
    """Applies nothing: logs what an engine-backed applier would be asked to do."""

    def __init__(self, logger=None):
        self.log = logger or log

    def configure(self, config):
        """A (re)loaded configuration; the logging applier has nothing to take from it."""

    def apply(self, view, changed):
        up = " ".join("%s=[%s]" % (family, ",".join(names)) for family, names in view.up_by_family.items())
        self.log.info("apply up %s after %d change(s)", up, len(changed))
