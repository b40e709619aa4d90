"""Dynamic WANs on the namespace topology (``multiwan_topology``): the role's static layout, a DHCP client's
moves, an ISP that renumbers its customer, and a point-to-point uplink.

``static_layout(net, wans)`` runs ``linux.layout`` on an inventory and applies what the role would (``pbr_table``,
``pbr_rule`` and ``nft_connmark`` as modules, the kernel settings); it returns the layout, whose ``agent`` is the
agent's configuration. What a DHCP client does on a new lease is done with ``ip`` in the same order as
systemd-networkd and dhclient-script do it: the old address goes (the kernel drops every route through it), the
new one comes, then the default route (``proto dhcp``, metric 1024, networkd's default).
"""

import json
import time

from support.modules import run_module
from support.multiwan_topology import INET, ISP_FILTER, UPLINK

from ansible_collections.multiwan.pbr.plugins.module_utils.linux.layout import layout

DHCP_METRIC = "1024"


def customer(number, subnet):
    """(router address/24, gateway, customer subnet) of ISP ``number``'s customer subnet number ``subnet``."""
    return "100.64.%d.2/24" % subnet, "100.64.%d.1" % subnet, "100.64.%d.0/24" % subnet


def static_layout(net, wans, policies=None, **settings):
    """Apply the role's static layout for ``wans`` (inventory entries) to the router; return the layout."""
    result = layout(wans, policies, settings=dict({"failover": True}, **settings),
                    interfaces=net.router.ip_json("address"))
    router = net.router.name
    for name, config in (("pbr_table", result["tables"]), ("pbr_rule", result["rules"])):
        applied = run_module(name, {"config": config, "protocol": "211", "state": "overridden"}, netns=router)
        assert not applied.get("failed"), applied
    nft = result["nft"]
    applied = run_module("nft_connmark", {"table": nft["table"], "mask": nft["mask"], "wans": nft["wans"],
                                          "exclude": nft["exclude"]}, netns=router)
    assert not applied.get("failed"), applied
    for key, value in result["live_sysctls"].items():
        net.router.run("sysctl", "-qw", "%s=%s" % (key, value))
    return result


def rendered_batches(result):
    """The boot-time restore of the layout (the role's ipv4.batch and ipv6.batch): ``{"-4": text, "-6": text}`` for ``ip -batch``."""
    lines = []
    for name, config in (("pbr_table", result["tables"]), ("pbr_rule", result["rules"])):
        lines += run_module(name, {"config": config, "protocol": "211", "state": "rendered"})["rendered"]
    return dict((family, "".join(line[len("ip %s " % family):] + "\n" for line in lines
                                 if line.startswith("ip %s " % family))) for family in ("-4", "-6"))


def lease(net, device, address, gateway):
    """The DHCP client takes a lease: the address, then the default route through the gateway."""
    net.router.ip("addr", "add", address, "dev", device)
    net.router.ip("route", "replace", "default", "via", gateway, "dev", device, "proto", "dhcp", "metric", DHCP_METRIC)


def renew_with_new_lease(net, device, old_address, address, gateway):
    """The DHCP client's renewal was refused (NAK) and a new lease came: the old one goes, the new one comes."""
    net.router.ip("addr", "del", old_address, "dev", device)
    lease(net, device, address, gateway)


def isp_renumbers(net, number, subnet):
    """ISP ``number`` moves its customer to subnet ``subnet``: its gateway address, its filter, inet's route back."""
    address, gateway, prefix = customer(number, subnet)
    isp = net.isp[number]
    isp.ip("addr", "flush", "dev", "cust")
    isp.ip("addr", "add", gateway + "/24", "dev", "cust")
    isp.run("nft", "-f", "-", input="delete table ip isp\n" + ISP_FILTER % prefix)
    net.inet.ip("route", "replace", prefix, "via", UPLINK[number][0], "src", INET)
    return address, gateway


def point_to_point(net, number, local, peer):
    """The router's WAN ``number`` as a /32 with a peer (as PPP or a tunnel gives it); the ISP answers ARP for
    what it routes (proxy ARP), since a veth is no point-to-point device."""
    device, isp = "wan%d" % number, net.isp[number]
    net.router.ip("addr", "flush", "dev", device)
    net.router.ip("addr", "add", local + "/32", "peer", peer + "/32", "dev", device)
    isp.ip("addr", "flush", "dev", "cust")
    isp.ip("addr", "add", peer + "/32", "peer", local + "/32", "dev", "cust")
    isp.run("sysctl", "-qw", "net.ipv4.conf.cust.proxy_arp=1")
    isp.run("nft", "-f", "-", input="delete table ip isp\n" + ISP_FILTER % (local + "/32"))
    net.inet.ip("route", "replace", local + "/32", "via", UPLINK[number][0], "src", INET)


def first_flow_from(net, address, timeout, batch=4):
    """Seconds until a new client connection reaches inet from ``address`` (the WAN's masquerade); raise after
    ``timeout``. Connections open ``batch`` at a time; the balance spreads them over the WANs."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        for _attempt in range(batch):
            if source_of_new_flow(net, timeout=0.5) == address:
                return time.monotonic() - started
    raise AssertionError("no new flow from %s within %s s" % (address, timeout))


def source_of_new_flow(net, timeout=1.0, port=8080):
    """The source address inet saw for one new client connection (None: it failed)."""
    opened = net.client_agent.connect(INET, port, timeout=timeout)
    if "error" in opened:
        return None
    reply = net.client_agent.echo(opened["id"])
    return reply.get("reply", "").split(" ")[0] or None


def sources_of_new_flows(net, count):
    return [source_of_new_flow(net) for _number in range(count)]


def conntrack_marked(net, mark, mask="0xff00"):
    """The router's conntrack entries that carry ``mark`` (under ``mask``)."""
    out = net.router.run("conntrack", "-L", "--mark", "%s/%s" % (mark, mask), check=False)
    return [line for line in out.splitlines() if line and not line.startswith("conntrack")]


def metrics_lines(path):
    with open(path) as handle:
        return handle.read().splitlines()


def hook_log(path):
    try:
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except OSError:
        return []


HOOK = """#!/bin/sh
printf '{"event": "%s", "wan": "%s", "old": "%s", "new": "%s", "state": "%s", "address": "%s", "gateway": "%s"}\\n' \\
    "$EVENT" "$WAN" "$OLD_VALUE" "$NEW_VALUE" "$NEW_STATE" "$ADDRESS" "$GATEWAY" >> LOG
"""


def install_hook(directory, log):
    """A hook in ``directory`` that appends each event to ``log`` as a JSON line."""
    directory.mkdir(exist_ok=True)
    hook = directory / "10-log"
    hook.write_text(HOOK.replace("LOG", str(log)))
    hook.chmod(0o755)
