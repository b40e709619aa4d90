# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rtnetlink with the standard library: links, neighbours, addresses and routes as plain records.

``parse(data)`` turns what the kernel sends (dump replies and multicast events alike) into frozen
records -- ``Link``, ``Neighbour``, ``Address``, ``Route``, plus ``DumpDone`` / ``DumpFailed`` -- and
skips message types and families the agent does not follow. ``RtNetlink`` is the socket: subscribed
to the link, neighbour, IPv4/IPv6 address and route groups, it dumps the current state once (one dump
at a time, as the kernel wants) and then reports changes as they happen; no polling, no ``ip``.

If the kernel drops events because the socket's buffer overflowed (``ENOBUFS``), ``read`` returns an
``Overrun`` record and dumps everything again: a missed event must not leave a stale view. A dump the
kernel refuses for lack of room (or because another is running) is asked for again.

Measured here (``tests/integration/agent/test_netlink_netns.py``): carrier changes reach the socket
through the kernel's linkwatch, which reports a device at most about once a second: a carrier loss
less than a second after the previous link event arrives up to ~1 s late, and a flap shorter than that
can be reported only as its final state. Nothing faster exists in rtnetlink; probes cover the rest.

The layouts are the kernel's rtnetlink messages (links, neighbours, addresses, routes); the tests
parse bytes recorded from this kernel (``tests/unit/fixtures/netlink/``, with how they were made).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import struct
from collections import deque
from dataclasses import dataclass
from typing import Optional, Tuple

NETLINK_ROUTE = 0
# message types
NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 2, 3, 4
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
# multicast groups (the RTMGRP_* bit masks)
RTMGRP_LINK, RTMGRP_NEIGH = 0x1, 0x4
RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE = 0x10, 0x40
RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE = 0x100, 0x400
GROUPS = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
# interface flags and operational states
IFF_UP, IFF_RUNNING, IFF_LOWER_UP = 0x1, 0x40, 0x10000
OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")
# neighbour states (NUD_*)
NUD_STATES = ((0x01, "incomplete"), (0x02, "reachable"), (0x04, "stale"), (0x08, "delay"), (0x10, "probe"),
              (0x20, "failed"), (0x40, "noarp"), (0x80, "permanent"))
NUD_FAILED = 0x20
# address flags: unusable as a source (DAD), and second choices (secondary IPv4 / temporary IPv6, deprecated)
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40
IFA_F_SECONDARY, IFA_F_DEPRECATED = 0x01, 0x20
RT_TABLE_MAIN = 254
RTN_UNICAST = 1
# attribute numbers
IFLA_IFNAME, IFLA_OPERSTATE = 3, 16
NDA_DST = 1
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 6, 9, 15
NLA_TYPE_MASK = 0x3FFF      # without NLA_F_NESTED and NLA_F_NET_BYTEORDER

_NLMSGHDR = struct.Struct("=IHHII")     # len, type, flags, seq, pid
_IFINFOMSG = struct.Struct("=BxHiII")   # family, type, index, flags, change
_NDMSG = struct.Struct("=BxxxiHBB")     # family, ifindex, state, flags, type
_IFADDRMSG = struct.Struct("=BBBBI")    # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")    # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_RTATTR = struct.Struct("=HH")
_RTNEXTHOP = struct.Struct("=HBBi")     # len, flags, hops, ifindex
_FAMILIES = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
_DUMP_HEADERS = {"link": (RTM_GETLINK, _IFINFOMSG.pack(0, 0, 0, 0, 0)),
                 "addr": (RTM_GETADDR, _IFADDRMSG.pack(0, 0, 0, 0, 0)),
                 "neigh": (RTM_GETNEIGH, _NDMSG.pack(0, 0, 0, 0, 0)),
                 "route": (RTM_GETROUTE, _RTMSG.pack(0, 0, 0, 0, 0, 0, 0, 0, 0))}
DUMP_ORDER = ("link", "addr", "neigh", "route")
RECEIVE_BUFFER = 4 * 1024 * 1024
_RETRIED = (errno.ENOBUFS, errno.EBUSY, errno.EAGAIN, errno.EINTR)    # dump refusals worth asking again


@dataclass(frozen=True)
class Link:
    """An interface (RTM_NEWLINK / RTM_DELLINK)."""

    index: int
    name: str
    flags: int
    operstate: str
    deleted: bool = False

    @property
    def admin_up(self):
        return bool(self.flags & IFF_UP)

    @property
    def carrier(self):
        return bool(self.flags & IFF_LOWER_UP)


@dataclass(frozen=True)
class Neighbour:
    """An ARP or NDP entry (RTM_NEWNEIGH / RTM_DELNEIGH)."""

    index: int
    family: str
    address: str
    state: int
    deleted: bool = False

    @property
    def failed(self):
        return bool(self.state & NUD_FAILED)

    @property
    def state_name(self):
        names = [name for bit, name in NUD_STATES if self.state & bit]
        return ",".join(names) or "none"


@dataclass(frozen=True)
class Address:
    """An interface address (RTM_NEWADDR / RTM_DELADDR); ``address`` is the local one, ``peer`` the far end
    of a point-to-point address (``ip addr add 100.64.9.2/32 peer 100.64.9.1``), else None."""

    index: int
    family: str
    address: str
    prefixlen: int
    scope: int
    flags: int
    deleted: bool = False
    peer: Optional[str] = None

    @property
    def usable(self):
        """Past duplicate address detection: fit to be a source address."""
        return not self.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)


@dataclass(frozen=True)
class Route:
    """A route (RTM_NEWROUTE / RTM_DELROUTE); ``nexthops`` holds (gateway, oif) pairs."""

    family: str
    table: int
    protocol: int
    type: int
    dst: Optional[str]
    dst_len: int
    priority: Optional[int]
    nexthops: Tuple[Tuple[Optional[str], Optional[int]], ...]
    deleted: bool = False

    @property
    def is_default(self):
        return self.dst_len == 0 and self.type == RTN_UNICAST


@dataclass(frozen=True)
class DumpDone:
    """The end of one dump (NLMSG_DONE)."""

    seq: int


@dataclass(frozen=True)
class DumpFailed:
    """A request the kernel refused (NLMSG_ERROR with a non-zero errno)."""

    seq: int
    error: int


@dataclass(frozen=True)
class Overrun:
    """Events were lost (ENOBUFS); a full dump follows."""


def parse(data):
    """Every record in one datagram from the kernel, in order."""
    records, offset = [], 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            break
        record = _message(kind, seq, data[offset + _NLMSGHDR.size:offset + length])
        if record is not None:
            records.append(record)
        offset += _align(length)
    return records


def dump_request(kind, seq):
    """The bytes of one dump request: ``kind`` is link, addr, neigh or route."""
    message_type, header = _DUMP_HEADERS[kind]
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(header), message_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + header


class RtNetlink:
    """A non-blocking rtnetlink socket subscribed to ``groups``; dumps run one after another."""

    def __init__(self, groups=GROUPS):
        self.socket = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                                    NETLINK_ROUTE)
        _grow_receive_buffer(self.socket)
        self.socket.bind((0, groups))
        self._queued, self._running, self._seq = deque(), (None, None), 0     # running: (seq, kind)

    def fileno(self):
        return self.socket.fileno()

    def close(self):
        self.socket.close()

    @property
    def dumping(self):
        """True while a dump is running or queued."""
        return self._running[0] is not None or bool(self._queued)

    def request_dumps(self, kinds=DUMP_ORDER):
        """Queue dumps of ``kinds`` (link, addr, neigh, route); the first starts now."""
        self._queued.extend(kind for kind in kinds if kind not in self._queued)
        self._start_next()

    def read(self, keep=None):
        """Every record waiting on the socket (an empty list when none); ``keep``: a list for the raw datagrams."""
        records = []
        while True:
            try:
                data = self.socket.recv(1 << 16)
            except BlockingIOError:
                return records
            except OSError as error:
                if error.errno != errno.ENOBUFS:
                    raise
                records.append(Overrun())
                self.resync()
                continue
            if keep is not None:
                keep.append(data)
            for record in parse(data):
                records.append(record)
                if isinstance(record, (DumpDone, DumpFailed)) and record.seq == self._running[0]:
                    self._dump_finished(record)

    def _dump_finished(self, record):
        kind, self._running = self._running[1], (None, None)
        if isinstance(record, DumpFailed) and record.error in _RETRIED:
            self._queued.appendleft(kind)       # the kernel had no room or was busy: ask again
        self._start_next()

    def resync(self):
        """Drop what is queued and dump everything again (after an overrun, or a dump that stalled)."""
        # What is still queued is older than the overrun and the dump replaces it: drop it, so that the
        # dump's replies find room in the buffer.
        while True:
            try:
                self.socket.recv(1 << 16)
            except (BlockingIOError, OSError):
                break
        self._running = (None, None)
        self._queued.clear()
        self.request_dumps()

    def _start_next(self):
        if self._running[0] is not None or not self._queued:
            return
        self._seq += 1
        kind = self._queued.popleft()
        self.socket.send(dump_request(kind, self._seq))
        self._running = (self._seq, kind)


def _grow_receive_buffer(sock):
    # SO_RCVBUFFORCE passes net.core.rmem_max for a privileged agent; otherwise take what is allowed.
    try:
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), RECEIVE_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)


# -- one message


def _message(kind, seq, payload):
    if kind == NLMSG_DONE:
        return DumpDone(seq)
    if kind == NLMSG_ERROR:
        code = struct.unpack_from("=i", payload)[0] if len(payload) >= 4 else 0
        return DumpFailed(seq, -code) if code else None
    parser = _PARSERS.get(kind)
    return parser(kind, payload) if parser else None


def _link(kind, payload):
    _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(payload)
    attributes = _attributes(payload, _IFINFOMSG.size)
    name = attributes.get(IFLA_IFNAME, b"").split(b"\0", 1)[0].decode("utf-8", "replace")
    operstate = attributes.get(IFLA_OPERSTATE, b"\0")[0]
    return Link(index=index, name=name, flags=flags,
                operstate=OPERSTATES[operstate] if operstate < len(OPERSTATES) else str(operstate),
                deleted=kind == RTM_DELLINK)


def _neighbour(kind, payload):
    family, index, state, _flags, _type = _NDMSG.unpack_from(payload)
    if family not in _FAMILIES:
        return None
    attributes = _attributes(payload, _NDMSG.size)
    if NDA_DST not in attributes:
        return None
    return Neighbour(index=index, family=_FAMILIES[family], address=_ip(family, attributes[NDA_DST]), state=state,
                     deleted=kind == RTM_DELNEIGH)


def _address(kind, payload):
    family, prefixlen, flags, scope, index = _IFADDRMSG.unpack_from(payload)
    if family not in _FAMILIES:
        return None
    attributes = _attributes(payload, _IFADDRMSG.size)
    # IFA_LOCAL is the local end; IFA_ADDRESS the peer on point-to-point links (and the only one for IPv6)
    local = attributes.get(IFA_LOCAL, attributes.get(IFA_ADDRESS))
    if local is None:
        return None
    peer = attributes.get(IFA_ADDRESS) if IFA_LOCAL in attributes else None
    if IFA_FLAGS in attributes:     # the 8-bit header field cannot hold every flag
        flags = struct.unpack_from("=I", attributes[IFA_FLAGS])[0]
    return Address(index=index, family=_FAMILIES[family], address=_ip(family, local), prefixlen=prefixlen,
                   scope=scope, flags=flags, deleted=kind == RTM_DELADDR,
                   peer=_ip(family, peer) if peer and peer != local else None)


def _route(kind, payload):
    family, dst_len, _src_len, _tos, table, protocol, _scope, route_type, _flags = _RTMSG.unpack_from(payload)
    if family not in _FAMILIES:
        return None
    attributes = _attributes(payload, _RTMSG.size)
    if RTA_TABLE in attributes:     # the 8-bit header field cannot hold table ids above 255
        table = struct.unpack_from("=I", attributes[RTA_TABLE])[0]
    if RTA_MULTIPATH in attributes:
        nexthops = _nexthops(family, attributes[RTA_MULTIPATH])
    else:
        nexthops = ((_ip(family, attributes[RTA_GATEWAY]) if RTA_GATEWAY in attributes else None,
                     _u32(attributes.get(RTA_OIF))),)
    return Route(family=_FAMILIES[family], table=table, protocol=protocol, type=route_type,
                 dst=_ip(family, attributes[RTA_DST]) if RTA_DST in attributes else None, dst_len=dst_len,
                 priority=_u32(attributes.get(RTA_PRIORITY)), nexthops=nexthops, deleted=kind == RTM_DELROUTE)


def _nexthops(family, data):
    hops, offset = [], 0
    while offset + _RTNEXTHOP.size <= len(data):
        length, _flags, _hops, ifindex = _RTNEXTHOP.unpack_from(data, offset)
        if length < _RTNEXTHOP.size:
            break
        attributes = _attributes(data[offset:offset + length], _RTNEXTHOP.size)
        gateway = _ip(family, attributes[RTA_GATEWAY]) if RTA_GATEWAY in attributes else None
        hops.append((gateway, ifindex))
        offset += _align(length)
    return tuple(hops)


_PARSERS = {RTM_NEWLINK: _link, RTM_DELLINK: _link, RTM_NEWNEIGH: _neighbour, RTM_DELNEIGH: _neighbour,
            RTM_NEWADDR: _address, RTM_DELADDR: _address, RTM_NEWROUTE: _route, RTM_DELROUTE: _route}


# -- attributes


def _attributes(payload, offset):
    """{type: bytes} of the rtattrs after a fixed header (the first of a repeated type wins)."""
    found = {}
    while offset + _RTATTR.size <= len(payload):
        length, kind = _RTATTR.unpack_from(payload, offset)
        if length < _RTATTR.size:
            break
        found.setdefault(kind & NLA_TYPE_MASK, payload[offset + _RTATTR.size:offset + length])
        offset += _align(length)
    return found


def _align(length):
    return (length + 3) & ~3


def _ip(family, data):
    return socket.inet_ntop(family, data)


def _u32(data):
    return struct.unpack_from("=I", data)[0] if data else None
