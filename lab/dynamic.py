"""A WAN of the lab as a dynamic uplink: its ISP serves DHCP and router advertisements, the router is a DHCP client.

    from lab import dynamic, topology
    lab = topology.load()
    dynamic.serve(lab, "wan2")            # isp2: Debian's dnsmasq on its customer link (DHCPv4 + RA, SLAAC)
    dynamic.take_leases(lab, "wan2")      # router: systemd-networkd takes wan2's address and gateway
    dynamic.renumber(lab, "wan2", "198.18.202.1/24")   # isp2 moves its customer to another subnet and gateway

The DHCP client is systemd-networkd: it is in the router image already (the systemd package), handles DHCPv4 and
router advertisements in one daemon, and installs its default routes at metric 1024 (``proto dhcp``/``ra``), where
they do not clash with the role's balance at metric 0 (Debian's dhclient installs its default at 0). It removes
rules and routes it did not make on the links it manages unless told not to: ``networkd.conf`` gets
``ManageForeignRoutingPolicyRules=no`` and ``ManageForeignRoutes=no`` before it starts, as a router running this
collection needs. dnsmasq is authoritative (it refuses a lease of a subnet it no longer serves, so a client
renumbers at its next renewal) and asks clients to renew every few seconds (T1/T2 options; a lease lasts at
least two minutes in dnsmasq), so that a renumbering reaches the router within seconds without touching it.
"""

import ipaddress
import json
import time

from .containers import antispoof_ruleset
from .shell import LabError, podman_exec, run_in_netns

PID_FILE = "/run/multiwan-lab-dnsmasq.pid"
LEASE_FILE = "/run/multiwan-lab-dnsmasq.leases"
RENEW_SECONDS, REBIND_SECONDS, LEASE = 3, 5, "2m"
NETWORK_FILE = "/etc/systemd/network/20-multiwan-lab-%s.network"
NETWORKD_CONF = "/etc/systemd/networkd.conf.d/multiwan-pbr.conf"
NETWORK = """[Match]
Name={device}

[Network]
DHCP=ipv4
IPv6AcceptRA=yes
LinkLocalAddressing=ipv6

[DHCPv4]
UseDNS=no
UseHostname=no

[IPv6AcceptRA]
UseDNS=no
"""
KEEP_FOREIGN = """[Network]
# the collection's rules and routes (protocols 211 and 212) are not networkd's to remove
ManageForeignRoutingPolicyRules=no
ManageForeignRoutes=no
"""


def serve(lab, wan):
    """Start (again) the ISP's dnsmasq for the subnet its customer link has now."""
    isp, device = _isp_end(lab, wan)
    container = lab.container(isp)
    stop(lab, wan)
    gateway = _customer_gateway(lab, wan)
    network = ipaddress.ip_interface(gateway).network
    first, last = network[50], network[99]
    argv = ["dnsmasq", "--keep-in-foreground", "--port=0", "--user=root", "--group=root",
            "--interface=" + device, "--bind-interfaces", "--dhcp-authoritative", "--no-ping",
            "--dhcp-range=%s,%s,%s,%s" % (first, last, network.netmask, LEASE),
            "--dhcp-option=option:router,%s" % ipaddress.ip_interface(gateway).ip,
            "--dhcp-option=option:T1,%d" % RENEW_SECONDS, "--dhcp-option=option:T2,%d" % REBIND_SECONDS,
            "--enable-ra", "--dhcp-range=::,constructor:%s,ra-only,64" % device,
            "--dhcp-leasefile=" + LEASE_FILE, "--pid-file=" + PID_FILE]
    podman_exec(container, argv, detach=True)
    _wait_for_file(container, PID_FILE)


def stop(lab, wan):
    isp, _device = _isp_end(lab, wan)
    podman_exec(lab.container(isp), ["sh", "-c", 'test -f "$1" && kill "$(cat "$1")"; rm -f "$1" "$2"; true', "stop",
                                     PID_FILE, LEASE_FILE])


def take_leases(lab, wan):
    """The router's WAN device leaves its static addresses to systemd-networkd's DHCP client and RA."""
    device = lab.wan(wan).device
    router = lab.container("router")
    podman_exec(router, ["sh", "-c", 'mkdir -p "${1%/*}" "${3%/*}" && printf %s "$2" > "$1" && printf %s "$4" > "$3"',
                         "write", NETWORKD_CONF, KEEP_FOREIGN, NETWORK_FILE % device, NETWORK.format(device=device)])
    run_in_netns(router, ["ip", "address", "flush", "dev", device, "scope", "global"])
    run_in_netns(router, ["ip", "route", "flush", "dev", device])
    podman_exec(router, ["systemctl", "restart", "systemd-networkd"])


def renumber(lab, wan, gateway):
    """The ISP moves its customer to ``gateway``'s subnet (``198.18.202.1/24``): its address on the customer link,
    its source filter, inet's route back, and the DHCP server's range."""
    isp, device = _isp_end(lab, wan)
    container = lab.container(isp)
    old = _customer_gateway(lab, wan)
    run_in_netns(container, ["ip", "address", "add", gateway, "dev", device])
    run_in_netns(container, ["ip", "address", "del", old, "dev", device])
    antispoof = dict(lab.host(isp)["antispoof"])
    antispoof["allowed_sources"] = [str(ipaddress.ip_interface(gateway).network)] + \
        [prefix for prefix in antispoof["allowed_sources"] if ":" in prefix]
    run_in_netns(container, ["nft", "-f", "-"], stdin_text=antispoof_ruleset(antispoof))
    core = next(interface for interface in lab.interfaces(isp) if interface.device != device)
    run_in_netns(lab.container("inet"), ["ip", "route", "replace", str(ipaddress.ip_interface(gateway).network),
                                         "via", core.address("ipv4")])
    serve(lab, wan)


def router_addresses(lab, wan, family="ipv4"):
    """The router's global addresses on the WAN now (``address/prefixlen``)."""
    device = lab.wan(wan).device
    option = "-4" if family == "ipv4" else "-6"
    argv = ["ip", "-json", option, "address", "show", "dev", device, "scope", "global"]
    links = json.loads(run_in_netns(lab.container("router"), argv).stdout)
    return ["%s/%s" % (info["local"], info["prefixlen"]) for link in links for info in link.get("addr_info", [])
            if "local" in info]


def wait_for_address(lab, wan, inside, timeout=30, family="ipv4"):
    """The router's address on the WAN once it lies in ``inside`` (a prefix); LabError after ``timeout``."""
    network = ipaddress.ip_network(inside)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [address for address in router_addresses(lab, wan, family)
                 if ipaddress.ip_interface(address).ip in network]
        if found:
            return found[0]
        time.sleep(0.05)
    now = router_addresses(lab, wan, family)
    raise LabError("%s: no %s address in %s after %s s (now %s)" % (wan, family, inside, timeout, now))


def _isp_end(lab, wan):
    peer = lab.peer("router", lab.wan(wan).device)
    return peer.host, peer.device


def _customer_gateway(lab, wan):
    """The ISP's IPv4 address (with its prefix) on the customer link, as it is now."""
    isp, device = _isp_end(lab, wan)
    links = json.loads(run_in_netns(lab.container(isp), ["ip", "-json", "-4", "address", "show", "dev", device]).stdout)
    found = ["%s/%s" % (info["local"], info["prefixlen"]) for link in links for info in link.get("addr_info", [])]
    if not found:
        raise LabError("%s has no IPv4 address on %s" % (isp, device))
    return found[-1]


def _wait_for_file(container, path, seconds=10):
    deadline = time.monotonic() + seconds
    while podman_exec(container, ["test", "-s", path], check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise LabError("%s: dnsmasq did not start (%s missing after %ss)" % (container, path, seconds))
        time.sleep(0.1)
