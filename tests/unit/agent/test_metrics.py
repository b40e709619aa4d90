"""The metrics: Prometheus text rendered from a status document, written atomically, served on loopback."""

import selectors
import socket
import time

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import metrics

DOCUMENT = {
    "updated": "2026-12-02T10:00:07.000Z", "apply": {"ok": True, "at": "2026-12-02T10:00:05.000Z", "applies": 4,
                                                     "failures": 1},
    "hooks": {"run": 3, "failed": 1, "killed": 0},
    "wans": [{"name": "wan2", "device": "wan2", "families": [
        {"family": "ipv4", "state": "down", "since": "2026-12-02T10:00:05.000Z", "reason": "probes", "detail": "",
         "loss": 25.0, "latency_ms": 12.5, "transitions": 3, "probes": {"sent": 480, "answered": 360},
         "addresses": ["198.51.100.2/24"], "gateway": "198.51.100.1"}]},
        {"name": "lte", "device": "wwan0", "families": [
            {"family": "ipv4", "state": "up", "since": "2026-12-02T10:00:00.000Z", "reason": "start",
             "detail": 'agent "started"', "loss": None, "latency_ms": None, "transitions": 0, "addresses": [],
             "gateway": None}]}]}


def test_every_wan_family_and_the_agent_in_prometheus_text():
    text = metrics.render(DOCUMENT)
    lines = text.splitlines()
    assert 'multiwan_pbr_wan_up{wan="wan2",family="ipv4"} 0' in lines
    assert 'multiwan_pbr_wan_up{wan="lte",family="ipv4"} 1' in lines
    assert 'multiwan_pbr_wan_loss_ratio{wan="wan2",family="ipv4"} 0.25' in lines
    assert 'multiwan_pbr_wan_latency_seconds{wan="wan2",family="ipv4"} 0.0125' in lines
    assert 'multiwan_pbr_probes_answered_total{wan="wan2",family="ipv4"} 360' in lines
    assert 'multiwan_pbr_wan_transitions_total{wan="lte",family="ipv4"} 0' in lines
    assert 'multiwan_pbr_wan_state_since_timestamp_seconds{wan="wan2",family="ipv4"} 1796205605.0' in lines
    assert ('multiwan_pbr_wan_info{wan="wan2",family="ipv4",device="wan2",address="198.51.100.2/24",'
            'gateway="198.51.100.1",reason="probes"} 1') in lines
    assert "multiwan_pbr_apply_success 1" in lines and "multiwan_pbr_apply_failures_total 1" in lines
    assert "multiwan_pbr_hook_failures_total 1" in lines
    assert "# TYPE multiwan_pbr_probes_sent_total counter" in lines
    # an unprobed WAN has no loss, latency or probe counters (no sample beats a made-up 0)
    assert not any(line.startswith("multiwan_pbr_wan_loss_ratio{wan=\"lte\"") for line in lines)
    assert text.endswith("\n")


def test_label_values_are_escaped():
    document = dict(DOCUMENT, wans=[dict(DOCUMENT["wans"][0], name='a"b\\c')])
    assert 'wan="a\\"b\\\\c"' in metrics.render(document)


def test_the_textfile_is_replaced_whole(tmp_path):
    path = tmp_path / "textfile" / "multiwan_pbr.prom"
    metrics.write_textfile(str(path), "a 1\n")
    metrics.write_textfile(str(path), "a 2\n")
    assert path.read_text() == "a 2\n" and [p.name for p in path.parent.iterdir()] == ["multiwan_pbr.prom"]


@pytest.fixture
def server():
    selector = selectors.DefaultSelector()
    served = metrics.MetricsServer(selector, "127.0.0.1", 0, lambda: "multiwan_pbr_wan_up 1\n")
    yield served, selector
    served.close()
    selector.close()


def fetch(server, request):
    served, selector = server
    client = socket.create_connection(served.listener.getsockname(), timeout=5)
    client.sendall(request)
    client.setblocking(False)
    reply, deadline = b"", time.monotonic() + 5
    while time.monotonic() < deadline:
        for key, _events in selector.select(0.05):
            key.data.on_ready(key.fileobj, time.monotonic())
        try:
            chunk = client.recv(65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        reply += chunk
    client.close()
    return reply.decode()


def test_the_endpoint_serves_get_metrics_and_nothing_else(server):
    reply = fetch(server, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert reply.startswith("HTTP/1.0 200 OK\r\n") and "version=0.0.4" in reply
    assert reply.endswith("\r\n\r\nmultiwan_pbr_wan_up 1\n")
    assert fetch(server, b"POST /metrics HTTP/1.1\r\n\r\n").startswith("HTTP/1.0 405")
    assert fetch(server, b"GET /other HTTP/1.1\r\n\r\n").startswith("HTTP/1.0 404")


def test_a_silent_client_is_dropped_after_its_deadline(server):
    served, _selector = server
    client = socket.create_connection(served.listener.getsockname(), timeout=5)
    deadline = time.monotonic() + 5
    while not served.clients and time.monotonic() < deadline:
        served.on_ready(served.listener, time.monotonic())
    served.on_time(time.monotonic() + metrics.CONNECTION_SECONDS)
    assert served.clients == [] and client.recv(10) == b""
    client.close()
