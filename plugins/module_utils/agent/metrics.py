# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's metrics in Prometheus text format (version 0.0.4), from its status document.

``render(document)`` is a pure function of what ``status`` writes, so the file, the endpoint and
``multiwan-pbr status --json`` never disagree. Per WAN family (labels ``wan``, ``family``):

=============================================  =======  ===============================================
multiwan_pbr_wan_up                            gauge    1 up, 0 down
multiwan_pbr_wan_loss_ratio                    gauge    probes lost over the window (0..1), probed WANs
multiwan_pbr_wan_latency_seconds               gauge    median round trip over the window
multiwan_pbr_wan_transitions_total             counter  ups and downs since the agent started
multiwan_pbr_wan_state_since_timestamp_seconds gauge    when it entered its state
multiwan_pbr_probes_sent_total                 counter  probes sent
multiwan_pbr_probes_answered_total             counter  probes answered (late ones too)
multiwan_pbr_wan_info                          gauge    1, with ``device``, ``address``, ``gateway``, ``reason``
=============================================  =======  ===============================================

and for the agent: ``multiwan_pbr_apply_success`` (the last apply: 1 ok, 0 failed),
``multiwan_pbr_apply_last_timestamp_seconds``, ``multiwan_pbr_applies_total``,
``multiwan_pbr_apply_failures_total``, ``multiwan_pbr_hooks_run_total``, ``multiwan_pbr_hook_failures_total``,
``multiwan_pbr_status_updated_timestamp_seconds``.

The agent writes the text atomically to a file for node_exporter's textfile collector (``write_textfile``) and/or
serves it on a loopback address (``MetricsServer``): a non-blocking listener in the agent's own ``selectors``
loop, one short HTTP/1.0 exchange per connection, no thread.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import selectors
import socket
import tempfile

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import status

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUEST_LIMIT = 8192            # bytes of request head; more is refused
CONNECTION_SECONDS = 5.0        # a client that has not sent its request by then is dropped
MAX_CONNECTIONS = 16

FAMILY_METRICS = (
    ("multiwan_pbr_wan_up", "gauge", "1 when the WAN family is up, 0 when it is down."),
    ("multiwan_pbr_wan_loss_ratio", "gauge", "Probes lost over the tracking window (0 to 1)."),
    ("multiwan_pbr_wan_latency_seconds", "gauge", "Median probe round trip over the tracking window."),
    ("multiwan_pbr_wan_transitions_total", "counter", "Transitions up and down since the agent started."),
    ("multiwan_pbr_wan_state_since_timestamp_seconds", "gauge", "When the WAN family entered its state."),
    ("multiwan_pbr_probes_sent_total", "counter", "Probes sent."),
    ("multiwan_pbr_probes_answered_total", "counter", "Probes answered."),
    ("multiwan_pbr_wan_info", "gauge", "The WAN family's device, address, gateway and last reason (value 1)."),
)
AGENT_METRICS = (
    ("multiwan_pbr_apply_success", "gauge", "1 when the last apply of routes and rules succeeded."),
    ("multiwan_pbr_apply_last_timestamp_seconds", "gauge", "When the agent last applied (or tried to)."),
    ("multiwan_pbr_applies_total", "counter", "Applies of routes and rules."),
    ("multiwan_pbr_apply_failures_total", "counter", "Applies that failed (retried a few seconds later)."),
    ("multiwan_pbr_hooks_run_total", "counter", "Hook processes started."),
    ("multiwan_pbr_hook_failures_total", "counter", "Hooks that exited non-zero, were killed or did not start."),
    ("multiwan_pbr_status_updated_timestamp_seconds", "gauge", "When these figures were taken."),
)


def render(document):
    """The metrics text of a status document."""
    samples = dict((name, []) for name, _kind, _help in FAMILY_METRICS + AGENT_METRICS)
    for wan in document.get("wans") or []:
        for entry in wan["families"]:
            _family_samples(samples, wan, entry)
    _agent_samples(samples, document)
    lines = []
    for name, kind, text in FAMILY_METRICS + AGENT_METRICS:
        if samples[name]:
            lines += ["# HELP %s %s" % (name, text), "# TYPE %s %s" % (name, kind)]
            lines += ["%s%s %s" % (name, _labels(labels), _number(value)) for labels, value in samples[name]]
    return "\n".join(lines) + "\n"


def _family_samples(samples, wan, entry):
    labels = (("wan", wan["name"]), ("family", entry["family"]))
    samples["multiwan_pbr_wan_up"].append((labels, 1 if entry["state"] == "up" else 0))
    if entry.get("loss") is not None and "probes" in entry:
        samples["multiwan_pbr_wan_loss_ratio"].append((labels, entry["loss"] / 100.0))
    if entry.get("latency_ms") is not None:
        samples["multiwan_pbr_wan_latency_seconds"].append((labels, entry["latency_ms"] / 1000.0))
    samples["multiwan_pbr_wan_transitions_total"].append((labels, entry["transitions"]))
    samples["multiwan_pbr_wan_state_since_timestamp_seconds"].append((labels, status.parse_iso(entry["since"])))
    if "probes" in entry:
        samples["multiwan_pbr_probes_sent_total"].append((labels, entry["probes"]["sent"]))
        samples["multiwan_pbr_probes_answered_total"].append((labels, entry["probes"]["answered"]))
    addresses = entry.get("addresses") or []
    info = labels + (("device", wan["device"]), ("address", addresses[0] if addresses else ""),
                     ("gateway", entry.get("gateway") or ""), ("reason", entry["reason"]))
    samples["multiwan_pbr_wan_info"].append((info, 1))


def _agent_samples(samples, document):
    applied = document.get("apply") or {}
    if applied.get("at"):
        samples["multiwan_pbr_apply_success"].append(((), 1 if applied["ok"] else 0))
        samples["multiwan_pbr_apply_last_timestamp_seconds"].append(((), status.parse_iso(applied["at"])))
    samples["multiwan_pbr_applies_total"].append(((), applied.get("applies", 0)))
    samples["multiwan_pbr_apply_failures_total"].append(((), applied.get("failures", 0)))
    hooks = document.get("hooks") or {}
    samples["multiwan_pbr_hooks_run_total"].append(((), hooks.get("run", 0)))
    samples["multiwan_pbr_hook_failures_total"].append(((), hooks.get("failed", 0)))
    if document.get("updated"):
        samples["multiwan_pbr_status_updated_timestamp_seconds"].append(((), status.parse_iso(document["updated"])))


def _labels(pairs):
    if not pairs:
        return ""
    return "{%s}" % ",".join('%s="%s"' % (key, _escaped(value)) for key, value in pairs)


def _escaped(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def write_textfile(path, text):
    """Write ``text`` to ``path`` atomically (node_exporter must never read half a file)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    # the collector reads *.prom only: the temporary name must not end in .prom
    handle, temporary = tempfile.mkstemp(prefix=".multiwan_pbr.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class _Client(object):
    def __init__(self, sock, deadline):
        self.sock, self.deadline, self.request, self.reply = sock, deadline, b"", None

    def fileno(self):
        return self.sock.fileno()


class MetricsServer(object):
    """``GET /metrics`` on a loopback address, served from the agent's loop; ``text_of()`` gives the body."""

    def __init__(self, selector, address, port, text_of):
        self.selector, self.text_of = selector, text_of
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        try:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((address, port))
            self.listener.listen(MAX_CONNECTIONS)
        except OSError:
            self.listener.close()
            raise
        self.selector.register(self.listener, selectors.EVENT_READ, self)
        self.clients = []

    def on_ready(self, fileobj, now):
        if fileobj is self.listener:
            self._accept(now)
        elif fileobj in self.clients:
            self._serve(fileobj)

    def on_time(self, now):
        for client in [client for client in self.clients if client.deadline <= now]:
            self._close(client)

    def next_deadline(self):
        return min(client.deadline for client in self.clients) if self.clients else None

    def close(self):
        for client in list(self.clients):
            self._close(client)
        self.selector.unregister(self.listener)
        self.listener.close()

    def _accept(self, now):
        while True:
            try:
                sock, _peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self.clients) >= MAX_CONNECTIONS:
                sock.close()
                continue
            sock.setblocking(False)
            client = _Client(sock, now + CONNECTION_SECONDS)
            self.clients.append(client)
            self.selector.register(client, selectors.EVENT_READ, self)

    def _serve(self, client):
        try:
            if client.reply is None:
                self._read(client)
            if client.reply is not None:
                sent = client.sock.send(client.reply)
                client.reply = client.reply[sent:]
                if not client.reply:
                    self._close(client)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(client)

    def _read(self, client):
        data = client.sock.recv(REQUEST_LIMIT)
        if not data:
            self._close(client)
            return
        client.request += data
        if b"\r\n\r\n" not in client.request and b"\n\n" not in client.request:
            if len(client.request) > REQUEST_LIMIT:
                client.reply = _response(431, "request head too large\n")
                self.selector.modify(client, selectors.EVENT_WRITE, self)
            return
        client.reply = _answer(client.request, self.text_of)
        self.selector.modify(client, selectors.EVENT_WRITE, self)

    def _close(self, client):
        if client in self.clients:
            self.clients.remove(client)
            self.selector.unregister(client)
            client.sock.close()


def _answer(request, text_of):
    words = request.split(b"\r\n", 1)[0].split(b"\n", 1)[0].split()
    if len(words) < 2 or words[0] not in (b"GET", b"HEAD"):
        return _response(405, "only GET /metrics\n")
    if words[1].split(b"?", 1)[0] not in (b"/metrics", b"/"):
        return _response(404, "the metrics are at /metrics\n")
    return _response(200, text_of(), head_only=words[0] == b"HEAD")


def _response(code, body, head_only=False):
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large"}[code]
    payload = body.encode("utf-8")
    head = ("HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (code, reason, CONTENT_TYPE, len(payload))).encode("ascii")
    return head if head_only else head + payload
