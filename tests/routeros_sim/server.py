"""The TCP (and API-SSL) server, and ``Simulator``, the handle tests hold.

Each connection has a reader thread that parses sentences and runs them through a ``Session``
in order (or, with ``Behaviour.execution_order``, pipelined batches in another order: see
``concurrency.py``). Replies go through an ``_Outbox``: with a latency, each reply leaves ``latency``
seconds after its command arrived, while later commands are already being processed, so
pipelined commands overlap as they do over a real network and sequential ones pay per command.
"""

import collections
import itertools
import queue
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from . import concurrency, protocol, traps
from . import tls as api_ssl
from .session import WRITE_VERBS, Session
from .state import DEFAULT_INTERFACES, DEFAULT_VERSION, RouterState

DROP_MODES = ("after-reply", "before-reply", "fatal")
DROP_FATAL_REASON = "connection dropped by the simulator"
# With an execution order other than arrival: how long a batch waits for one more pipelined
# sentence. Longer gaps split a batch (a valid order too); a client waiting for a reply pays it.
GATHER_WINDOW = 0.02


@dataclass(frozen=True)
class CommandRecord:
    """One command a client sent after login (``/cancel``, ``/quit`` excluded)."""

    connection: int
    path: str
    verb: str
    attributes: dict
    queries: tuple
    tag: str


class Simulator:
    """A RouterOS API endpoint on ``host``:``port`` (default 127.0.0.1, an ephemeral port).

    ``latency``: seconds between a command's arrival and its reply (per command, not per
    sentence). ``drop_after``: close the connection after that many received sentences, counted
    across all connections from start (or from ``arm_drop``), once; ``drop_mode`` says how:
    ``"after-reply"`` (the last command is answered, then the socket closes),
    ``"before-reply"`` (the last command takes effect but its reply is lost) or ``"fatal"``
    (answered, then ``!fatal`` and close). ``tls``: serve API-SSL with a self-signed
    certificate for ``localhost``/``127.0.0.1`` (``certificate`` is its path, usable as a CA file);
    with ``tls_anonymous`` as well, serve it with anonymous DH and no certificate, as a router
    whose api-ssl service has none (clients need ``ADH`` ciphers: ``tls.anonymous_client_context``).
    """

    def __init__(self, *, username="admin", password="", version=DEFAULT_VERSION, latency=0.0,
                 drop_after=None, drop_mode="after-reply", tls=False, tls_anonymous=False,
                 host="127.0.0.1", port=0, identity="MikroTik", interfaces=DEFAULT_INTERFACES,
                 behaviour=None, gather_window=GATHER_WINDOW):
        self.username = username
        self.gather_window = gather_window
        self.password = password
        self.latency = latency
        self.tls = tls
        self.tls_anonymous = tls_anonymous
        self.host = host
        self.state = RouterState(version, identity, interfaces, behaviour)
        self.certificate = None
        self._requested_port = port
        self._listener = None
        self._threads = []
        self._connections = set()
        self._lock = threading.Lock()
        self._connection_count = 0
        self.reset_counters()
        self.arm_drop(drop_after, drop_mode)
        self.arm_trap(None)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        self._ssl_context = None
        if self.tls:
            self._ssl_context = api_ssl.server_context(anonymous=self.tls_anonymous)
            self.certificate = None if self.tls_anonymous else api_ssl.self_signed_certificate()[0]
        self._listener = socket.create_server((self.host, self._requested_port))
        self._port = self._listener.getsockname()[1]
        self._spawn(self._accept_loop)
        return self

    def stop(self):
        listener = self._listener
        if listener is not None:
            _shutdown(listener)                  # wakes the thread blocked in accept()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection)
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def port(self):
        return self._port

    # -- observation and fault injection -------------------------------------------------------

    def reset_counters(self):
        """Zero ``sentences_received``, ``print_counts``, ``write_count`` and ``commands``."""
        with self._lock:
            self._sentences_received = 0
            self._commands = []

    @property
    def sentences_received(self):
        """Non-empty sentences received on all connections (login included)."""
        return self._sentences_received

    @property
    def commands(self):
        """Every command since start or ``reset_counters``, as ``CommandRecord``s."""
        with self._lock:
            return list(self._commands)

    @property
    def print_counts(self):
        """``Counter`` of ``print``/``getall`` commands per menu path."""
        return collections.Counter(c.path for c in self.commands if c.verb in ("print", "getall"))

    @property
    def write_count(self):
        """Commands that change configuration (add, set, unset, remove, move, enable, …)."""
        return sum(1 for c in self.commands if c.verb in WRITE_VERBS)

    def set_reachable(self, address, reachable=True):
        """Whether ``address`` answers the router's probes (``RouterState.set_reachable``)."""
        self.state.set_reachable(address, reachable)

    def lookup(self, dst, src=None, routing_mark=None, interface=None):
        """The routing decision for a packet (``RouterState.lookup``); not an API command."""
        return self.state.lookup(dst, src=src, routing_mark=routing_mark, interface=interface)

    def arm_drop(self, after, mode="after-reply"):
        """Drop a connection once ``after`` more sentences have been received (``None``: never)."""
        if mode not in DROP_MODES:
            raise ValueError(f"drop_mode must be one of {DROP_MODES}, not {mode!r}")
        with self._lock:
            self._drop_remaining = after
            self._drop_mode = mode

    def arm_trap(self, after, message="failure: simulated by routeros_sim",
                 category=traps.GENERAL_FAILURE):
        """Refuse the ``after``-th write command from now (1: the next one) with ``!trap``
        ``message`` without applying it, once; ``None`` disarms. For tests of rollback."""
        with self._lock:
            self._trap_remaining = after
            self._injected_trap = traps.Trap(message, category)

    # -- connections -------------------------------------------------------------------------

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads = [running for running in self._threads if running.is_alive()] + [thread]
        thread.start()

    def _accept_loop(self):
        listener = self._listener
        while True:
            try:
                connection, _peer_address = listener.accept()
            except OSError:
                return                           # the listener was closed by stop()
            with self._lock:
                self._connection_count += 1
                self._connections.add(connection)
                number = self._connection_count
            self._spawn(self._serve, connection, number)

    def _serve(self, connection, number):
        try:
            if self._ssl_context is not None:
                connection = self._wrap_tls(connection)
            self._converse(connection, number)
        except (OSError, protocol.ProtocolError, ssl.SSLError):
            pass                                 # the client went away or spoke garbage
        finally:
            _shutdown(connection)
            with self._lock:
                self._connections.discard(connection)

    def _wrap_tls(self, plain):
        with self._lock:
            self._connections.discard(plain)
        connection = self._ssl_context.wrap_socket(plain, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self._connections.add(connection)
        try:
            connection.do_handshake()
        except (OSError, ssl.SSLError):
            _shutdown(connection)               # the plain socket was detached by wrap_socket
            with self._lock:
                self._connections.discard(connection)
            raise
        return connection

    def _converse(self, connection, number):
        reader = protocol.SentenceReader(connection.recv)
        outbox = _Outbox(connection, self.latency)
        session = Session(self.state, self.username, self.password,
                          on_command=lambda request: self._record(number, request))
        order = self.state.behaviour.execution_order
        try:
            if order == "arrival":
                self._converse_in_order(reader, session, outbox)
            else:
                rng = random.Random(f"{self.state.behaviour.execution_seed}:{number}")
                self._converse_concurrently(connection, reader, session, outbox, order, rng)
        finally:
            outbox.close()

    def _converse_in_order(self, reader, session, outbox):
        """Each command runs as it arrives and is answered before the next is read."""
        while True:
            received = self._receive(reader)
            reply = session.handle(received.words)
            if not self._answer(outbox, [(received, sentence) for sentence in reply.sentences],
                                received if received.drop_mode or reply.close else None):
                return

    def _converse_concurrently(self, connection, reader, session, outbox, order, rng):
        """Commands that arrive while earlier ones are unanswered run as one batch, in ``order``."""
        while True:
            batch, closed = self._gather(connection, reader)
            if not self._run_batch(batch, session, outbox, order, rng) or closed:
                return

    def _receive(self, reader):
        words = reader.read_sentence()
        return _Received(words, time.monotonic(), self._count_sentence())

    def _gather(self, connection, reader):
        """The next batch: a command, then every concurrent one that arrives within the gather
        window (a serial command or the one that drops the connection ends it). Also whether
        the client closed its side meanwhile."""
        batch = [self._receive(reader)]
        tags = set()
        while (not batch[-1].drop_mode and concurrency.may_run_concurrently(batch[-1].words, tags)
               and concurrency.more_pending(connection, self.gather_window)):
            tags.add(concurrency.tag_of(batch[-1].words))
            try:
                batch.append(self._receive(reader))
            except protocol.ConnectionClosedError:
                return batch, True
        return batch, False

    def _run_batch(self, batch, session, outbox, order, rng):
        """Run the concurrent part of ``batch`` in ``order``, then the serial command ending it."""
        serial = [] if concurrency.may_run_concurrently(batch[-1].words, set()) else batch[-1:]
        concurrent = batch[:len(batch) - len(serial)]
        running = [concurrent[index] for index in concurrency.execution_order(len(concurrent), order, rng)]
        executed, stop = [], None
        for received in running + serial:
            reply = session.handle(received.words)
            executed.append((received, reply))
            if received.drop_mode or reply.close:
                stop = received
                break
        merged = concurrency.interleave([reply.sentences for _received, reply in executed], order, rng)
        return self._answer(outbox, [(executed[index][0], sentence) for index, sentence in merged], stop)

    def _answer(self, outbox, sentences, stop):
        """Send ``[(received, sentence)]``; ``stop`` is the command after which the connection
        closes (a drop or ``!fatal``), or ``None``. Returns whether to go on reading."""
        for received, run in itertools.groupby(sentences, key=lambda pair: pair[0]):
            if received.drop_mode != "before-reply":
                outbox.send(_encode([sentence for _received, sentence in run]), received.arrived)
        if stop is not None and stop.drop_mode == "fatal":
            outbox.send(_encode([["!fatal", DROP_FATAL_REASON]]), stop.arrived)
        return stop is None

    def _count_sentence(self):
        """Count a sentence; return the drop mode if this one triggers the armed drop."""
        with self._lock:
            self._sentences_received += 1
            if self._drop_remaining is None:
                return None
            self._drop_remaining -= 1
            if self._drop_remaining > 0:
                return None
            self._drop_remaining = None
            return self._drop_mode

    def _record(self, number, request):
        """Log a command; return the armed ``Trap`` if this write is the one to refuse."""
        record = CommandRecord(number, request.path, request.verb, dict(request.attributes),
                               tuple(request.queries), request.tag)
        with self._lock:
            self._commands.append(record)
            if self._trap_remaining is None or record.verb not in WRITE_VERBS:
                return None
            self._trap_remaining -= 1
            if self._trap_remaining > 0:
                return None
            self._trap_remaining = None
            return self._injected_trap


@dataclass(frozen=True, eq=False)
class _Received:
    """A sentence as it arrived: its words, when, and the drop it triggers (or ``None``)."""

    words: list
    arrived: float
    drop_mode: str


class _Outbox:
    """Sends replies, each no earlier than ``latency`` after its command arrived."""

    def __init__(self, connection, latency):
        self._connection = connection
        self._latency = latency
        self._queue = queue.Queue()
        self._writer = None
        if latency > 0:
            self._writer = threading.Thread(target=self._write_loop, daemon=True)
            self._writer.start()

    def send(self, data, arrived):
        if self._writer is None:
            self._connection.sendall(data)
        else:
            self._queue.put((arrived + self._latency, data))

    def close(self):
        """Flush what is queued (so a reply sent before a drop still arrives), then stop."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=5 + self._latency)

    def _write_loop(self):
        while (item := self._queue.get()) is not None:
            due, data = item
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                self._connection.sendall(data)
            except OSError:
                return


def _encode(sentences):
    return b"".join(protocol.encode_sentence(sentence) for sentence in sentences)


def _shutdown(connection):
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()
