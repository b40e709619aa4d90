"""pbr_table against the real kernel, in network namespaces made by each test.

The router namespace has two veth links to a peer namespace (``wan0`` 198.51.100.2/24 and
2001:db8:1::2/64, ``wan1`` 203.0.113.2/24 and 2001:db8:2::2/64), so gateways on those
subnets are reachable and others are refused by the kernel. ``ip netns exec`` bind-mounts
the namespace's own /etc/netns/<ns>/iproute2, so the names file the module writes is the
test's, never the host's.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import FileEdit
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables_file import edited_text
from support.modules import COLLECTIONS, ROOT, module_path, parse_result, run_module
from support.netns import Netns

pytestmark = pytest.mark.netns

NAMES_FILE = "/etc/iproute2/rt_tables.d/multiwan_pbr.conf"
CONTRACT = [
    {"name": "isp_a", "id": 101, "routes": [
        {"dst": "default", "via": "198.51.100.1", "dev": "wan0"},
        {"dst": "10.0.0.0/8", "type": "throw"},
        {"dst": "2001:db8:99::/48", "type": "throw"},
        {"dst": "default", "via": "2001:db8:1::1", "dev": "wan0"}]},
    {"name": "isp_b", "id": 102, "routes": [
        {"dst": "default", "via": "203.0.113.1", "dev": "wan1"},
        {"dst": "10.1.0.0/16", "type": "blackhole"},
        {"dst": "10.2.0.0/16", "type": "unreachable", "metric": 5},
        {"dst": "10.3.0.0/16", "type": "prohibit"},
        {"dst": "192.0.2.0/24", "via": "192.0.2.254", "dev": "wan1", "onlink": True, "metric": 30},
        {"dst": "default", "dev": "wan1", "family": "ipv6"}]},
    {"name": "main", "routes": [
        {"dst": "default", "nexthops": [{"via": "198.51.100.1", "dev": "wan0", "weight": 1},
                                        {"via": "203.0.113.1", "dev": "wan1", "weight": 3}]},
        {"dst": "default", "nexthops": [{"via": "2001:db8:1::1", "dev": "wan0", "weight": 2},
                                        {"via": "2001:db8:2::1", "dev": "wan1", "weight": 5}]}]},
]
# Routes other owners made, in the same tables as the owned ones.
FOREIGN = [
    ("-4", "192.0.2.7", "via", "198.51.100.1", "dev", "wan0", "table", "101", "proto", "static", "metric", "5"),
    ("-4", "192.0.2.0/24", "via", "203.0.113.1", "dev", "wan1", "table", "102"),                  # proto boot
    ("-4", "default", "via", "198.51.100.1", "dev", "wan0", "proto", "dhcp", "metric", "100"),    # main
    ("-4", "172.16.0.0/12", "via", "203.0.113.1", "dev", "wan1", "proto", "static"),
    ("-6", "2001:db8:95::/48", "via", "2001:db8:1::1", "dev", "wan0", "table", "101", "proto", "static"),
    ("-6", "default", "via", "2001:db8:2::1", "dev", "wan1", "proto", "ra", "metric", "2048"),
]


@pytest.fixture
def ns():
    with Netns("mwt") as router, Netns("mwp") as peer:
        router.run("sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        router.veth("wan0", "p0", peer)
        router.veth("wan1", "p1", peer)
        for dev, v4, v6 in (("wan0", "198.51.100.2/24", "2001:db8:1::2/64"),
                            ("wan1", "203.0.113.2/24", "2001:db8:2::2/64")):
            router.ip("addr", "add", v4, "dev", dev)
            router.ip("-6", "addr", "add", v6, "dev", dev, "nodad")
        router.run("sh", "-c", "printf '200\\tvpn\\n' > /etc/iproute2/rt_tables.d/user.conf")
        for route in FOREIGN:
            router.ip(route[0], "route", "add", *route[1:])
        wait_for_link_local_routes(router, 2)
        yield router


def wait_for_link_local_routes(ns, count, timeout=5.0):
    """IPv6 gives each link an fe80:: address a moment after it is up: let table local settle first."""
    deadline = time.monotonic() + timeout
    while ns.ip("-6", "route", "show", "table", "local").count("local fe80::") < count:
        assert time.monotonic() < deadline, "no IPv6 link-local addresses after %.0f s" % timeout
        time.sleep(0.05)


def pbr_table(ns, **args):
    check_mode, diff = args.pop("check_mode", False), args.pop("diff", False)
    return run_module("pbr_table", args, netns=ns.name, check_mode=check_mode, diff=diff)


def routes(ns):
    """Every route of both families, numeric, as the kernel reports them."""
    return [route for family in ("-4", "-6") for route in ns.ip_json("-N", family, "route", "show", "table", "all")]


def owned(ns):
    return [r for r in routes(ns) if r.get("protocol") == "211"]


def foreign(ns):
    return [r for r in routes(ns) if r.get("protocol") != "211"]


def names_file(ns):
    return ns.run("sh", "-c", "cat %s 2>/dev/null || echo MISSING" % NAMES_FILE)


def snapshot(ns):
    return routes(ns), names_file(ns), ns.run("ls", "-a", "/etc/iproute2/rt_tables.d")


def succeeded(result):
    assert not result.get("failed"), result.get("msg")
    assert result.get("warnings", []) == []
    return result


ISP_A = [{"name": "isp_a", "id": 101, "routes": [{"dst": "default", "via": "198.51.100.1", "dev": "wan0"}]}]


def test_every_state_converges_and_spares_foreign_routes(ns):
    before_foreign = foreign(ns)
    merged = succeeded(pbr_table(ns, config=CONTRACT, state="merged"))
    assert merged["changed"] and len(owned(ns)) == 12
    assert merged["commands"][0] == "rt_tables add 101 isp_a # %s" % NAMES_FILE
    assert "101\tisp_a\n102\tisp_b\n" in names_file(ns)
    assert ns.run("stat", "-c", "%a", NAMES_FILE) == "644\n"           # every user's ip reads the names
    assert ns.ip("route", "show", "table", "isp_a").startswith("default via 198.51.100.1 dev wan0 proto 211")
    assert succeeded(pbr_table(ns, config=CONTRACT, state="merged"))["changed"] is False

    gathered = succeeded(pbr_table(ns, state="gathered"))["gathered"]
    assert [entry["name"] for entry in gathered] == ["isp_a", "isp_b", "main"]
    assert [entry.get("id") for entry in gathered] == [101, 102, None]
    assert succeeded(pbr_table(ns, config=gathered, state="overridden"))["changed"] is False
    saved = {"routes4": ns.ip_json("-N", "-4", "route", "show", "table", "all"),
             "routes6": ns.ip_json("-N", "-6", "route", "show", "table", "all"),
             "rt_tables_d": {"multiwan_pbr.conf": names_file(ns)}}
    assert pbr_table(ns, running_config=json.dumps(saved), state="parsed")["parsed"] == gathered

    replaced = succeeded(pbr_table(ns, config=[{"name": "isp_b", "id": 102, "routes": [
        {"dst": "default", "via": "203.0.113.1", "dev": "wan1", "metric": 10}]}], state="replaced"))
    assert replaced["changed"] and replaced["commands"][0].startswith("ip -4 route add default via 203.0.113.1")
    assert [(r["dst"], r.get("metric")) for r in owned(ns) if r.get("table") == "102"] == [("default", 10)]
    assert succeeded(pbr_table(ns, config=gathered, state="overridden"))["changed"]
    assert succeeded(pbr_table(ns, config=gathered, state="overridden"))["changed"] is False

    overridden = succeeded(pbr_table(ns, config=[{"name": "isp_c", "id": 103, "routes": [
        {"dst": "default", "via": "198.51.100.1", "dev": "wan0"}]}], state="overridden"))
    assert overridden["after"] == [{"name": "isp_c", "id": 103, "routes": [
        {"dst": "default", "via": "198.51.100.1", "dev": "wan0"}]}]
    assert [(r["table"], r["dst"]) for r in owned(ns)] == [("103", "default")]
    assert names_file(ns).endswith("103\tisp_c\n") and "isp_a" not in names_file(ns)
    assert foreign(ns) == before_foreign

    deleted = succeeded(pbr_table(ns, config=[{"name": "isp_c"}], state="deleted"))
    assert deleted["commands"] == ["ip -4 route del default table 103 proto 211",
                                   "rt_tables del 103 isp_c # %s" % NAMES_FILE]
    assert owned(ns) == [] and "isp_c" not in names_file(ns)
    assert succeeded(pbr_table(ns, config=CONTRACT, state="merged"))["changed"]
    assert succeeded(pbr_table(ns, state="deleted"))["changed"] and owned(ns) == []
    assert foreign(ns) == before_foreign

    assert pbr_table(ns, config=CONTRACT, state="rendered")["rendered"] == merged["commands"]


def test_check_mode_changes_nothing(ns):
    succeeded(pbr_table(ns, config=CONTRACT[:2], state="merged"))
    before = snapshot(ns)
    for state, config in (("merged", CONTRACT), ("replaced", CONTRACT[2:]), ("overridden", CONTRACT[2:]),
                          ("deleted", None)):
        result = succeeded(pbr_table(ns, config=config, state=state, check_mode=True, diff=True))
        assert result["changed"], state
        assert snapshot(ns) == before, state
    assert "proto 16" in result["diff"]["after"]             # the dhcp route survives, in the diff too


def test_weighted_multipath_default_in_main_touches_only_owned_routes(ns):
    before_foreign = foreign(ns)
    succeeded(pbr_table(ns, config=CONTRACT[2:], state="merged"))
    v4, = [r for r in owned(ns) if r["dst"] == "default" and "." in r["nexthops"][0]["gateway"]]
    assert [(hop["gateway"], hop["dev"], hop["weight"]) for hop in v4["nexthops"]] == [
        ("198.51.100.1", "wan0", 1), ("203.0.113.1", "wan1", 3)]
    v6, = [r for r in owned(ns) if r["dst"] == "default" and ":" in r["nexthops"][0]["gateway"]]
    assert [hop["weight"] for hop in v6["nexthops"]] == [2, 5] and "table" not in v6

    reweighted = [{"name": "main", "routes": [
        {"dst": "default", "nexthops": [{"via": "198.51.100.1", "dev": "wan0", "weight": 2},
                                        {"via": "203.0.113.1", "dev": "wan1", "weight": 2}]},
        {"dst": "default", "nexthops": [{"via": "2001:db8:1::1", "dev": "wan0", "weight": 7},
                                        {"via": "2001:db8:2::1", "dev": "wan1", "weight": 1}]}]}]
    result = succeeded(pbr_table(ns, config=reweighted, state="merged"))
    assert result["commands"] == [
        "ip -4 route replace default table 254 proto 211 "
        "nexthop via 198.51.100.1 dev wan0 weight 2 nexthop via 203.0.113.1 dev wan1 weight 2",
        "ip -6 route replace default table 254 metric 1024 proto 211 "
        "nexthop via 2001:db8:1::1 dev wan0 weight 7 nexthop via 2001:db8:2::1 dev wan1 weight 1"]
    assert [[hop["weight"] for hop in r["nexthops"]] for r in owned(ns)] == [[2, 2], [7, 1]]
    assert succeeded(pbr_table(ns, config=reweighted, state="merged"))["changed"] is False

    result = succeeded(pbr_table(ns, config=[{"name": "main", "routes": reweighted[0]["routes"][:1]}],
                                 state="replaced"))
    assert result["commands"] == ["ip -6 route del default table 254 metric 1024 proto 211"]
    assert [[hop["weight"] for hop in r["nexthops"]] for r in owned(ns)] == [[2, 2]]
    assert foreign(ns) == before_foreign


@pytest.mark.parametrize("bad_route, message", [
    ({"dst": "10.20.0.0/16", "via": "192.0.2.1", "dev": "wan0"}, "gateway"),        # not on wan0's subnet
    ({"dst": "10.20.0.0/16", "via": "198.51.100.1", "dev": "nosuch0"}, "Cannot find device"),
])
def test_a_refused_line_in_the_middle_leaves_everything_as_before(ns, bad_route, message):
    succeeded(pbr_table(ns, config=CONTRACT[:1], state="merged"))
    before = snapshot(ns)
    isp_a_routes = [
        {"dst": "default", "via": "203.0.113.1", "dev": "wan1"},       # a replace before the failure
        {"dst": "10.10.0.0/16", "type": "blackhole"},
        bad_route,
        {"dst": "10.30.0.0/16", "type": "prohibit"},
        {"dst": "2001:db8:77::/48", "type": "blackhole"}]
    config = [{"name": "isp_a", "id": 101, "routes": isp_a_routes},
              {"name": "isp_c", "id": 103, "routes": [{"dst": "default", "dev": "wan1"}]}]
    result = pbr_table(ns, config=config, state="merged")
    assert result["failed"] and result["rolled_back"] is True
    bad_line = "ip -4 route add 10.20.0.0/16 via %s dev %s table 101 proto 211" % (bad_route["via"], bad_route["dev"])
    assert result["command"] == bad_line and message in result["device_message"]
    assert bad_line in result["msg"] and message in result["msg"]
    assert snapshot(ns) == before


BAD_INPUT = [
    ([{"name": "isp_x", "id": 254}], "id"),
    ([{"name": "isp_x", "id": 200}], "id"),                                           # vpn's, in user.conf
    ([{"name": "vpn", "id": 150}], "name"),
    ([{"name": "nosuch", "routes": [{"dst": "default", "dev": "wan0"}]}], "name"),
    ([{"name": "isp_a", "id": 101, "routes": [{"dst": "10.0.0.0/33", "dev": "wan0"}]}], "routes.dst"),
    ([{"name": "isp_a", "id": 101, "routes": [{"dst": "10.0.0.0/8", "via": "2001:db8:1::1", "dev": "wan0"}]}],
     "routes.via"),
    ([{"name": "main", "routes": [{"dst": "172.16.0.0/12", "via": "198.51.100.1", "dev": "wan0"}]}],
     "routes.dst"),                                                                   # the static route's identity
]


def test_bad_input_changes_nothing(ns):
    succeeded(pbr_table(ns, config=CONTRACT[:1], state="merged"))
    before = snapshot(ns)
    for config, field in BAD_INPUT:
        result = pbr_table(ns, config=CONTRACT[1:] + config, state="merged")
        assert result["failed"] and result["field"] == field, result["msg"]
        assert snapshot(ns) == before, config


def test_ten_thousand_routes_across_four_tables_in_one_run(ns):
    config = [{"name": "bulk_%d" % table, "id": 300 + table, "routes": [
        {"dst": "10.%d.%d.0/24" % (table * 10 + index // 256, index % 256),
         "via": "198.51.100.1" if index % 2 else "203.0.113.1", "dev": "wan0" if index % 2 else "wan1"}
        for index in range(2500)]} for table in range(4)]
    result = succeeded(pbr_table(ns, config=config, state="merged"))
    assert len(result["commands"]) == 10004
    for table in range(4):
        assert len(ns.ip_json("-4", "route", "show", "table", str(300 + table))) == 2500
    assert names_file(ns).count("bulk_") == 4
    assert succeeded(pbr_table(ns, config=config, state="merged"))["changed"] is False


# ---------------------------------------------------------------------------
# Issue 11: each defect against the real kernel, through the module as a process


def test_what_iproute2_makes_of_table_ids(ns):
    """What ``MAX_NAMED_TABLE_ID`` and core.fields' number pattern rest on, measured on this iproute2:
    a name line whose id is 2**31 or more (decimal or hex) is skipped, while the kernel takes such a
    table by number; ``0101`` is 101 in a names file and octal 65 on ip's command line."""
    ns.run("sh", "-c", "printf '2147483647\\tbelow\\n2147483648\\tabove\\n0x80000000\\thexabove\\n0101\\tleading\\n' "
                       "> /etc/iproute2/rt_tables.d/ids.conf")
    for name, number in (("below", "2147483647"), ("leading", "101")):
        ns.ip("route", "add", "blackhole", "10.99.0.0/16", "table", name)
        assert ns.ip_json("-N", "route", "show", "table", number)[0]["dst"] == "10.99.0.0/16"
    for name in ("above", "hexabove"):
        refused = subprocess.run(["ip", "netns", "exec", ns.name, "ip", "route", "add", "blackhole", "10.99.0.0/16",
                                  "table", name], capture_output=True, text=True, check=False)
        assert refused.returncode != 0 and '"table" value is invalid' in refused.stderr
    ns.ip("route", "add", "blackhole", "10.99.0.0/16", "table", "2147483648")
    ns.ip("route", "add", "blackhole", "10.99.0.0/16", "table", "0101")
    assert ns.ip_json("-N", "route", "show", "table", "65")[0]["dst"] == "10.99.0.0/16"


def test_an_id_iproute2_would_ignore_is_refused_and_a_table_of_it_takes_routes(ns):
    """Issue 11 defect 15: ``{name: big, id: 2147483648}`` was written to rt_tables.d, where iproute2
    ignores it (test_what_iproute2_makes_of_table_ids); routes may use such a table by its number."""
    before = snapshot(ns)
    result = pbr_table(ns, config=[{"name": "big", "id": 2147483648, "routes": [{"dst": "10.9.0.0/16", "type": "blackhole"}]}],
                       state="merged")
    assert (result["failed"], result["field"], result["value"]) == (True, "id", 2147483648)
    assert snapshot(ns) == before
    succeeded(pbr_table(ns, config=[{"name": "4294967295", "routes": [{"dst": "10.9.0.0/16", "type": "blackhole"}]}],
                        state="merged"))
    assert [(r["table"], r["dst"]) for r in owned(ns)] == [("4294967295", "10.9.0.0/16")]


@pytest.mark.parametrize("route, field, value", [
    ({"dst": "default", "via": "198.51.100.1", "dev": "wan0#x"}, "routes.dev", "wan0#x"),
    ({"dst": "default", "via": "198.51.100.1", "dev": "wan0\n"}, "routes.dev", "wan0\n"),
    ({"dst": "default", "nexthops": [{"via": "198.51.100.1", "dev": "wan0#x"}, {"via": "203.0.113.1", "dev": "wan1"}]},
     "routes.nexthops.dev", "wan0#x"),
])
def test_an_interface_name_ip_batch_would_cut_never_reaches_the_kernel(ns, route, field, value):
    """Issue 11 defect 1: ``dev: "wan0#x"`` (Linux allows '#') went into the batch as ``dev wan0#x table 101``,
    which ip cuts at the '#': an untagged default route in main, reported as ok. Refused now, naming
    the field, in every state; nothing reaches the kernel, and main gets no route."""
    main_before = ns.ip_json("-4", "route", "show", "table", "main")
    before = snapshot(ns)
    for state in ("merged", "rendered"):
        result = pbr_table(ns, config=[{"name": "isp_x", "id": 150, "routes": [route]}], state=state)
        assert (result["failed"], result["field"], result["value"]) == (True, field, value), result
        assert field in result["msg"]
    assert snapshot(ns) == before
    assert ns.ip_json("-4", "route", "show", "table", "main") == main_before


def bulk_routes(count, start=0):
    return [{"dst": "10.%d.%d.0/24" % (64 + index // 256, index % 256), "via": "198.51.100.1", "dev": "wan0"}
            for index in range(start, start + count)]


BAD_ROUTE = {"dst": "10.200.0.0/16", "via": "192.0.2.1", "dev": "wan0"}     # gateway not on wan0: refused
BAD_LINE = "ip -4 route add 10.200.0.0/16 via 192.0.2.1 dev wan0 table 150 proto 211"


def test_a_refusal_past_the_pipe_buffer_is_named_and_rolled_back(ns):
    """Issue 11 defect 4: 1,000 good routes, one the kernel refuses, 3,000 more (a batch of 240 KB, well
    past the 64 KiB pipe buffer). ip stopped at the refusal while the module still wrote to its pipe:
    the run failed with EPIPE ("Error executing command."), no line named, 1,000 routes left behind.
    Now the refused line is named and the host is as before; ``rolled_back`` says the core re-read it
    and found it so (test_rolled_back_is_false_when_the_restore_cannot_be_verified shows the other case)."""
    succeeded(pbr_table(ns, config=ISP_A, state="merged"))
    before = snapshot(ns)
    routes = bulk_routes(1000) + [BAD_ROUTE] + bulk_routes(3000, start=1000)
    config = [{"name": "isp_a", "id": 101, "routes": [{"dst": "default", "via": "203.0.113.1", "dev": "wan1"}]},
              {"name": "isp_bulk", "id": 150, "routes": routes}]
    rendered = pbr_table(ns, config=config, state="rendered")["rendered"]
    assert sum(len(line) for line in rendered if line.startswith("ip -4")) > 3 * 65536
    result = pbr_table(ns, config=config, state="merged")
    assert result["failed"] and (result["command"], result["rolled_back"]) == (BAD_LINE, True), result["msg"]
    assert "invalid gateway" in result["device_message"] and result["device_message"].endswith(".batch:1001")
    assert snapshot(ns) == before


def test_rolled_back_is_false_when_the_restore_cannot_be_verified(ns, tmp_path, monkeypatch):
    """Issue 11, "Also": ``rolled_back`` used to mean "the undo ran without error". An ``ip`` whose undo
    batch says success and does nothing (a stand-in for any undo that does not take) left the host
    changed under ``rolled_back: true``. The core now re-reads the host and says false."""
    succeeded(pbr_table(ns, config=ISP_A, state="merged"))
    counter = tmp_path / "batches"
    wrapper = tmp_path / "ip"
    wrapper.write_text("#!/bin/sh\n"
                       "# the real ip, except that every -batch run after the first does nothing and says success\n"
                       "case \" $* \" in *' -batch '*)\n"
                       "  echo run >> %s\n"
                       "  [ \"$(wc -l < %s)\" -gt 1 ] && exit 0 ;;\n"
                       "esac\n"
                       "exec %s \"$@\"\n" % (counter, counter, shutil.which("ip")))
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (tmp_path, os.environ["PATH"]))
    config = [{"name": "isp_a", "id": 101, "routes": [
        {"dst": "default", "via": "203.0.113.1", "dev": "wan1"}, BAD_ROUTE]}]
    result = pbr_table(ns, config=config, state="merged")
    assert result["failed"] and result["rolled_back"] is False, result["msg"]
    assert "NOT verified" in result["msg"] and counter.read_text().count("run") == 2
    assert ns.ip("route", "show", "table", "101").startswith("default via 203.0.113.1 dev wan1")   # as it was left


def test_deleting_a_table_again_changes_nothing(ns):
    """Issue 11 defect 14: the second ``state: deleted`` with ``{name: isp_a}`` failed ("is not a table
    name iproute2 knows"): the first had removed the name."""
    succeeded(pbr_table(ns, config=CONTRACT, state="merged"))
    assert succeeded(pbr_table(ns, config=[{"name": "isp_a"}], state="deleted"))["changed"]
    before = snapshot(ns)
    again = succeeded(pbr_table(ns, config=[{"name": "isp_a"}], state="deleted"))
    assert (again["changed"], again["commands"]) == (False, []) and snapshot(ns) == before
    assert [r["table"] for r in owned(ns) if r.get("table") == "102"]       # isp_b's routes stay


def apply_by_hand(ns, line):
    """One line of ``commands`` as the module's runner would have applied it."""
    words = line.split()
    if words[0] == "ip":
        ns.ip(*words[1:])
    else:           # rt_tables <verb> <id> <name> # <file>: the runner's own edit of the file
        text = edited_text(names_file(ns).replace("MISSING\n", "") or None,
                           FileEdit("rt_tables", NAMES_FILE, words[1], words[3], int(words[2])))
        ns.run("sh", "-c", "cat > %s" % NAMES_FILE, input=text)


def test_a_run_cut_short_after_any_command_converges_on_the_next_run(ns):
    """Issue 11 defect 5 (routes): a run killed after any of its commands is finished by the next run
    with the same config, exactly. Before, a table's new id went into the names file first; killed
    right after it, ``replaced`` no longer found the old table's routes by the name: they stayed."""
    start = [{"name": "isp_a", "id": 101, "routes": [{"dst": "default", "via": "198.51.100.1", "dev": "wan0"},
                                                     {"dst": "10.0.0.0/8", "type": "throw"}]}]
    renumbered = [{"name": "isp_a", "id": 111, "routes": [{"dst": "default", "via": "203.0.113.1", "dev": "wan1"}]}]
    succeeded(pbr_table(ns, config=start, state="overridden"))
    commands = succeeded(pbr_table(ns, config=renumbered, state="replaced", check_mode=True))["commands"]
    succeeded(pbr_table(ns, config=renumbered, state="replaced"))
    finished = (sorted((r["table"], r["dst"]) for r in owned(ns)), names_file(ns))
    assert finished[0] == [("111", "default")] and "111\tisp_a" in finished[1]
    for cut in range(len(commands)):
        succeeded(pbr_table(ns, config=start, state="overridden"))
        for line in commands[:cut]:
            apply_by_hand(ns, line)
        succeeded(pbr_table(ns, config=renumbered, state="replaced"))
        assert (sorted((r["table"], r["dst"]) for r in owned(ns)), names_file(ns)) == finished, commands[:cut]


def test_a_new_names_file_and_directory_are_readable_by_all_under_umask_077(ns):
    """Issue 11 defect 18: a new rt_tables.d file took its mode from the umask (0600 under umask 077),
    so ``ip`` run by anyone but root could not resolve the names; the same for a directory it made."""
    ns.run("rm", "-rf", "/etc/iproute2/rt_tables.d")
    old_umask = os.umask(0o077)
    try:
        succeeded(pbr_table(ns, config=ISP_A, state="merged"))
    finally:
        os.umask(old_umask)
    assert ns.run("stat", "-c", "%a", NAMES_FILE, os.path.dirname(NAMES_FILE)) == "644\n755\n"
    shown = ns.run("runuser", "-u", "nobody", "--", "ip", "route", "show", "table", "isp_a")
    assert shown.startswith("default via 198.51.100.1 dev wan0")


SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture
def shared_directory():
    """A directory user nobody can read (pytest's own temporary directories are root's alone)."""
    directory = tempfile.mkdtemp(prefix="multiwan-pbr-test.")
    os.chmod(directory, 0o755)
    yield directory
    shutil.rmtree(directory)


def pbr_table_as_nobody(ns, directory, check_mode=False, **args):
    """The module as user nobody, with the system python (the venv's lives under /root)."""
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_module_name="multiwan.pbr.pbr_table")
    args_file = os.path.join(directory, "args.json")
    with open(args_file, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    os.chmod(args_file, 0o644)
    site_packages = os.path.join(ROOT, ".venv", "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    environment = dict(os.environ, LC_ALL="C", PYTHONPATH=os.pathsep.join([COLLECTIONS, site_packages]))
    completed = subprocess.run(["ip", "netns", "exec", ns.name, "runuser", "-u", "nobody", "--", SYSTEM_PYTHON,
                                module_path("pbr_table"), args_file],
                               capture_output=True, text=True, env=environment, timeout=120, check=False, cwd="/")
    assert "Traceback" not in completed.stdout + completed.stderr, completed.stdout + completed.stderr
    return parse_result(completed)


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="needs %s to run as nobody" % SYSTEM_PYTHON)
def test_without_root_reading_works_and_writing_is_refused_cleanly(ns, shared_directory):
    """Issue 11 defect 12: once root had made the host lock, every non-root run crashed on it with a
    PermissionError traceback, ``gathered`` and check mode too. Now runs that only read take no lock
    and work; a run that would write fails with a message (and changes nothing)."""
    succeeded(pbr_table(ns, config=ISP_A, state="merged"))          # root's run: the lock exists
    gathered = pbr_table_as_nobody(ns, shared_directory, state="gathered")
    assert not gathered.get("failed") and gathered["gathered"] == ISP_A, gathered
    checked = pbr_table_as_nobody(ns, shared_directory, check_mode=True, config=CONTRACT, state="merged")
    assert not checked.get("failed") and checked["changed"], checked
    before = snapshot(ns)
    refused = pbr_table_as_nobody(ns, shared_directory, config=CONTRACT, state="merged")
    assert refused["failed"] and "needs root" in refused["msg"] and "become" in refused["msg"], refused
    assert snapshot(ns) == before
