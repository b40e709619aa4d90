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
"""

import argparse
import json
import os
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


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


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
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.command == "serve":
        serve(args)
    else:
        connect(args)


if __name__ == "__main__":
    main(sys.argv[1:])
