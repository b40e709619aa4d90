"""Read lab/topology.yml and answer questions about it.

Everything else (wiring, inventory, traffic probes, tests) asks this module,
so an address or a name is written down once, in the YAML file.
"""

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml

TOPOLOGY_FILE = Path(__file__).with_name("topology.yml")
FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True)
class Interface:
    host: str
    device: str
    link: str
    ipv4: str = None        # "address/prefix" as written in the YAML
    ipv6: str = None

    def address(self, family="ipv4"):
        """The bare address (no prefix length) of this interface in `family`."""
        text = getattr(self, family)
        return str(ipaddress.ip_interface(text).ip) if text else None

    def network(self, family="ipv4"):
        text = getattr(self, family)
        return str(ipaddress.ip_interface(text).network) if text else None


@dataclass(frozen=True)
class Wan:
    name: str
    device: str             # router device
    address: str            # router's IPv4 address on it
    address6: str
    gateway: str            # the ISP end of the link
    gateway6: str
    subnet: str             # the customer subnet the ISP accepts as source
    subnet6: str
    isp: str                # host name of the ISP


class Topology:
    """The parsed topology file plus the derived facts the lab and tests need."""

    def __init__(self, data, prefix=None):
        self.data = data
        self.prefix = prefix or data["prefix"]
        self.image = data["image"]
        self.userns_base = int(data["userns_base"])

    @property
    def hosts(self):
        return list(self.data["hosts"])

    def host(self, name):
        return self.data["hosts"][name]

    def image_of(self, host):
        """The image a host runs: its own `image`, else the topology's default."""
        return self.host(host).get("image", self.image)

    def container(self, host):
        """Podman container name of a lab host."""
        return f"{self.prefix}-{host}"

    def interfaces(self, host=None):
        hosts = [host] if host else self.hosts
        return [Interface(name, device, **self.host(name)["interfaces"][device])
                for name in hosts for device in self.host(name)["interfaces"]]

    def interface(self, host, device):
        return Interface(host, device, **self.host(host)["interfaces"][device])

    def links(self):
        """{link name: (end_a, end_b)} — each link is exactly one veth pair."""
        ends = {}
        for interface in self.interfaces():
            ends.setdefault(interface.link, []).append(interface)
        odd = {name: len(pair) for name, pair in ends.items() if len(pair) != 2}
        if odd:
            raise ValueError(f"{TOPOLOGY_FILE.name}: links need exactly two ends, got {odd}")
        return {name: tuple(pair) for name, pair in ends.items()}

    def peer(self, host, device):
        """The interface at the other end of host/device's link."""
        first, second = self.links()[self.interface(host, device).link]
        return second if (first.host, first.device) == (host, device) else first

    def wans(self):
        return [self._wan(entry["name"], entry["device"]) for entry in self.data["wans"]]

    def wan(self, name):
        return next(wan for wan in self.wans() if wan.name == name)

    def wan_by_address(self, address):
        """Which WAN owns `address` (as seen by inet after masquerade), or None."""
        return next((wan.name for wan in self.wans() if address in (wan.address, wan.address6)), None)

    def services(self):
        """{service name: {"ipv4": addr, "ipv6": addr}} served on inet's loopback."""
        return self.host("inet")["services"]

    def service(self, name="service", family="ipv4"):
        return self.services()[name][family]

    def _wan(self, name, device):
        router_end = self.interface("router", device)
        isp_end = self.peer("router", device)
        return Wan(name=name, device=device,
                   address=router_end.address("ipv4"), address6=router_end.address("ipv6"),
                   gateway=isp_end.address("ipv4"), gateway6=isp_end.address("ipv6"),
                   subnet=router_end.network("ipv4"), subnet6=router_end.network("ipv6"),
                   isp=isp_end.host)


def load(prefix=None, path=TOPOLOGY_FILE):
    with open(path, encoding="utf-8") as handle:
        return Topology(yaml.safe_load(handle), prefix)
