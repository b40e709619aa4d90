"""The agent's configuration file: what it accepts, its defaults, and errors that name the field and value."""

import json

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import config
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.config import ConfigError

WAN1 = {"name": "wan1", "device": "wan1", "mark": "0x100", "gateway": "198.51.100.1"}
WAN2 = {"name": "wan2", "device": "wan2", "mark": 512, "families": ["ipv4", "ipv6"],
        "gateway": {"ipv4": "dhcp", "ipv6": "fe80::1"},
        "track": {"targets": ["198.18.2.2", "203.0.113.10", "2001:db8::10"], "interval": 0.5}}


def parsed(*wans, **top):
    return config.parse(dict(top, wans=list(wans)))


def test_a_full_file_with_defaults():
    loaded = parsed(WAN1, WAN2)
    wan1, wan2 = loaded.wans
    assert (wan1.mark, wan1.families, wan1.gateways, wan1.track) == (0x100, ("ipv4",), (("ipv4", "198.51.100.1"),), None)
    assert wan2.gateways == (("ipv4", "dhcp"), ("ipv6", "fe80::1"))
    assert wan2.track.targets_of("ipv6") == ("2001:db8::10",)
    assert (wan2.track.method, wan2.track.timeout, wan2.track.window, wan2.track.loss_percent,
            wan2.track.latency_ms, wan2.track.down, wan2.track.up, wan2.track.hold) == \
        ("icmp", 0.8, 20.0, 50.0, None, None, 5, 10.0)
    assert loaded.status_file == config.DEFAULT_STATUS_FILE and loaded.owned_protocol == 211


def test_tracker_settings_compute_down_per_family():
    wan2 = parsed(WAN2).wans[0]
    ipv4, ipv6 = config.tracker_settings(wan2, "ipv4"), config.tracker_settings(wan2, "ipv6")
    assert (ipv4.probes.targets, ipv4.probes.down_rounds, ipv4.probes.window_rounds) == (2, 5, 40)
    assert (ipv6.probes.targets, ipv6.probes.down_rounds) == (1, 9)
    assert config.tracker_settings(parsed(WAN1).wans[0], "ipv4").probes is None


def test_an_explicit_down_wins():
    wan = parsed(dict(WAN1, track={"targets": ["198.18.2.2"], "down": 4})).wans[0]
    assert config.tracker_settings(wan, "ipv4").probes.down_rounds == 4


@pytest.mark.parametrize("gateway, expected", [
    ("198.51.100.1", (("ipv4", "198.51.100.1"),)),
    ("dhcp", (("ipv4", "dhcp"), ("ipv6", "dhcp"))),
    (["fe80::1", "198.51.100.1"], (("ipv4", "198.51.100.1"), ("ipv6", "fe80::1"))),
    (None, ()),
])
def test_gateway_forms(gateway, expected):
    wan = dict(WAN1, families=["ipv4", "ipv6"], gateway=gateway)
    assert parsed(wan).wans[0].gateways == expected


@pytest.mark.parametrize("change, message", [
    ({"track": {"targets": ["198.18.2.2"], "interval": 0}}, "wans[1].track.interval=0: must be > 0"),
    ({"track": {"targets": ["198.18.2.2"], "interval": "1"}}, 'wans[1].track.interval="1": must be a number'),
    ({"track": {"targets": ["198.18.2.2"], "method": "udp"}}, 'wans[1].track.method="udp": must be icmp or tcp'),
    ({"track": {"targets": ["198.18.2.2"], "method": "tcp"}}, "wans[1].track.port=null: must be an integer"),
    ({"track": {"targets": ["198.18.2.2"], "port": 80}}, "wans[1].track.port=80: only the tcp method takes a port"),
    ({"track": {"targets": ["198.18.2.2"], "method": "tcp", "port": 70000}},
     "wans[1].track.port=70000: must be between 1 and 65535"),
    ({"track": {"targets": []}}, "wans[1].track.targets=[]: must be a non-empty list of addresses"),
    ({"track": {"targets": ["example.com"]}}, 'wans[1].track.targets[0]="example.com": is not an IP address'),
    ({"track": {"targets": ["2001:db8::1"]}},
     'wans[1].track.targets[0]="2001:db8::1": is ipv6 but the WAN\'s families are ipv4'),
    ({"track": {"targets": ["198.18.2.2", "198.18.2.2"]}}, "lists a target twice"),
    ({"track": {"targets": ["198.18.2.2"], "reliability": 2}},
     "wans[1].track.reliability=2: the WAN has 1 ipv4 target(s); each family needs at least this many"),
    ({"track": {"targets": ["198.18.2.2"], "reliability": 0}}, "wans[1].track.reliability=0: must be >= 1"),
    ({"track": {"targets": ["198.18.2.2"], "loss_percent": 150}}, "wans[1].track.loss_percent=150: must be at most 100"),
    ({"track": {"targets": ["198.18.2.2"], "latency_ms": -1}}, "wans[1].track.latency_ms=-1: must be > 0"),
    ({"track": {"targets": ["198.18.2.2"], "hold": 20, "hold_max": 10}},
     "wans[1].track.hold_max=10: must be at least hold (20)"),
    ({"track": {"targets": ["198.18.2.2"], "window": 0.1}}, "wans[1].track.window=0.1: must be at least interval (0.2)"),
    ({"track": {"targets": ["198.18.2.2"], "up": True}}, "wans[1].track.up=true: must be an integer"),
    ({"track": {"targets": ["198.18.2.2"], "intervall": 1}}, 'wans[1].track.intervall=1: unknown option; known: targets,'),
    ({"name": "wan 2"}, 'wans[1].name="wan 2": must be a non-empty string'),
    ({"name": "wan1"}, 'wans[1].name="wan1": already used by wans[0]'),
    ({"device": "wan1"}, 'wans[1].device="wan1": already used by wans[0]'),
    ({"device": "a-very-long-interface"}, "must be an interface name of 1 to 15 characters"),
    ({"mark": "0x100"}, 'wans[1].mark="0x100": already used by wans[0]'),
    ({"mark": "blue"}, 'wans[1].mark="blue": must be an integer or a 0x... hex string'),
    ({"mark": 2 ** 32}, "wans[1].mark=4294967296: must be between 0 and 4294967295"),
    ({"families": ["ipv5"]}, 'wans[1].families=["ipv5"]: must be a non-empty list of ipv4 and/or ipv6'),
    ({"gateway": "fe80::1"}, 'wans[1].gateway.ipv6="fe80::1": the WAN\'s families are ipv4'),
    ({"gateway": ["198.51.100.1", "198.51.100.2"]}, 'wans[1].gateway[1]="198.51.100.2": a second ipv4 gateway'),
    ({"gateway": {"ipv4": "fe80::1"}}, 'wans[1].gateway.ipv4="fe80::1": is not an ipv4 address'),
    ({"gateway": 5}, "wans[1].gateway=5: must be an address"),
])
def test_errors_name_the_field_and_the_value(change, message):
    wan = dict({"name": "wan2", "device": "wan2"}, **change)
    with pytest.raises(ConfigError) as raised:
        parsed(WAN1, wan)
    assert message in str(raised.value)


@pytest.mark.parametrize("document, message", [
    ([], "config=[]: must be an object"),
    ({"wans": []}, "wans=[]: must be a non-empty list"),
    ({"wans": [WAN1], "status_file": "status.json"}, 'status_file="status.json": must be an absolute path'),
    ({"wans": [WAN1], "owned_protocol": 300}, "owned_protocol=300: must be between 0 and 255"),
    ({"wans": [WAN1], "colour": "blue"}, 'colour="blue": unknown option'),
])
def test_errors_at_the_top(document, message):
    with pytest.raises(ConfigError) as raised:
        config.parse(document)
    assert message in str(raised.value)


def test_load_refuses_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "agent.json"
    path.write_text("{wans: ")
    with pytest.raises(ConfigError) as raised:
        config.load(str(path))
    assert str(raised.value).startswith('config="%s": is not JSON' % path)
    path.write_text(json.dumps({"wans": [WAN1]}))
    assert config.load(str(path)).wans[0].name == "wan1"


# -- hooks and metrics (issue 13)


def test_hooks_and_metrics_have_defaults_and_are_read():
    plain = config.parse({"wans": [{"name": "wan1", "device": "wan1"}]})
    assert (plain.hooks_directory, plain.hook_timeout, plain.metrics_textfile, plain.metrics_listen) == \
        ("/etc/multiwan-pbr/hooks.d", 10.0, None, None)
    given = config.parse({"wans": [{"name": "wan1", "device": "wan1"}], "hooks": {"directory": "/srv/h", "timeout": 2},
                          "metrics": {"textfile": "/var/lib/node/m.prom", "listen": "[::1]:9612"}})
    assert (given.hooks_directory, given.hook_timeout, given.metrics_textfile, given.metrics_listen) == \
        ("/srv/h", 2.0, "/var/lib/node/m.prom", ("::1", 9612))


@pytest.mark.parametrize("part, field", [
    ({"hooks": {"directory": "hooks.d"}}, "hooks.directory"),
    ({"hooks": {"timeout": 0}}, "hooks.timeout"),
    ({"hooks": {"timeout": 7200}}, "hooks.timeout"),
    ({"hooks": {"dir": "/x"}}, "hooks.dir"),
    ({"metrics": {"textfile": "/var/lib/m.txt"}}, "metrics.textfile"),
    ({"metrics": {"listen": "0.0.0.0:9612"}}, "metrics.listen"),
    ({"metrics": {"listen": "localhost"}}, "metrics.listen"),
    ({"metrics": {"listen": "127.0.0.1:70000"}}, "metrics.listen"),
])
def test_bad_hooks_and_metrics_are_refused_by_field(part, field):
    with pytest.raises(config.ConfigError) as error:
        config.parse(dict({"wans": [{"name": "wan1", "device": "wan1"}]}, **part))
    assert error.value.field == field
