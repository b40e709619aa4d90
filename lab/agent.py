"""Traffic agent inside the lab containers (`lab.py up` installs it as AGENT_PATH).

Standard library only: the containers have python3 and nothing else.

  serve   --proto tcp|udp --port N [--bind ADDR] --lifetime SECONDS --pidfile PATH
          a "whoami" server: every line (tcp) or datagram (udp) it receives is answered
          with the address and port it came from, so a client learns which source
          address its flow had when it reached the server (after any masquerade).
          It exits by itself after --lifetime seconds.
  connect --proto tcp|udp --to ADDR --port N [--count N] [--rounds N] [--interval S]
          [--source ADDR] [--timeout S]
          opens --count connections (all held open), asks each one "whoami" --rounds
          times, prints one JSON object: {"connections": [{"seen": [...], "error": ...}]}.
  delay   --queue N --milliseconds MS --lifetime SECONDS --pidfile PATH
          holds every packet the kernel queues to NFQUEUE N for MS milliseconds, then accepts
          it (lab/faults.py: "delay"; this kernel has no netem). Packets leave in the order they
          came. The pidfile appears once the queue is bound.
  flap    --device DEV --period SECONDS --lifetime SECONDS --pidfile PATH
          takes DEV down for half of each period and up for the other half; up again on exit.
  watch   --to ADDR --port N [--every S] [--timeout S] [--lifetime SECONDS]
          opens a new TCP connection every S seconds until its stdin closes (or --lifetime
          passes), asks each once "whoami" and closes it; prints one JSON line per connection
          as it ends: {"at": CLOCK_MONOTONIC when it was opened, "seen": the source the server
          saw or null, "seconds": how long it took, "error": null or why it failed}. A
          connection that needs longer than --timeout fails, so a lost SYN (retransmitted after
          1 s) is a failure: "seen" means the first SYN took that path. The clock is the
          kernel's, shared by every namespace, so the caller compares "at" with its own.
"""

import argparse
import collections
import errno
import fcntl
import json
import os
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

IDLE_TIMEOUT = 60                   # a TCP client that says nothing for this long is dropped
MAX_PARALLEL = 256                  # client threads; more connections than this queue up


def plain_address(address):
    """'::ffff:192.0.2.2' -> '192.0.2.2': dual-stack sockets report IPv4 peers mapped."""
    return address.removeprefix("::ffff:")


class WhoamiHandler(socketserver.StreamRequestHandler):
    timeout = IDLE_TIMEOUT

    def handle(self):
        peer_address, peer_port = self.client_address[:2]
        answer = f"{plain_address(peer_address)} {peer_port}\n".encode()
        try:
            for _line in self.rfile:
                self.wfile.write(answer)
        except OSError:
            pass                    # the client went away or idled out; nothing to report


class DualStackTCPServer(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 1024       # the default 5 drops SYNs when hundreds of clients connect at once

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def serve(args):
    # SIGTERM (traffic.stop_server) becomes SystemExit, so the pidfile is removed on the way out.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    # The pidfile exists before the port listens, so whoever saw it listening can stop it.
    with open(args.pidfile, "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()}\n")
    bind = args.bind if ":" in args.bind else f"::ffff:{args.bind}"
    try:
        if args.proto == "tcp":
            serve_tcp(bind, args.port, args.lifetime)
        else:
            serve_udp(bind, args.port, args.lifetime)
    finally:
        _remove_quietly(args.pidfile)


def serve_tcp(bind, port, lifetime):
    server = DualStackTCPServer((bind, port), WhoamiHandler)
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True             # an early SIGTERM must not wait for the timer
    timer.start()
    try:
        server.serve_forever()
    finally:
        server.server_close()


def serve_udp(bind, port, lifetime):
    """Answer each datagram from the address it was sent to.

    A plain sendto() from a socket bound to :: would pick the source by route
    (inet's uplink address, not the service address on lo), and the client's
    connected socket would ignore the answer; IPV6_PKTINFO keeps the address.
    """
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    sock.bind((bind, port))
    sock.settimeout(0.5)
    deadline = time.monotonic() + lifetime
    with sock:
        while time.monotonic() < deadline:
            try:
                _data, ancillary, _flags, peer = sock.recvmsg(512, socket.CMSG_SPACE(20))
            except TimeoutError:
                continue
            answer = f"{plain_address(peer[0])} {peer[1]}\n".encode()
            sock.sendmsg([answer], _reply_source(ancillary), 0, peer)


def _reply_source(ancillary):
    """Ancillary data that sends from the address the datagram arrived at, via any interface."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            # in6_pktinfo: 16 address bytes, then the interface index; 0 lets routing choose.
            return [(level, kind, data[:16] + struct.pack("I", 0))]
    return []


def connect(args):
    family = socket.AF_INET6 if ":" in args.to else socket.AF_INET
    # Concurrent, so that N unanswered connections cost one timeout, not N.
    with ThreadPoolExecutor(max_workers=min(args.count, MAX_PARALLEL)) as pool:
        connections = list(pool.map(lambda _: _open(args, family), range(args.count)))
        for round_number in range(args.rounds):
            if round_number:
                time.sleep(args.interval)
            list(pool.map(_ask_whoami, connections))
    for connection in connections:
        if connection["socket"]:
            connection["socket"].close()
    report = [{"seen": c["seen"], "error": c["error"]} for c in connections]
    json.dump({"connections": report}, sys.stdout)


def _open(args, family):
    kind = socket.SOCK_STREAM if args.proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.settimeout(args.timeout)
    try:
        if args.source:
            sock.bind((args.source, 0))
        sock.connect((args.to, args.port))      # for udp this only fixes the peer
    except OSError as error:
        sock.close()
        return {"socket": None, "seen": [], "error": f"connect: {error}"}
    return {"socket": sock, "reader": sock.makefile("rb") if args.proto == "tcp" else None,
            "seen": [], "error": None}


def _ask_whoami(connection):
    if connection["error"]:
        return
    sock = connection["socket"]
    try:
        sock.send(b"whoami\n")
        reply = connection["reader"].readline() if connection["reader"] else sock.recv(512)
    except OSError as error:
        connection["error"] = f"round {len(connection['seen']) + 1}: {error}"
        return
    if not reply:
        connection["error"] = f"round {len(connection['seen']) + 1}: closed by peer"
        return
    connection["seen"].append(reply.decode().split()[0])


# NFQUEUE over netlink (include/uapi/linux/netfilter/nfnetlink_queue.h): what a delaying queue needs.
NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1                 # the packet's id and headers' metadata, no payload: nothing is changed
NFQA_CFG_F_FAIL_OPEN = 1            # a full queue accepts instead of dropping: a delay never adds loss
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
QUEUE_MAXLEN = 16384
RECEIVE_BUFFER = 8 << 20


def delay(args):
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    sock = _bind_queue(args.queue)
    with open(args.pidfile, "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()}\n")
    held = collections.deque()              # (due, packet id): a fixed delay keeps them in order
    hold = args.milliseconds / 1000
    deadline = time.monotonic() + args.lifetime
    try:
        while time.monotonic() < deadline:
            wait = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
            if select.select([sock], [], [], wait)[0]:
                arrived = time.monotonic()
                held.extend((arrived + hold, packet_id) for packet_id in _queued_packets(sock))
            now = time.monotonic()
            while held and held[0][0] <= now:
                sock.send(_nfqueue_message(NFQNL_MSG_VERDICT, args.queue, [
                    _attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, held.popleft()[1]))]))
    finally:
        _remove_quietly(args.pidfile)


def _bind_queue(queue):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind((0, 0))
    for attribute in (_attribute(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0)),
                      _attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0xFFFF, NFQNL_COPY_META)),
                      _attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN)),
                      _attribute(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))
                      + _attribute(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))):
        sock.send(_nfqueue_message(NFQNL_MSG_CONFIG, queue, [attribute], NLM_F_REQUEST | NLM_F_ACK))
        _check_ack(sock.recv(4096), queue)
    return sock


def _check_ack(reply, queue):
    """An ACK is an NLMSG_ERROR whose code is 0; a negative code is the kernel's refusal."""
    kind = struct.unpack_from("=H", reply, 4)[0]
    code = struct.unpack_from("=i", reply, 16)[0] if kind == NLMSG_ERROR else None
    if code != 0:
        raise OSError(f"NFQUEUE {queue}: " + (os.strerror(-code) if code else f"netlink reply type {kind}"))


def _queued_packets(sock):
    """Ids of the packets in every message waiting on the socket."""
    ids = []
    while True:
        try:
            data = sock.recv(RECEIVE_BUFFER, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return ids
        except OSError as error:
            if error.errno == errno.ENOBUFS:    # messages were lost; their packets go by fail-open
                continue
            raise
        ids += _packet_ids(data)


def _packet_ids(data):
    ids, offset = [], 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            attribute = offset + 20                 # netlink header, then nfgenmsg
            while attribute + 4 <= offset + length:
                size, attribute_type = struct.unpack_from("=HH", data, attribute)
                if attribute_type & 0x7FFF == NFQA_PACKET_HDR:
                    ids.append(struct.unpack_from("!I", data, attribute + 4)[0])
                attribute += (size + 3) & ~3
        offset += (length + 3) & ~3 if length else len(data)
    return ids


def _nfqueue_message(kind, queue, attributes, flags=NLM_F_REQUEST):
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", queue) + b"".join(attributes)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def _attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def flap(args):
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    with open(args.pidfile, "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + args.lifetime
    try:
        while time.monotonic() < deadline:
            _set_link(args.device, up=False)
            time.sleep(args.period / 2)
            _set_link(args.device, up=True)
            time.sleep(args.period / 2)
    finally:
        _set_link(args.device, up=True)
        _remove_quietly(args.pidfile)


def _set_link(device, up):
    """`ip link set DEV up|down` with the ioctl ip itself falls back to: standard library only."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", device.encode(), 0)
        flags = struct.unpack_from("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        flags = flags | IFF_UP if up else flags & ~IFF_UP
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", device.encode(), flags))


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def watch(args):
    family = socket.AF_INET6 if ":" in args.to else socket.AF_INET
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    printing = threading.Lock()
    started = time.monotonic()
    deadline, due, running = started + args.lifetime, started, []
    while not stop.is_set() and time.monotonic() < deadline:
        attempt = threading.Thread(target=_watch_one, args=(args, family, printing), daemon=True)
        attempt.start()
        running = [thread for thread in running if thread.is_alive()] + [attempt]
        due += args.every
        stop.wait(max(0.0, due - time.monotonic()))
    for attempt in running:         # each ends within twice its timeout
        attempt.join()


def _watch_one(args, family, printing):
    opened = time.monotonic()
    seen, error = None, None
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(args.timeout)
            sock.connect((args.to, args.port))
            sock.sendall(b"whoami\n")
            reply = sock.makefile("rb").readline()
            if not reply:
                raise OSError("closed by peer")
            seen = reply.decode().split()[0]
    except OSError as failure:
        error = str(failure) or type(failure).__name__
    line = json.dumps({"at": opened, "seen": seen, "seconds": time.monotonic() - opened, "error": error})
    with printing:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="multiwan-lab-agent")
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve")
    server.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    server.add_argument("--bind", default="::")
    server.add_argument("--port", type=int, required=True)
    server.add_argument("--lifetime", type=float, required=True)
    server.add_argument("--pidfile", required=True)
    client = commands.add_parser("connect")
    client.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    client.add_argument("--to", required=True)
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--count", type=int, default=1)
    client.add_argument("--rounds", type=int, default=1)
    client.add_argument("--interval", type=float, default=0.0)
    client.add_argument("--source")
    client.add_argument("--timeout", type=float, default=3.0)
    delayer = commands.add_parser("delay")
    delayer.add_argument("--queue", type=int, required=True)
    delayer.add_argument("--milliseconds", type=float, required=True)
    delayer.add_argument("--lifetime", type=float, required=True)
    delayer.add_argument("--pidfile", required=True)
    flapper = commands.add_parser("flap")
    flapper.add_argument("--device", required=True)
    flapper.add_argument("--period", type=float, required=True)
    flapper.add_argument("--lifetime", type=float, required=True)
    flapper.add_argument("--pidfile", required=True)
    watcher = commands.add_parser("watch")
    watcher.add_argument("--to", required=True)
    watcher.add_argument("--port", type=int, required=True)
    watcher.add_argument("--every", type=float, default=0.05)
    watcher.add_argument("--timeout", type=float, default=0.9)
    watcher.add_argument("--lifetime", type=float, default=600.0)
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    {"serve": serve, "connect": connect, "delay": delay, "flap": flap, "watch": watch}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])
