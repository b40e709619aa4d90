"""The agent's parts run inside a namespace, driven over JSON lines (``python inside.py <what> <json>``).

``probe``    runs one ``probes.Prober`` for some rounds in its own selectors loop and prints each round.
``netlink``  opens ``netlink.RtNetlink``, dumps, prints ``{"ready": ...}``, then every record as it comes;
             with ``"tiny_buffer": true`` its receive buffer is shrunk so that a burst of events overflows it;
             with ``"stall": S`` a dump that brought nothing for S seconds is started again, as the agent does,
             and a ``{"kind": "Restarted"}`` line says so.
``slow-echo`` answers ICMP echo requests itself, ``delay`` seconds late (run it with the kernel's own
             echo replies off: ``net.ipv4.icmp_echo_ignore_all=1``); there is no netem on this kernel.
``Inside`` starts one of them under ``ip netns exec`` and reads its lines with a timeout.
"""

import dataclasses
import json
import os
import select
import selectors
import socket
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".collections")


class Inside(object):
    def __init__(self, netns, what, argument):
        command = ["ip", "netns", "exec", netns.name, sys.executable, os.path.abspath(__file__), what,
                   json.dumps(argument)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=COLLECTIONS))
        self._buffer = b""

    def read(self, timeout):
        """The next line as JSON. Lines are split here: a buffered reader would hide lines from ``select``."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if not select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise AssertionError("nothing from %s within %s s" % (self.process.args[5], timeout))
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError("%s exited (%s)" % (self.process.args[5], self.process.wait()))
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def read_until(self, predicate, timeout):
        """Lines until one satisfies ``predicate``; all of them."""
        deadline, seen = time.monotonic() + timeout, []
        while True:
            try:
                seen.append(self.read(max(0.0, deadline - time.monotonic())))
            except AssertionError as error:
                raise AssertionError("%s; before that: %s" % (error, seen[-20:])) from None
            if predicate(seen[-1]):
                return seen

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def _probe(argument):
    from ansible_collections.multiwan.pbr.plugins.module_utils.agent.probes import ProbePlan, Prober
    rounds = argument.pop("rounds")
    selector = selectors.DefaultSelector()
    prober = Prober(ProbePlan(**dict(argument, targets=tuple(argument["targets"]))), selector, os.getpid())
    next_send, judged = time.monotonic(), 0
    while judged < rounds:
        now = time.monotonic()
        if next_send <= now:
            prober.send_round(now)
            next_send += prober.plan.interval
        timeout = min(next_send, prober.next_deadline() or next_send) - time.monotonic()
        for key, _events in selector.select(max(0.0, timeout)):
            key.data.on_ready(key.fileobj, time.monotonic())
        for observation in prober.due(time.monotonic()):
            judged += 1 if hasattr(observation, "rtts") else 0
            print(json.dumps({"kind": type(observation).__name__, **dataclasses.asdict(observation)}), flush=True)
    print(json.dumps({"sent": prober.sent, "answered": prober.answered, "last_error": prober.last_error}), flush=True)


def _netlink(argument):
    from ansible_collections.multiwan.pbr.plugins.module_utils.agent import netlink
    rt = netlink.RtNetlink()
    if argument.get("tiny_buffer"):
        rt.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)       # the kernel rounds it up to its minimum
    rt.request_dumps()
    deadline, dumped, ready = time.monotonic() + argument["seconds"], [], False
    stall, progress = argument.get("stall"), time.monotonic()
    while time.monotonic() < deadline:
        select.select([rt], [], [], 0.2)
        records = rt.read()
        if records or not rt.dumping:
            progress = time.monotonic()
        elif stall and time.monotonic() - progress > stall:
            # what the agent does (loop.DUMP_STALLED), sooner: a dump the kernel stopped feeding is asked for again
            rt.resync()
            records, progress = [{"kind": "Restarted"}], time.monotonic()
        for record in records:
            line = record if isinstance(record, dict) else {"kind": type(record).__name__, **dataclasses.asdict(record)}
            if ready:
                print(json.dumps(line), flush=True)
            else:
                dumped.append(line)
        if not ready and not rt.dumping:
            ready = True
            print(json.dumps({"ready": dumped}), flush=True)


def _slow_echo(argument):
    from ansible_collections.multiwan.pbr.plugins.module_utils.agent import probes
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    due = []            # (when, packet, address), in order: the delay is the same for every request
    print(json.dumps({"ready": True}), flush=True)
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        if select.select([raw], [], [], timeout)[0]:
            data, (source, _port) = raw.recvfrom(4096)
            icmp = data[(data[0] & 0x0F) * 4:]
            if icmp[0] == probes.ICMP_ECHO:
                reply = b"\0\0\0\0" + icmp[4:]
                reply = reply[:2] + struct.pack("!H", probes.checksum(reply)) + reply[4:]
                due.append((time.monotonic() + argument["delay"], reply, source))
        while due and due[0][0] <= time.monotonic():
            _when, reply, source = due.pop(0)
            raw.sendto(reply, (source, 0))


if __name__ == "__main__":
    sys.path.insert(0, COLLECTIONS)
    {"probe": _probe, "netlink": _netlink, "slow-echo": _slow_echo}[sys.argv[1]](json.loads(sys.argv[2]))
