# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's configuration file: a JSON document the role renders from the inventory.

Everything is checked before the agent uses any of it; the first problem raises ``ConfigError``,
whose text names the field and the value: ``wans[1].track.interval=0: must be > 0``.
``multiwan-pbr check-config PATH`` runs exactly this, so the role can refuse a file before installing it.

Schema (times in seconds, ``latency_ms`` in milliseconds, ``loss_percent`` in percent)::

    {
      "status_file": "/run/multiwan-pbr/status.json",   optional; where ``status`` reads from
      "hooks": {"directory": "/etc/multiwan-pbr/hooks.d", "timeout": 10},
                                   optional; executables run on every transition and renumbering
                                   (``agent.hooks``), each killed after ``timeout`` seconds
      "metrics": {"textfile": null, "listen": null},
                                   optional; Prometheus text (``agent.metrics``) written to ``textfile``
                                   (a path ending in .prom) and/or served on ``listen`` ("127.0.0.1:9612",
                                   a loopback address only)
      "owned_protocol": 211,       optional; default routes with this protocol are the collection's own,
                                   never taken for a gateway the host learned (DHCP, RA)
      "wans": [                    one or more
        {
          "name": "wan2",          unique; letters, digits, ``_ . -``
          "device": "wan2",        unique interface name (at most 15 characters)
          "mark": "0x200",         the WAN's fwmark (integer or hex string); probes carry it, so the
                                   ``fwmark ... lookup <WAN table>`` rule sends them out this WAN. 0: none
          "families": ["ipv4"],    ipv4 and/or ipv6; default ["ipv4"]
          "gateway": ...,          "198.51.100.1", ["198.51.100.1", "fe80::1"], "dhcp" or
                                   {"ipv4": "dhcp", "ipv6": "fe80::1"}; "dhcp" follows the default route
                                   the host's DHCP client or RAs install; a family without one routes
                                   by device (point-to-point: PPPoE, WireGuard, LTE raw-IP)
          "track": {               optional; without it the WAN is judged by link, address and gateway
            "method": "icmp",      icmp (echo) or tcp (connect; needs "port")
            "port": 443,           tcp only
            "targets": ["198.18.2.2", "203.0.113.10"],   each family of the WAN needs its own
            "reliability": 1,      targets (of each family) that must answer
            "interval": 0.2,       seconds between rounds (one probe per target)
            "timeout": 0.8,        an answer later than this counts as lost
            "window": 20,          seconds of rounds the loss and latency are judged over
            "loss_percent": 50,    a target fails above this loss over a full window
            "latency_ms": null,    ... or above this median RTT; null: latency never fails it
            "down": null,          rounds in a row without quorum that take the WAN down;
                                   null: computed (see tracker.auto_down_rounds)
            "up": 5,               rounds in a row with quorum the WAN needs to come back
            "hold": 10,            seconds without trouble before it comes back (doubled per flap)
            "hold_max": 300        the most the doubling reaches
          }
        }
      ]
    }

The defaults (``TRACK_DEFAULTS``) and the arithmetic behind them are in ``tracker``'s docstring.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import math
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import tracker
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import failover

IPV4, IPV6 = "ipv4", "ipv6"
FAMILIES = (IPV4, IPV6)
DHCP = "dhcp"
DEFAULT_STATUS_FILE = "/run/multiwan-pbr/status.json"
DEFAULT_OWNED_PROTOCOL = 211
DEFAULT_HOOKS_DIRECTORY = "/etc/multiwan-pbr/hooks.d"
DEFAULT_HOOK_TIMEOUT = 10.0
MAX_HOOK_TIMEOUT = 3600.0
TRACK_DEFAULTS = dict(method="icmp", port=None, reliability=1, interval=0.2, timeout=0.8, window=20.0,
                      loss_percent=50.0, latency_ms=None, down=None, up=5, hold=10.0, hold_max=300.0)
UNTRACKED_HOLD = (TRACK_DEFAULTS["hold"], TRACK_DEFAULTS["hold_max"])
_TOP_KEYS = ("status_file", "owned_protocol", "hooks", "metrics", "wans", "routing")
_WAN_KEYS = ("name", "device", "mark", "families", "gateway", "track")
_TRACK_KEYS = ("targets",) + tuple(TRACK_DEFAULTS)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_MAX_MARK = 0xFFFFFFFF


class ConfigError(ValueError):
    """A configuration value that cannot be used: ``field=value: reason``."""

    def __init__(self, field, value, reason):
        super(ConfigError, self).__init__("%s=%s: %s" % (field, _shown(value), reason))
        self.field, self.value, self.reason = field, value, reason


@dataclass(frozen=True)
class TrackConfig:
    """How one WAN is probed and judged."""

    method: str
    port: Optional[int]
    targets: Tuple[str, ...]
    reliability: int
    interval: float
    timeout: float
    window: float
    loss_percent: float
    latency_ms: Optional[float]
    down: Optional[int]         # None: computed per family by tracker.auto_down_rounds
    up: int
    hold: float
    hold_max: float

    def targets_of(self, family):
        """The targets of one family, in the order given."""
        return tuple(target for target in self.targets if family_of(target) == family)


@dataclass(frozen=True)
class WanConfig:
    """One WAN as the agent sees it."""

    name: str
    device: str
    mark: int
    families: Tuple[str, ...]
    gateways: Tuple[Tuple[str, str], ...]     # (family, address or "dhcp"); absent: point-to-point
    track: Optional[TrackConfig]

    def gateway(self, family):
        """The configured gateway of ``family``: an address, "dhcp", or None (point-to-point)."""
        return dict(self.gateways).get(family)


@dataclass(frozen=True)
class AgentConfig:
    """The whole file, checked."""

    wans: Tuple[WanConfig, ...]
    status_file: str = DEFAULT_STATUS_FILE
    owned_protocol: int = DEFAULT_OWNED_PROTOCOL
    routing: Optional[dict] = None      # what the engine applier lays over the static layout (linux.failover)
    hooks_directory: Optional[str] = DEFAULT_HOOKS_DIRECTORY
    hook_timeout: float = DEFAULT_HOOK_TIMEOUT
    metrics_textfile: Optional[str] = None
    metrics_listen: Optional[Tuple[str, int]] = None    # (loopback address, port)

    @property
    def owned_protocols(self):
        """The route protocols of the collection's own routes (the modules' and the agent's): never a learned gateway."""
        agent = [int(self.routing["protocol"])] if self.routing else []
        return tuple([self.owned_protocol] + agent)


def load(path):
    """Read and check the file at ``path``; raise ``ConfigError`` (or OSError when unreadable)."""
    with open(path) as handle:
        text = handle.read()
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ConfigError("config", path, "is not JSON: %s" % error) from None
    return parse(document)


def parse(document):
    """A decoded JSON document into an ``AgentConfig``; raise ``ConfigError`` on the first problem."""
    _require_object(document, "config", _TOP_KEYS)
    wans = document.get("wans")
    if not isinstance(wans, list) or not wans:
        raise ConfigError("wans", wans, "must be a non-empty list")
    parsed = tuple(_wan(item, "wans[%d]" % index) for index, item in enumerate(wans))
    _reject_duplicates(parsed)
    status_file = document.get("status_file", DEFAULT_STATUS_FILE)
    if not isinstance(status_file, str) or not status_file.startswith("/"):
        raise ConfigError("status_file", status_file, "must be an absolute path")
    protocol = document.get("owned_protocol", DEFAULT_OWNED_PROTOCOL)
    _require_int(protocol, "owned_protocol", 0, 255)
    hooks = _hooks(document.get("hooks") or {})
    metrics = _metrics(document.get("metrics") or {})
    return AgentConfig(wans=parsed, status_file=status_file, owned_protocol=protocol,
                       routing=_routing(document.get("routing"), parsed), **dict(hooks, **metrics))


def _hooks(item):
    _require_object(item, "hooks", ("directory", "timeout"))
    directory = item.get("directory", DEFAULT_HOOKS_DIRECTORY)
    if directory is not None and (not isinstance(directory, str) or not directory.startswith("/")):
        raise ConfigError("hooks.directory", directory, "must be an absolute path (or null: no hooks)")
    timeout = item.get("timeout", DEFAULT_HOOK_TIMEOUT)
    _require_number(timeout, "hooks.timeout", above=0)
    if timeout > MAX_HOOK_TIMEOUT:
        raise ConfigError("hooks.timeout", timeout, "must be at most %g seconds" % MAX_HOOK_TIMEOUT)
    return {"hooks_directory": directory, "hook_timeout": float(timeout)}


def _metrics(item):
    _require_object(item, "metrics", ("textfile", "listen"))
    textfile, listen = item.get("textfile"), item.get("listen")
    if textfile is not None and (not isinstance(textfile, str) or not textfile.startswith("/")
                                 or not textfile.endswith(".prom")):
        raise ConfigError("metrics.textfile", textfile, "must be an absolute path ending in .prom (node_exporter's "
                          "textfile collector reads only those), or null")
    return {"metrics_textfile": textfile, "metrics_listen": None if listen is None else _listen(listen)}


def _listen(value):
    """``"127.0.0.1:9612"`` or ``"[::1]:9612"`` as (address, port); only loopback addresses are served."""
    match = re.match(r"^\[?([0-9A-Fa-f:.]+?)\]?:(\d+)$", value) if isinstance(value, str) else None
    if not match:
        raise ConfigError("metrics.listen", value, "must be ADDRESS:PORT, e.g. 127.0.0.1:9612 or [::1]:9612")
    try:
        address = ipaddress.ip_address(match.group(1))
    except ValueError:
        raise ConfigError("metrics.listen", value, "must be ADDRESS:PORT with an IP address") from None
    if not address.is_loopback:
        raise ConfigError("metrics.listen", value, "must be a loopback address: the metrics name the router's WANs "
                          "and addresses; put node_exporter or a proxy in front to publish them")
    port = int(match.group(2))
    _require_int(port, "metrics.listen", 1, 65535, shown=value)
    return str(address), port


def _routing(routing, wans):
    """The failover routing (``linux.failover``), checked; its WANs must be the file's WANs."""
    if routing is None:
        return None
    try:
        failover.check_routing(routing)
    except InvalidInput as error:
        raise ConfigError(error.field, error.value, error.reason) from None
    names = set(wan.name for wan in wans)
    for index, wan in enumerate(routing["wans"]):
        if wan["name"] not in names:
            raise ConfigError("routing.wans[%d].name" % index, wan["name"], "is not one of the file's wans")
    return routing


def tracker_settings(wan, family):
    """The tracker settings of one WAN family (the computed ``down`` when the file gives none)."""
    if wan.track is None:
        return tracker.Settings(wan.name, family, None, *UNTRACKED_HOLD)
    track = wan.track
    targets = len(track.targets_of(family))
    down = track.down or tracker.auto_down_rounds(targets, track.reliability, track.interval)
    judgement = tracker.ProbeJudgement(
        targets=targets, reliability=track.reliability,
        window_rounds=max(1, int(round(track.window / track.interval))),
        loss_percent=track.loss_percent, latency_ms=track.latency_ms, down_rounds=down, up_rounds=track.up)
    return tracker.Settings(wan.name, family, judgement, track.hold, track.hold_max)


def family_of(address):
    """"ipv4" or "ipv6" for an address already checked by ``_address``."""
    return IPV6 if ":" in address else IPV4


# -- one WAN


def _wan(item, field):
    _require_object(item, field, _WAN_KEYS)
    name = _name(item.get("name"), field + ".name")
    device = item.get("device")
    if not isinstance(device, str) or not 0 < len(device) <= 15 or re.search(r"[/\s:]", device):
        raise ConfigError(field + ".device", device, "must be an interface name of 1 to 15 characters")
    families = _families(item.get("families", [IPV4]), field + ".families")
    gateways = _gateways(item.get("gateway"), field + ".gateway", families)
    track = None
    if item.get("track") is not None:
        track = _track(item["track"], field + ".track", families)
    return WanConfig(name=name, device=device, mark=_mark(item.get("mark", 0), field + ".mark"),
                     families=families, gateways=gateways, track=track)


def _name(value, field):
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(field, value, "must be a non-empty string of letters, digits, '_', '.' or '-'")
    return value


def _mark(value, field):
    if isinstance(value, str):
        try:
            value_int = int(value, 0)
        except ValueError:
            raise ConfigError(field, value, "must be an integer or a 0x... hex string") from None
    else:
        value_int = value
    _require_int(value_int, field, 0, _MAX_MARK, shown=value)
    return value_int


def _families(value, field):
    if not isinstance(value, list) or not value or any(family not in FAMILIES for family in value) \
            or len(set(value)) != len(value):
        raise ConfigError(field, value, "must be a non-empty list of ipv4 and/or ipv6")
    return tuple(family for family in FAMILIES if family in value)


def _gateways(value, field, families):
    if value is None:
        return ()
    if value == DHCP:
        return tuple((family, DHCP) for family in families)
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        value = _gateways_by_family(value, field)
    if not isinstance(value, dict):
        raise ConfigError(field, value, "must be an address, \"dhcp\", a list of addresses or {family: address}")
    found = []
    for family in FAMILIES:
        if family not in value:
            continue
        if family not in families:
            raise ConfigError("%s.%s" % (field, family), value[family], "the WAN's families are %s"
                              % ", ".join(families))
        gateway = value[family]
        if gateway != DHCP and _address(gateway, "%s.%s" % (field, family)) != family:
            raise ConfigError("%s.%s" % (field, family), gateway, "is not an %s address" % family)
        found.append((family, gateway))
    unknown = sorted(set(value) - set(FAMILIES))
    if unknown:
        raise ConfigError(field, unknown[0], "unknown family; use ipv4 or ipv6")
    return tuple(found)


def _gateways_by_family(addresses, field):
    by_family = {}
    for index, address in enumerate(addresses):
        family = _address(address, "%s[%d]" % (field, index))
        if family in by_family:
            raise ConfigError("%s[%d]" % (field, index), address, "a second %s gateway" % family)
        by_family[family] = address
    return by_family


# -- tracking


def _track(item, field, families):
    _require_object(item, field, _TRACK_KEYS)
    values = dict(TRACK_DEFAULTS, **item)
    if values["method"] not in ("icmp", "tcp"):
        raise ConfigError(field + ".method", values["method"], "must be icmp or tcp")
    _port(values, field)
    targets = _targets(item.get("targets"), field + ".targets", families)
    for key in ("interval", "timeout", "window", "hold_max"):
        _require_number(values[key], "%s.%s" % (field, key), above=0)
    _require_number(values["hold"], field + ".hold", at_least=0)
    _require_number(values["loss_percent"], field + ".loss_percent", above=0)
    if values["loss_percent"] > 100:
        raise ConfigError(field + ".loss_percent", values["loss_percent"], "must be at most 100")
    if values["latency_ms"] is not None:
        _require_number(values["latency_ms"], field + ".latency_ms", above=0)
    _require_int(values["up"], field + ".up", 1, None)
    if values["down"] is not None:
        _require_int(values["down"], field + ".down", 1, None)
    _check_relations(values, field, targets, families)
    return TrackConfig(targets=targets, **dict((key, values[key]) for key in TRACK_DEFAULTS))


def _port(values, field):
    if values["method"] == "tcp":
        _require_int(values["port"], field + ".port", 1, 65535)
    elif values["port"] is not None:
        raise ConfigError(field + ".port", values["port"], "only the tcp method takes a port")


def _targets(value, field, families):
    if not isinstance(value, list) or not value:
        raise ConfigError(field, value, "must be a non-empty list of addresses")
    for index, target in enumerate(value):
        family = _address(target, "%s[%d]" % (field, index))
        if family not in families:
            raise ConfigError("%s[%d]" % (field, index), target, "is %s but the WAN's families are %s"
                              % (family, ", ".join(families)))
    if len(set(value)) != len(value):
        raise ConfigError(field, value, "lists a target twice")
    return tuple(str(ipaddress.ip_address(target)) for target in value)


def _check_relations(values, field, targets, families):
    _require_int(values["reliability"], field + ".reliability", 1, None)
    for family in families:
        count = sum(1 for target in targets if family_of(target) == family)
        if count < values["reliability"]:
            raise ConfigError(field + ".reliability", values["reliability"],
                              "the WAN has %d %s target(s); each family needs at least this many" % (count, family))
    if values["hold_max"] < values["hold"]:
        raise ConfigError(field + ".hold_max", values["hold_max"], "must be at least hold (%s)" % values["hold"])
    if values["window"] < values["interval"]:
        raise ConfigError(field + ".window", values["window"], "must be at least interval (%s)" % values["interval"])


# -- small checks


def _require_object(value, field, known):
    if not isinstance(value, dict):
        raise ConfigError(field, value, "must be an object")
    unknown = sorted(key for key in value if key not in known)
    if unknown:
        raise ConfigError("%s.%s" % (field, unknown[0]) if field != "config" else unknown[0], value[unknown[0]],
                          "unknown option; known: %s" % ", ".join(known))


def _require_number(value, field, above=None, at_least=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(field, value, "must be a number")
    if above is not None and not value > above:
        raise ConfigError(field, value, "must be > %s" % above)
    if at_least is not None and not value >= at_least:
        raise ConfigError(field, value, "must be >= %s" % at_least)


def _require_int(value, field, lowest, highest, shown=None):
    shown = value if shown is None else shown
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, shown, "must be an integer")
    if value < lowest or (highest is not None and value > highest):
        bounds = ">= %d" % lowest if highest is None else "between %d and %d" % (lowest, highest)
        raise ConfigError(field, shown, "must be %s" % bounds)


def _address(value, field):
    if not isinstance(value, str):
        raise ConfigError(field, value, "is not an IP address")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(field, value, "is not an IP address") from None
    return IPV6 if address.version == 6 else IPV4


def _reject_duplicates(wans):
    for key in ("name", "device"):
        seen = {}
        for index, wan in enumerate(wans):
            value = getattr(wan, key)
            if value in seen:
                raise ConfigError("wans[%d].%s" % (index, key), value, "already used by wans[%d]" % seen[value])
            seen[value] = index
    marks = {}
    for index, wan in enumerate(wans):
        if wan.mark and wan.mark in marks:
            raise ConfigError("wans[%d].mark" % index, "0x%x" % wan.mark, "already used by wans[%d]" % marks[wan.mark])
        marks[wan.mark] = index


def _shown(value):
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
