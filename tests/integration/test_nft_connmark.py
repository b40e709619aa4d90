"""nft_connmark against the real kernel: a two-WAN router in namespaces, real TCP/UDP traffic.

Every traffic test first shows the failure the table prevents (a negative control on the
same topology), then applies the table with the real module and shows the traffic working.
ISPs drop and count packets whose source is not their customer's, so "left by the wrong WAN"
is a number the tests read (``Topology.spoofed``).
"""

import json
import time

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.linux import nft_connmark as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.nft import table_comment, with_table_comment
from support.modules import run_module
from support.multiwan_topology import CLIENT, INET, ROUTER_WAN, Agent, Server, Topology
from support.netns import Netns

pytestmark = pytest.mark.netns

WANS = [{"name": "isp_a", "device": "wan1", "mark": "0x100", "masquerade": True},
        {"name": "isp_b", "device": "wan2", "mark": "0x200", "masquerade": True}]
SETTINGS = {"table": "multiwan_pbr", "mask": "0xff00", "wans": WANS,
            "exclude": {"devices": ["wg0"], "destinations": ["192.168.0.0/16", "fd00::/8"]}}
ECHO_PORT, FORWARDED_PORT, LAN_PORT = 7000, 8080, 9000

FOREIGN_TABLE = """
table inet other_tool {
    chain stamp {
        type filter hook prerouting priority -160; policy accept;
        iifname "lan0" meta mark set meta mark | 0x1 ct mark set ct mark | 0x10000
    }
}
table ip test_dnat {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "wan2" tcp dport %d dnat to %s:%d
    }
}
""" % (FORWARDED_PORT, CLIENT, LAN_PORT)

# other_tool checks, after our chains, that its bit 0x1 survived on every forwarded packet leaving by a WAN
MARK_CHECK = """
table inet mark_check {
    counter kept {}
    counter lost {}
    chain check {
        type filter hook postrouting priority 0; policy accept;
        iifname "lan0" oifname { "wan1", "wan2" } meta mark & 0x1 == 0x1 meta mark & 0xff00 != 0 counter name "kept"
        iifname "lan0" oifname { "wan1", "wan2" } meta mark & 0x1 == 0 counter name "lost"
    }
}
"""


def connmark(net, check_mode=False, diff=False, **options):
    return run_module("nft_connmark", dict(SETTINGS, **options), netns=net.router.name, check_mode=check_mode, diff=diff)


def listing(net, table="multiwan_pbr"):
    out = net.router.run("nft", "-j", "list", "table", "inet", table, check=False)
    return json.loads(out) if out.strip() else None


def listing_with_comment(node, table="multiwan_pbr"):
    """The listing as the runner reads it: nft 1.0.6 prints a table's comment only in text."""
    listed = json.loads(node.run("nft", "-j", "list", "table", "inet", table))
    return with_table_comment(listed, table_comment(node.run("nft", "list", "table", "inet", table)))


def eventually(read, expected, seconds=3.0):
    """``read()`` once it equals ``expected`` (a packet crosses veths and softirqs, not instantly), else its last value."""
    deadline = time.monotonic() + seconds
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def counter(net, table, name):
    entries = json.loads(net.router.run("nft", "-j", "list", "counter", "inet", table, name))["nftables"]
    return [entry["counter"]["packets"] for entry in entries if "counter" in entry][0]


@pytest.fixture(scope="module")
def net():
    with Topology() as topology:
        topology.pbr_routes()
        topology.router.run("nft", "-f", "-", input=FOREIGN_TABLE)
        yield topology


@pytest.fixture
def no_table(net):
    net.router.run("nft", "delete", "table", "inet", "multiwan_pbr", check=False)
    net.default_route(1)
    yield
    net.default_route(1)


# ---------------------------------------------------------------------------
# Apply, idempotence, check mode, bad input: the real module against the real nft


def test_apply_is_idempotent_and_touches_nothing_else(net, no_table):
    foreign_before = net.router.run("nft", "-j", "list", "table", "inet", "other_tool")

    checked = connmark(net, check_mode=True, diff=True)
    assert checked["changed"] and listing(net) is None                          # check mode changes nothing
    assert checked["diff"]["before"] == "" and "chain prerouting {" in checked["diff"]["after"]

    applied = connmark(net, diff=True)
    assert applied["changed"] and not applied.get("warnings"), applied
    assert applied["after"] == [engine.normalise(SETTINGS).config]
    # the listed table IS the wanted structure (compared in the canonical form, not as text), marked as ours
    assert engine.parse(listing_with_comment(net.router), {}) == [engine.normalise(SETTINGS)]

    again = connmark(net, diff=True)
    assert again["changed"] is False and again["commands"] == []
    assert again["diff"]["before"] == again["diff"]["after"] == applied["diff"]["after"]

    gathered = run_module("nft_connmark", {"state": "gathered"}, netns=net.router.name)
    assert gathered["gathered"] == applied["after"]
    assert net.router.run("nft", "-j", "list", "table", "inet", "other_tool") == foreign_before


def test_check_mode_and_bad_input_change_nothing(net, no_table):
    connmark(net)
    before = listing(net)
    changed_settings = dict(exclude={"devices": ["wg1"], "destinations": []})
    assert connmark(net, check_mode=True, **changed_settings)["changed"]
    for bad in ({"wans": [{"name": "a", "device": "wan1", "mark": "0x1"}]},                 # outside the mask
                {"wans": [{"name": "a", "device": "wan1"}, {"name": "b", "device": "wan1"}]},  # same device twice
                {"mask": "0"},
                {"wans": [{"name": "a", "device": "wan1", "mark": "0x100"}, {"name": "b", "device": "wan2", "mark": "0x100"}]}):
        result = connmark(net, **bad)
        assert result["failed"] and result["field"] and "value" in result, result
    assert listing(net) == before


def test_rendered_script_builds_the_same_table_as_the_module(net):
    """``rendered`` is honest: its script, fed to nft by hand, lists as the structure the module compares."""
    script = run_module("nft_connmark", dict(SETTINGS, state="rendered"))["rendered"]
    with Netns("mws") as scratch:
        scratch.run("nft", "-f", "-", input="\n".join(script) + "\n")
        listed = listing_with_comment(scratch)
    assert engine.parse(listed, {}) == [engine.normalise(SETTINGS)]


def test_absent_removes_only_the_owned_table(net):
    connmark(net)
    assert connmark(net, state="absent")["changed"]
    assert listing(net) is None and listing(net, "other_tool") is not None
    assert connmark(net, state="absent")["changed"] is False


# ---------------------------------------------------------------------------
# Ownership: only a table that carries the marker is the module's (issue 11, defect 8)

FIREWALL = """
table inet fw {
    chain input {
        type filter hook input priority filter; policy accept;
        ct state established,related accept
        tcp dport 22 accept
    }
}
"""


def test_a_table_without_the_marker_is_refused_and_left_as_it_was(net):
    net.router.run("nft", "-f", "-", input=FIREWALL)
    try:
        before = net.router.run("nft", "list", "table", "inet", "fw")
        for options, check_mode in (({}, True), ({}, False), ({"state": "absent"}, False), ({"adopt": True}, False)):
            result = connmark(net, check_mode=check_mode, table="fw", **options)
            assert result["failed"] and result["field"] == "table" and result["value"] == "fw", result
            assert "marker" in result["msg"]
        assert net.router.run("nft", "list", "table", "inet", "fw") == before
    finally:
        net.router.run("nft", "delete", "table", "inet", "fw")


def test_a_table_an_earlier_version_made_is_adopted_once_with_adopt(net, no_table):
    # what versions before the marker wrote: the same table, without the comment
    script = run_module("nft_connmark", dict(SETTINGS, state="rendered"))["rendered"]
    net.router.run("nft", "-f", "-", input="\n".join(line.split(" { comment ")[0] for line in script) + "\n")
    legacy = net.router.run("nft", "list", "table", "inet", "multiwan_pbr")
    refused = connmark(net)
    assert refused["failed"] and "adopt: true" in refused["msg"]
    assert net.router.run("nft", "list", "table", "inet", "multiwan_pbr") == legacy

    adopted = connmark(net, adopt=True)
    assert adopted["changed"] and table_comment(net.router.run("nft", "list", "table", "inet", "multiwan_pbr")) \
        == engine.OWNER_COMMENT
    assert connmark(net, adopt=True)["changed"] is False
    assert connmark(net)["changed"] is False                # marked now: adopt is no longer needed


# ---------------------------------------------------------------------------
# Traffic


def test_connection_to_wan2_address_is_answered_through_wan2(net, no_table):
    with Server(net.router, ECHO_PORT), Agent(net.inet) as internet:
        spoofed = net.spoofed(1)
        assert internet.connect(ROUTER_WAN[2], ECHO_PORT, timeout=1.5)["error"] == "TimeoutError"   # negative control
        assert net.spoofed(1) > spoofed                     # the SYN-ACK left by WAN1 and ISP1 dropped it

        connmark(net)
        spoofed = (net.spoofed(1), net.spoofed(2))
        connection = internet.connect(ROUTER_WAN[2], ECHO_PORT)
        for attempt in range(5):
            assert internet.echo(connection["id"], "ping %d" % attempt) == {"reply": "%s ping %d" % (INET, attempt)}
        assert (net.spoofed(1), net.spoofed(2)) == spoofed


def test_port_forwarded_connection_is_answered_through_wan2(net, no_table):
    with Server(net.client, LAN_PORT), Agent(net.inet) as internet:
        assert internet.connect(ROUTER_WAN[2], FORWARDED_PORT, timeout=1.5)["error"] == "TimeoutError"

        connmark(net)
        spoofed = (net.spoofed(1), net.spoofed(2))
        connection = internet.connect(ROUTER_WAN[2], FORWARDED_PORT)
        assert internet.echo(connection["id"]) == {"reply": "%s ping" % INET}      # the LAN host saw the real client
        assert (net.spoofed(1), net.spoofed(2)) == spoofed


def test_related_icmp_error_leaves_by_the_wan_of_its_connection(net, no_table):
    """RELATED packets carry their master's ct mark: a port-unreachable for UDP to WAN2 leaves by WAN2."""
    with Agent(net.inet) as internet:
        assert internet.udp(ROUTER_WAN[2], 9, timeout=1.0)["error"] == "TimeoutError"
        connmark(net)
        assert internet.udp(ROUTER_WAN[2], 9, timeout=2.0)["error"] == "ConnectionRefusedError"


def test_outbound_connections_keep_their_wan_for_their_whole_life(net, no_table):
    connmark(net)
    net.router.run("sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1")      # spread by ports
    net.default_route(1, 2, weights=(1, 2))
    spoofed = (net.spoofed(1), net.spoofed(2))
    with Server(net.inet, ECHO_PORT), Agent(net.client) as lan:
        wan_of, sport_of = {}, {}                            # connection -> router address the server saw
        while len(set(wan_of.values())) < 2 and len(wan_of) < 40:
            connection = lan.connect(INET, ECHO_PORT)
            sport_of[connection["id"]] = connection["sport"]
            wan_of[connection["id"]] = lan.echo(connection["id"])["reply"].split()[0]
        assert set(wan_of.values()) == set(ROUTER_WAN.values())

        for only in (2, 1):                                  # the default now points at one WAN, then the other
            net.default_route(only)
            for connection, address in wan_of.items():
                assert lan.echo(connection) == {"reply": "%s ping" % address}
        marks = net.conntrack_marks(CLIENT, ECHO_PORT)
    mark_of = {ROUTER_WAN[1]: 0x100, ROUTER_WAN[2]: 0x200}
    for connection, address in wan_of.items():
        assert marks[sport_of[connection]] & 0xff00 == mark_of[address]
    assert (net.spoofed(1), net.spoofed(2)) == spoofed      # not one packet left by the wrong WAN


def test_other_tools_mark_bits_survive(net, no_table):
    connmark(net)
    net.router.run("nft", "-f", "-", input=MARK_CHECK)
    try:
        with Server(net.inet, ECHO_PORT), Agent(net.client) as lan:
            connection = lan.connect(INET, ECHO_PORT)
            for attempt in range(5):
                assert lan.echo(connection["id"], "ping %d" % attempt) == {"reply": "%s ping %d" % (ROUTER_WAN[1], attempt)}
            marks = net.conntrack_marks(CLIENT, ECHO_PORT)
            sport = connection["sport"]
        assert counter(net, "mark_check", "kept") >= 5 and counter(net, "mark_check", "lost") == 0
        assert marks[sport] & 0x10000 == 0x10000             # other_tool's ct bit kept beside ours
        assert marks[sport] & 0xff00 == 0x100
    finally:
        net.router.run("nft", "delete", "table", "inet", "mark_check")


INVALID_CHECK = """
table inet invalid_check {
    counter invalid {}
    chain out {
        type filter hook output priority 0; policy accept;
        icmp type echo-reply ct state invalid counter name "invalid"
    }
}
"""
ARRIVED = """
table ip arrived {
    counter replies {}
    chain input {
        type filter hook input priority 0; policy accept;
        icmp type echo-reply ip saddr %s counter name "replies"
    }
}
""" % ROUTER_WAN[2]


def arrived_replies(net):
    listed = json.loads(net.inet.run("nft", "-j", "list", "counter", "ip", "arrived", "replies"))["nftables"]
    return [entry["counter"]["packets"] for entry in listed if "counter" in entry][0]


def test_invalid_replies_pass_unmarked_and_follow_their_source_rule(net, no_table):
    """Seed 002: a reply conntrack calls INVALID has no ct mark; the table neither marks nor drops it.

    Without a rule for its source it leaves by the default route (WAN1, dropped there); with the
    ``from <WAN2 address> lookup <WAN2 table>`` rule the role installs it leaves by WAN2 and arrives.
    """
    connmark(net)
    net.router.run("nft", "-f", "-", input=INVALID_CHECK)
    net.inet.run("nft", "-f", "-", input=ARRIVED)
    try:
        spoofed = net.spoofed(1)
        net.send_stray_echo_reply(ROUTER_WAN[2], INET)
        assert counter(net, "invalid_check", "invalid") == 1
        assert eventually(lambda: net.spoofed(1), spoofed + 1) == spoofed + 1

        net.router.ip("rule", "add", "pref", "1100", "from", ROUTER_WAN[2], "lookup", "102")
        net.send_stray_echo_reply(ROUTER_WAN[2], INET)
        assert eventually(lambda: arrived_replies(net), 1) == 1
        assert counter(net, "invalid_check", "invalid") == 2 and net.spoofed(1) == spoofed + 1
    finally:
        net.router.ip("rule", "del", "pref", "1100", check=False)
        net.router.run("nft", "delete", "table", "inet", "invalid_check")
        net.inet.run("nft", "delete", "table", "ip", "arrived")


def test_excluded_destinations_are_never_classified(net, no_table):
    connmark(net, exclude={"devices": [], "destinations": [INET + "/32"]})
    with Server(net.inet, ECHO_PORT), Agent(net.client) as lan:
        connection = lan.connect(INET, ECHO_PORT)
        assert lan.echo(connection["id"]) == {"reply": "%s ping" % ROUTER_WAN[1]}
        marks = net.conntrack_marks(CLIENT, ECHO_PORT)
    assert marks[connection["sport"]] & 0xff00 == 0


def test_applying_while_a_long_stream_flows_does_not_break_it(net, no_table):
    connmark(net)
    spoofed = (net.spoofed(1), net.spoofed(2))
    with Server(net.inet, ECHO_PORT), Agent(net.client) as lan:
        lan.start_stream(INET, ECHO_PORT, seconds=3)
        net.default_route(2)                               # from now on only the mark keeps it on WAN1
        changed = connmark(net, exclude={"devices": ["wg1"], "destinations": ["10.0.0.0/8"]})
        assert changed["changed"], changed
        assert connmark(net)["changed"]                     # and back
        stream = lan.wait_stream()
    assert "error" not in stream and stream["received"] == stream["sent"] > 0, stream
    assert (net.spoofed(1), net.spoofed(2)) == spoofed
