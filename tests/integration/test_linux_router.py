"""linux_router against the real kernel: a two-WAN router in namespaces converged by one module run.

The role's whole converge is this one module (issue 15: one round trip instead of twenty), so what the
role promised task by task is held here for the one process: it plans every resource, file and kernel
setting against the router before the first change; a refusal only the router can tell changes nothing;
a failure after a change puts back every step it had made and says so; a second run changes nothing; real
traffic is balanced over both WANs and keeps its WAN; ``absent`` takes away what it made and nothing else.
The systemd side (units enabled, the agent started) needs a router with systemd: the lab tests hold it.
"""

import os

import pytest

from support.modules import run_module
from support.multiwan_topology import INET, ISP_GATEWAY, ROUTER_WAN, Agent, Server, Topology

pytestmark = pytest.mark.netns

ECHO_PORT = 7000
FOREIGN_RULE = ("pref", "500", "from", "10.77.0.0/16", "lookup", "main")
WANS = [{"name": "wan1", "device": "wan1", "gateway": ISP_GATEWAY[1], "masquerade": True},
        {"name": "wan2", "device": "wan2", "gateway": ISP_GATEWAY[2], "masquerade": True}]
POLICIES = [{"name": "web_via_wan2", "wan": "wan2", "ipproto": "tcp", "dport": "8443"}]
UNIT = "[Unit]\nDescription=test restore unit\n"
NAMES_FILE = "/etc/iproute2/rt_tables.d/multiwan_pbr.conf"


@pytest.fixture(scope="module")
def net():
    with Topology() as topology:
        topology.router.ip("rule", "add", *FOREIGN_RULE)
        yield topology


@pytest.fixture
def paths(tmp_path):
    hooks = tmp_path / "etc" / "hooks.d"
    return {"config_dir": str(tmp_path / "etc"), "sysctl_file": str(tmp_path / "sysctl.d" / "60-multiwan-pbr.conf"),
            "unit_file": str(tmp_path / "units" / "multiwan-pbr.service"), "hooks_dir": str(hooks)}


@pytest.fixture
def clean(net, paths):
    """Nothing of the collection's on the router, before and after the test, and no default route of the host's
    own in main: the role's balance is the router's default (a host default at metric 0 is refused, not replaced)."""
    converge(net, paths, state="absent")
    net.router.ip("route", "del", "default", check=False)
    yield
    converge(net, paths, state="absent")
    net.default_route(1)


def converge(net, paths, check_mode=False, diff=False, settings=None, **options):
    args = dict(wans=WANS, policies=POLICIES, lan_networks=["192.168.10.0/24"],
                settings=dict(paths, failover=False, **(settings or {})), units={"restore": UNIT})
    args.update(options)
    return run_module("linux_router", args, netns=net.router.name, check_mode=check_mode, diff=diff)


def owned_rules(net):
    """The IPv4 rules tagged with the collection's protocol (iproute2 6.1 lists every rule for ``show protocol``)."""
    return "".join(line + "\n" for line in net.router.ip("-4", "rule").splitlines() if " proto 211" in line)


def read_names_file():
    """The table names file pbr_table owns (the host's /etc: namespaces share the file system)."""
    try:
        with open(NAMES_FILE) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def snapshot(net, paths):
    """What the router holds: rules, IPv4 routes of every table (IPv6 adds link-local routes of its own for a while
    after the links come up), the nft ruleset, the collection's files."""
    files = {}
    for root in (paths["config_dir"], os.path.dirname(paths["sysctl_file"]), os.path.dirname(paths["unit_file"])):
        for directory, _subdirectories, names in os.walk(root):
            for name in names:
                with open(os.path.join(directory, name)) as handle:
                    files[os.path.join(directory, name)] = handle.read()
    return (net.router.ip("-4", "rule"), net.router.ip("-6", "rule"), net.router.ip("-4", "route", "show", "table", "all"),
            net.router.run("nft", "list", "ruleset"), files)


def test_one_run_converges_the_router_and_a_second_changes_nothing(net, paths, clean):
    result = converge(net, paths)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["tables"]["changed"] and result["rules"]["changed"] and result["nft"]["changed"]
    rules = owned_rules(net)
    assert "fwmark" in rules and "dport 8443" in rules and "lookup main suppress_prefixlength 0" in rules
    assert "table inet multiwan_pbr" in net.router.run("nft", "list", "tables")
    with open(os.path.join(paths["config_dir"], "ipv4.batch")) as handle:
        batch = handle.read()
    assert "rule add" in batch and "route add" in batch and not any(line.startswith("ip ") for line in batch.split("\n"))
    with open(paths["sysctl_file"]) as handle:
        assert "net.ipv4.conf.wan2.rp_filter = 2" in handle.read()
    with open(paths["unit_file"]) as handle:
        assert handle.read() == UNIT
    assert net.router.run("sysctl", "-n", "net.ipv4.conf.wan2.src_valid_mark").strip() == "1"
    assert [wan["name"] for wan in result["wans"]] and result["missing"] == []

    before = snapshot(net, paths)
    again = converge(net, paths)
    assert again["changed"] is False and again["files"] == [] and again["sysctls"] == [], again
    review = converge(net, paths, check_mode=True, diff=True)
    assert review["changed"] is False and review["diff"] == []
    assert snapshot(net, paths) == before


def test_traffic_is_balanced_over_both_wans_and_keeps_its_wan(net, paths, clean):
    assert not converge(net, paths, settings={"balance": True}).get("failed")
    with Server(net.inet, ECHO_PORT), Agent(net.client) as lan:
        wan_of = {}
        while len(set(wan_of.values())) < 2 and len(wan_of) < 40:
            connection = lan.connect(INET, ECHO_PORT)
            wan_of[connection["id"]] = lan.echo(connection["id"])["reply"].split()[0]
        assert set(wan_of.values()) == set(ROUTER_WAN.values())
        for connection, address in wan_of.items():
            assert lan.echo(connection) == {"reply": "%s ping" % address}


def test_check_mode_shows_every_change_and_makes_none(net, paths, clean):
    before = snapshot(net, paths)
    result = converge(net, paths, check_mode=True, diff=True)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    headers = [entry["before_header"] for entry in result["diff"]]
    assert {"tables", "nft", "rules", paths["sysctl_file"], paths["unit_file"]} <= set(headers), headers
    assert snapshot(net, paths) == before


def test_a_refusal_only_the_router_can_tell_changes_nothing(net, paths, clean):
    # another tool's nftables table of the name the inventory gives: nft_connmark's plan refuses it, after the
    # tables' and before the rules' plan; nothing of the tables, rules, sysctls or files may have happened
    net.router.run("nft", "add table inet fw")
    net.router.run("sysctl", "-qw", "net.ipv4.conf.wan2.src_valid_mark=0")
    try:
        before = snapshot(net, paths)
        result = converge(net, paths, settings={"nft_table": "fw"})
        assert result.get("failed") and "fw" in result["msg"] and "marker" in result["msg"], result
        assert snapshot(net, paths) == before
        assert net.router.run("sysctl", "-n", "net.ipv4.conf.wan2.src_valid_mark").strip() == "0"
    finally:
        net.router.run("nft", "delete table inet fw")


def test_a_failure_after_a_change_undoes_it_and_says_so(net, paths, clean, tmp_path):
    # the sysctl file cannot be written (its directory would be inside a file): the live settings, set just before,
    # are put back
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    net.router.run("sysctl", "-qw", "net.ipv4.conf.wan2.src_valid_mark=0")
    before = snapshot(net, paths)
    result = converge(net, dict(paths, sysctl_file=str(blocker / "60-multiwan-pbr.conf")))
    assert result.get("failed") and result["applied"] == ["sysctls"], result
    assert result["rolled_back"] is True and result["changed"] is False, result
    assert "undone, and read back as before: sysctls" in result["msg"]
    assert net.router.run("sysctl", "-n", "net.ipv4.conf.wan2.src_valid_mark").strip() == "0"
    assert snapshot(net, paths) == before and owned_rules(net) == ""


def test_a_failure_after_the_tables_nft_and_rules_puts_all_of_them_back(net, paths, clean, tmp_path):
    # the restore files' directory cannot be made: by then the kernel settings, the sysctl file, the tables, the
    # nftables table and the rules are in place, and every one of them must go back to what was read before
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    net.router.run("sysctl", "-qw", "net.ipv4.conf.wan2.src_valid_mark=0")
    names_before = read_names_file()
    before = snapshot(net, paths)
    result = converge(net, dict(paths, config_dir=str(blocker / "etc")))
    assert result.get("failed"), result
    assert result["applied"] == ["sysctls", "files", "tables", "nft", "rules"], result
    assert result["rolled_back"] is True and result["changed"] is False, result
    assert snapshot(net, paths) == before and read_names_file() == names_before
    assert net.router.run("sysctl", "-n", "net.ipv4.conf.wan2.src_valid_mark").strip() == "0"
    assert not os.path.exists(os.path.dirname(paths["sysctl_file"]))      # the run made it; the undo removed it


def test_absent_removes_what_it_made_and_nothing_else(net, paths, clean):
    assert not converge(net, paths).get("failed")
    hook = os.path.join(paths["hooks_dir"], "notify")
    os.makedirs(paths["hooks_dir"])
    with open(hook, "w") as handle:
        handle.write("#!/bin/sh\n")
    result = converge(net, paths, state="absent")
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert owned_rules(net) == ""
    assert net.router.ip("route", "show", "table", "all", "protocol", "211") == ""
    assert "multiwan_pbr" not in net.router.run("nft", "list", "tables")
    assert not any(os.path.exists(os.path.join(paths["config_dir"], name))
                   for name in ("ipv4.batch", "ipv6.batch", "nftables.nft"))
    assert not os.path.exists(paths["sysctl_file"]) and not os.path.exists(paths["unit_file"])
    assert os.path.exists(hook)                                              # the user's hook stays
    assert "from 10.77.0.0/16 lookup main" in net.router.ip("-4", "rule")    # another tool's rule stays
