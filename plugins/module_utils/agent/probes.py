# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probes that leave by one WAN whatever the routing says: ICMP echo and TCP connect.

Every probe socket is bound to the WAN's device (``SO_BINDTODEVICE``) and carries the WAN's mark
(``SO_MARK``), so the role's ``fwmark <WAN mark>/<mask> lookup <WAN table>`` rule routes it through
that WAN's table even while the WAN is out of the balance (``multiwan_layout``'s priority band).

``Prober`` runs the rounds of one WAN family: every ``interval`` it sends one probe to each target
and, ``timeout`` later, turns what came back into a ``tracker.Round``. Sending and receiving are
decoupled (the dpinger way, style guide section 11): the loop calls ``send_round`` on its timer and
``on_ready`` when a socket is readable or writable, never waits for an answer, and starts no thread
and no process.

ICMP: one raw socket per WAN family (``IPPROTO_ICMP`` or ``IPPROTO_ICMPV6``) with a kernel filter that
passes only echo replies; the identifier is the prober's, the sequence number names the probe, and
the source address names the target. An answer after its round was judged becomes a
``tracker.LateAnswer`` (the path is slow, not dead) if it comes within ``LATE_LIMIT``.
TCP: a non-blocking connect per probe, closed with a reset (``SO_LINGER`` 0, no TIME_WAIT pile-up);
an accepted connection or a refusal (RST) both prove the path, anything else is a loss. A TCP probe is
dropped at its timeout, so TCP has no late answers.

Packet building and parsing are pure functions (``echo_request``, ``parse_echo_reply``), tested without
sockets; the sockets themselves are tested in namespaces.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import selectors
import socket
import struct
from collections import deque
from dataclasses import dataclass
from typing import Optional

from ansible_collections.multiwan.pbr.plugins.module_utils.agent.tracker import LateAnswer, Round

SO_MARK = getattr(socket, "SO_MARK", 36)
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
SOL_RAW, ICMP_FILTER = 255, 1               # <linux/icmp.h>: a bit set blocks that ICMP type
ICMP6_FILTER = 1                            # <netinet/icmp6.h>: a bit set blocks that ICMPv6 type
ICMP_ECHO, ICMP_ECHOREPLY = 8, 0
ICMPV6_ECHO, ICMPV6_ECHOREPLY = 128, 129
PAYLOAD = b"multiwan-pbr"                   # marks our probes in a capture
LATE_LIMIT = 10.0                           # seconds an answer may be late and still count as a LateAnswer
TCP_ANSWERED = (0, errno.ECONNREFUSED)      # SO_ERROR values that prove the path (accepted or reset)
_FAMILY = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
_ECHO_HEADER = struct.Struct("!BBHHH")      # type, code, checksum, identifier, sequence


@dataclass(frozen=True)
class ProbePlan:
    """What one prober sends: where from, to whom, how often."""

    device: str
    mark: int
    family: str
    targets: tuple
    method: str = "icmp"
    port: Optional[int] = None
    interval: float = 0.2
    timeout: float = 0.8


def echo_request(family, identifier, sequence, payload=PAYLOAD):
    """An ICMP (ipv4) or ICMPv6 (ipv6) echo request; the kernel fills the ICMPv6 checksum."""
    if family == "ipv6":
        return _ECHO_HEADER.pack(ICMPV6_ECHO, 0, 0, identifier, sequence) + payload
    header = _ECHO_HEADER.pack(ICMP_ECHO, 0, 0, identifier, sequence) + payload
    return header[:2] + struct.pack("!H", checksum(header)) + header[4:]


def parse_echo_reply(family, data):
    """(identifier, sequence) of an echo reply as a raw socket returns it (IPv4 with its IP header), else None."""
    if family == "ipv4":
        if len(data) < 20:
            return None
        data = data[(data[0] & 0x0F) * 4:]
    if len(data) < _ECHO_HEADER.size:
        return None
    kind, code, _checksum, identifier, sequence = _ECHO_HEADER.unpack_from(data)
    if code != 0 or kind != (ICMPV6_ECHOREPLY if family == "ipv6" else ICMP_ECHOREPLY):
        return None
    return identifier, sequence


def checksum(data):
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def wan_socket(plan, kind, protocol):
    """A non-blocking socket bound to the WAN's device and carrying its mark."""
    sock = socket.socket(_FAMILY[plan.family], kind | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, plan.device.encode() + b"\0")
        if plan.mark:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, plan.mark)
    except OSError:
        sock.close()
        raise
    return sock


class Prober:
    """The rounds of one WAN family. The loop owns the clock: every method takes ``now``."""

    def __init__(self, plan, selector, identifier):
        self.plan, self.selector, self.identifier = plan, selector, identifier & 0xFFFF
        self.sent = self.answered = 0
        self.last_error = None                  # the last socket error, for the status
        self._sequence = 0
        self._rounds = deque()                  # open rounds, oldest first: (deadline, rtts list, probe keys)
        self._pending = {}                      # (target index, sequence) -> (sent at, rtts list; None once judged)
        self._late = deque()                    # (expires, key) of judged probes that may still be answered
        self._late_answers = []
        self._icmp = None
        self._connects = {}                     # TCP: socket -> probe key, and probe key -> socket
        self._connect_of = {}

    # -- driven by the loop

    def send_round(self, now):
        """Send one probe to each target; the round is judged at ``now + timeout``."""
        rtts, keys = [None] * len(self.plan.targets), []
        for index, target in enumerate(self.plan.targets):
            self._sequence = (self._sequence + 1) & 0xFFFF
            key = (index, self._sequence)
            self._pending[key] = (now, rtts)
            keys.append(key)
            self.sent += 1
            self._send(key, target)
        self._rounds.append((now + self.plan.timeout, rtts, keys))

    def on_ready(self, sock, now):
        """A socket of this prober is ready: collect what it says."""
        if sock is self._icmp:
            self._receive_echo_replies(now)
        else:
            self._finish_connect(sock, now)

    def due(self, now):
        """Observations for the tracker: rounds whose timeout passed, and late answers since the last call."""
        observations, self._late_answers = self._late_answers, []
        while self._rounds and self._rounds[0][0] <= now:
            _deadline, rtts, keys = self._rounds.popleft()
            observations.append(Round(tuple(rtts)))
            self._judged(keys, now)
        return observations

    def next_deadline(self):
        """When the oldest open round is judged, or None."""
        return self._rounds[0][0] if self._rounds else None

    def rebind(self):
        """Open the ICMP socket again: the device came back (with a new index, as a re-dialled ppp does)."""
        self._close_icmp()

    def close(self):
        self._close_icmp()
        for sock in list(self._connects):
            self._drop_connect(sock)

    # -- sending

    def _send(self, key, target):
        try:
            if self.plan.method == "tcp":
                self._start_connect(key, target)
            else:
                self._icmp_socket().sendto(echo_request(self.plan.family, self.identifier, key[1]), (target, 0))
        except OSError as error:         # no device, no route, no buffer: the probe is lost, the loop goes on
            self.last_error = "%s: %s" % (target, os.strerror(error.errno) if error.errno else error)

    def _icmp_socket(self):
        if self._icmp is None:
            if self.plan.family == "ipv6":
                sock = wan_socket(self.plan, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
                blocked = [0xFFFFFFFF] * 8
                blocked[ICMPV6_ECHOREPLY >> 5] &= ~(1 << (ICMPV6_ECHOREPLY & 31))
                sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *blocked))
            else:
                sock = wan_socket(self.plan, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", ~(1 << ICMP_ECHOREPLY) & 0xFFFFFFFF))
            self.selector.register(sock, selectors.EVENT_READ, self)
            self._icmp = sock
        return self._icmp

    def _start_connect(self, key, target):
        sock = wan_socket(self.plan, socket.SOCK_STREAM, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("=ii", 1, 0))
        code = sock.connect_ex((target, self.plan.port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            raise OSError(code, os.strerror(code))
        self._connects[sock], self._connect_of[key] = key, sock
        self.selector.register(sock, selectors.EVENT_WRITE, self)

    # -- receiving

    def _receive_echo_replies(self, now):
        index_of = dict((target, index) for index, target in enumerate(self.plan.targets))
        while True:
            try:
                data, source = self._icmp.recvfrom(4096)
            except BlockingIOError:
                return
            except OSError as error:
                self.last_error = os.strerror(error.errno) if error.errno else str(error)
                return
            reply = parse_echo_reply(self.plan.family, data)
            index = index_of.get(source[0].split("%", 1)[0])
            if reply and reply[0] == self.identifier and index is not None:
                self._answer((index, reply[1]), now)

    def _finish_connect(self, sock, now):
        key = self._connects.get(sock)
        if key is None:
            return
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self._drop_connect(sock)
        if code in TCP_ANSWERED:
            self._answer(key, now)
        else:
            self.last_error = "%s: %s" % (self.plan.targets[key[0]], os.strerror(code))

    def _answer(self, key, now):
        entry = self._pending.pop(key, None)
        if entry is None:
            return
        sent_at, rtts = entry
        self.answered += 1
        if rtts is not None:
            rtts[key[0]] = now - sent_at
        elif now - sent_at <= LATE_LIMIT:
            self._late_answers.append(LateAnswer(key[0]))

    # -- bookkeeping

    def _judged(self, keys, now):
        """A round was judged: its unanswered probes wait for late answers (ICMP) or are dropped (TCP)."""
        for key in keys:
            entry = self._pending.get(key)
            if entry is None:
                continue
            if self.plan.method == "tcp":
                del self._pending[key]
                if key in self._connect_of:
                    self._drop_connect(self._connect_of[key])
            else:
                self._pending[key] = (entry[0], None)
                self._late.append((entry[0] + LATE_LIMIT, key))
        while self._late and self._late[0][0] < now:
            self._pending.pop(self._late.popleft()[1], None)

    def _drop_connect(self, sock):
        del self._connect_of[self._connects.pop(sock)]
        self.selector.unregister(sock)
        sock.close()

    def _close_icmp(self):
        if self._icmp is not None:
            self.selector.unregister(self._icmp)
            self._icmp.close()
            self._icmp = None
