"""Value types: how an argument is parsed, stored and printed.

``parse(argument, raw, state)`` turns what a client wrote into the stored form or raises a
``Trap`` naming the argument; ``show(stored, state)`` turns the stored form into the string
``print`` returns. Most types store exactly what they print; references store the target's
``.id`` so that a rename shows through and a removed target reads back as its ``*id``
(lab survey: a deleted pool makes the referrer read back as ``"*1"``).
"""

import ipaddress
import re

from . import traps

_TRUE_WORDS = ("yes", "true")
_FALSE_WORDS = ("no", "false")


class ValueType:
    """Free text: stored and printed as written. An empty value clears it (``comment=""``)."""

    empty_clears = True

    def parse(self, argument, raw, state):
        return raw

    def show(self, stored, state):
        return stored


class Text(ValueType):
    """A string, optionally bounded in length."""

    def __init__(self, max_length=None):
        self.max_length = max_length

    def parse(self, argument, raw, state):
        if self.max_length is not None and len(raw) > self.max_length:
            raise traps.invalid_value(argument)
        return raw


class Boolean(ValueType):
    """``yes``/``no``/``true``/``false`` in, ``true``/``false`` out (RouterOS 7 prints these)."""

    empty_clears = False

    def parse(self, argument, raw, state):
        word = raw.lower()
        if word in _TRUE_WORDS:
            return "true"
        if word in _FALSE_WORDS:
            return "false"
        raise traps.no_match(argument)


class Enum(ValueType):
    """One of a fixed set of words; ``numeric_range`` also admits numbers (``protocol=6``)."""

    empty_clears = False

    def __init__(self, values, numeric_range=None):
        self.values = tuple(values)
        self.numeric_range = numeric_range

    def parse(self, argument, raw, state):
        if raw in self.values:
            return raw
        if self.numeric_range and raw.isdigit():
            low, high = self.numeric_range
            if low <= int(raw) <= high:
                return str(int(raw))
        raise traps.no_match(argument)


class Integer(ValueType):
    """A decimal number within ``low..high``; printed in canonical decimal."""

    empty_clears = False

    def __init__(self, low, high):
        self.low, self.high = low, high

    def parse(self, argument, raw, state):
        if not re.fullmatch(r"\d+", raw):
            raise traps.invalid_value(argument)
        number = int(raw)
        if not self.low <= number <= self.high:
            raise traps.out_of_range(argument, self.low, self.high)
        return str(number)


class Flag(ValueType):
    """A property that is either present or absent (``fib``, ``blackhole``).

    Any value sets it (terraform: "value has no effect"); it prints as ``=fib=``.
    """

    empty_clears = False

    def parse(self, argument, raw, state):
        return ""


class Prefix(ValueType):
    """An IP prefix such as ``dst-address``.

    ``host_suffix`` decides how a single host prints: ``"keep"`` (routes and routing rules print
    ``8.8.8.8/32``) or ``"drop"`` (firewall prints ``1.2.3.4``). Host bits below the prefix
    length follow ``state.behaviour.host_bits`` because RouterOS's handling is unverified.
    """

    empty_clears = False

    def __init__(self, host_suffix="keep", families=(4, 6)):
        self.host_suffix = host_suffix
        self.families = families

    def parse(self, argument, raw, state):
        network = _parse_network(argument, raw, state.behaviour.host_bits)
        if network.version not in self.families:
            raise traps.invalid_value(argument)
        if self.host_suffix == "drop" and network.prefixlen == network.max_prefixlen:
            return str(network.network_address)
        return str(network)


def _parse_network(argument, raw, host_bits):
    try:
        strict = ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise traps.invalid_value(argument) from None
    written_address = ipaddress.ip_interface(raw).ip
    if written_address == strict.network_address or host_bits == "mask":
        return strict
    if host_bits == "refuse":
        raise traps.invalid_value(argument)
    return _NetworkWithHostBits(raw if "/" in raw else f"{raw}/{strict.max_prefixlen}", strict)


class _NetworkWithHostBits:
    """A prefix kept as written (``host_bits="keep"``), e.g. ``10.0.0.1/24``."""

    def __init__(self, text, network):
        self._text = text
        self.version = network.version
        self.prefixlen = network.prefixlen
        self.max_prefixlen = network.max_prefixlen
        self.network_address = ipaddress.ip_interface(text).ip

    def __str__(self):
        return self._text


class IpAddress(ValueType):
    """A single IPv4 or IPv6 address (``pref-src``, ``route-dst``)."""

    empty_clears = False

    def parse(self, argument, raw, state):
        try:
            return str(ipaddress.ip_address(raw))
        except ValueError:
            raise traps.invalid_value(argument) from None


class InterfaceAddress(ValueType):
    """An ``/ip/address`` address: ``IP/len`` with host bits kept; no length means ``/32``."""

    empty_clears = False

    def parse(self, argument, raw, state):
        try:
            return str(ipaddress.ip_interface(raw))
        except ValueError:
            raise traps.invalid_value(argument) from None


class AddressListEntry(ValueType):
    """An address-list ``address``: IP, prefix, range ``a-b`` or (``allow_names``) a DNS name.

    A ``/32`` is printed as the bare address (lab survey: ``10.10.10.10/32`` equals ``10.10.10.10``);
    firewall ``src-address``/``dst-address`` print the same way (terraform ``ImplicitSingleHostCIDR4``).
    """

    empty_clears = False

    def __init__(self, allow_names=True):
        self.allow_names = allow_names

    def parse(self, argument, raw, state):
        if "-" in raw and _looks_like_range(raw):
            first, last = (ipaddress.ip_address(part) for part in raw.split("-"))
            return f"{first}-{last}"
        try:
            network = _parse_network(argument, raw, state.behaviour.host_bits)
        except traps.Trap:
            if self.allow_names and re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", raw):
                return raw.lower()
            raise
        if network.prefixlen == network.max_prefixlen:
            return str(network.network_address)
        return str(network)


def _looks_like_range(raw):
    try:
        first, last = raw.split("-")
        ipaddress.ip_address(first)
        ipaddress.ip_address(last)
        return True
    except ValueError:
        return False


_DURATION_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


class Duration(ValueType):
    """A time interval: ``1d``, ``24h``, ``3600``, ``01:00:00``; printed canonically (``1d``).
    ``low_ms``/``high_ms`` bound it (``/tool/netwatch timeout`` is ``10ms..4w``: the 7.22.2 tree),
    and a bounded one takes milliseconds too (``500ms``, ``00:00:00.5``).

    RouterOS also prints a mixed ``1w2d03:04:05`` form; the simulator always prints units.
    """

    empty_clears = False

    def __init__(self, low_ms=None, high_ms=None):
        self.low_ms, self.high_ms = low_ms, high_ms

    def parse(self, argument, raw, state):
        if self.low_ms is None:
            seconds = _duration_seconds(raw)
            if seconds is None:
                raise traps.invalid_value(argument)
            return format_duration(seconds)
        milliseconds = _duration_milliseconds(raw)
        if milliseconds is None:
            raise traps.invalid_value(argument)
        if not self.low_ms <= milliseconds <= self.high_ms:
            raise traps.out_of_range(argument, format_milliseconds(self.low_ms), format_milliseconds(self.high_ms))
        return format_milliseconds(milliseconds)


def _duration_seconds(raw):
    if re.fullmatch(r"\d+", raw):
        return int(raw)
    clock = re.fullmatch(r"(?:(.*?))?(\d+):(\d\d):(\d\d)", raw)
    prefix_seconds, text = 0, raw
    if clock:
        prefix_seconds = int(clock.group(2)) * 3600 + int(clock.group(3)) * 60 + int(clock.group(4))
        text = clock.group(1) or ""
    parts = re.findall(r"(\d+)([wdhms])", text)
    if "".join(number + unit for number, unit in parts) != text or (not parts and not clock):
        return None
    scale = dict(_DURATION_UNITS)
    return prefix_seconds + sum(int(number) * scale[unit] for number, unit in parts)


def _duration_milliseconds(raw):
    """``500ms``, ``1m30s``, ``00:00:00.5`` or seconds as milliseconds (``None`` if none of these)."""
    fraction = re.fullmatch(r"(.*\d\d:\d\d:\d\d)\.(\d{1,3})", raw)
    if fraction:
        seconds = _duration_seconds(fraction.group(1))
        return None if seconds is None else seconds * 1000 + int(fraction.group(2).ljust(3, "0"))
    milliseconds = re.fullmatch(r"(.*?)(\d+)ms", raw)
    if milliseconds:
        seconds = _duration_seconds(milliseconds.group(1)) if milliseconds.group(1) else 0
        return None if seconds is None else seconds * 1000 + int(milliseconds.group(2))
    seconds = _duration_seconds(raw)
    return None if seconds is None else seconds * 1000


def format_milliseconds(milliseconds):
    seconds, rest = divmod(milliseconds, 1000)
    if not rest:
        return format_duration(seconds)
    return (format_duration(seconds) if seconds else "") + f"{rest}ms"


def format_duration(seconds):
    if seconds == 0:
        return "0s"
    text = ""
    for unit, size in _DURATION_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            text += f"{count}{unit}"
    return text


class PortList(ValueType):
    """Ports and ranges: ``80,443,8000-8080``."""

    empty_clears = False

    def parse(self, argument, raw, state):
        for part in raw.split(","):
            bounds = part.split("-")
            if len(bounds) > 2 or not all(b.isdigit() and int(b) <= 65535 for b in bounds):
                raise traps.invalid_value(argument)
        return raw


class EnumSet(ValueType):
    """A comma list of words from a fixed set, printed in the set's order (``connection-state``).

    Printing in a fixed order is [inferred] from the console's list form.
    """

    empty_clears = False

    def __init__(self, values):
        self.values = tuple(values)

    def parse(self, argument, raw, state):
        chosen = raw.split(",")
        if not chosen or any(word not in self.values for word in chosen):
            raise traps.no_match(argument)
        return ",".join(word for word in self.values if word in chosen)


class Negatable(ValueType):
    """Firewall matchers accept a leading ``!`` (``dst-address=!10.0.0.0/8``)."""

    empty_clears = False

    def __init__(self, inner):
        self.inner = inner

    def parse(self, argument, raw, state):
        if raw.startswith("!"):
            return "!" + self.inner.parse(argument, raw[1:], state)
        return self.inner.parse(argument, raw, state)

    def show(self, stored, state):
        if stored.startswith("!"):
            return "!" + self.inner.show(stored[1:], state)
        return self.inner.show(stored, state)


class NameSet(ValueType):
    """A name from a set the state holds (``state.interface_lists``), refused as ``label``."""

    empty_clears = False

    def __init__(self, state_attribute, label):
        self.state_attribute = state_attribute
        self.label = label

    def parse(self, argument, raw, state):
        if raw not in getattr(state, self.state_attribute):
            raise traps.no_match(self.label)
        return raw


class Reference(ValueType):
    """A hard reference to a named object in another menu (a routing table, an interface).

    Stored as the target's ``.id``; printed as the target's current name, or as the ``.id`` if
    the target was removed. ``builtins`` are names accepted without a target (``local``),
    ``specials`` words like ``all-ethernet``; both are stored literally. A missing target is
    refused with ``input does not match any value of <label>`` (``label`` defaults to the
    argument name; in-interface/out-interface report ``interface``).
    """

    empty_clears = False

    def __init__(self, menu_path, label=None, builtins=(), specials=(), strict_unless=None):
        self.menu_path = menu_path
        self.label = label
        self.builtins = tuple(builtins)
        self.specials = tuple(specials)
        # Name of a Behaviour flag that, when false, lets unknown names through as plain text.
        self.strict_unless = strict_unless

    def parse(self, argument, raw, state):
        if raw in self.builtins or raw in self.specials:
            return raw
        target = state.menu(self.menu_path).find_by_name(raw)
        if target is not None:
            return target.id_text
        if self.strict_unless and not getattr(state.behaviour, self.strict_unless):
            return raw
        raise traps.no_match(self.label or argument)

    def show(self, stored, state):
        if not stored.startswith("*"):
            return stored
        target = state.menu(self.menu_path).find_by_id(stored)
        return stored if target is None else target.name

    def resolves(self, stored, state):
        """False when the stored value no longer names an object (a dangling reference)."""
        stored = stored.lstrip("!")
        if stored in self.builtins or stored in self.specials:
            return True
        menu = state.menu(self.menu_path)
        target = menu.find_by_id(stored) if stored.startswith("*") else menu.find_by_name(stored)
        return target is not None


class Gateway(ValueType):
    """A route gateway: comma list of ``IP``, ``IP%interface``, ``IP@table`` or an interface name.

    ``IP@main`` prints as ``IP`` when ``state.behaviour.strip_gateway_main`` is set
    (doc example, unverified). Interface names must exist.
    """

    empty_clears = False

    def parse(self, argument, raw, state):
        return ",".join(self._parse_one(argument, part, state) for part in raw.split(","))

    def show(self, stored, state):
        """``@main`` is kept in storage (it decides where the gateway resolves) and, with
        ``strip_gateway_main``, left out of print."""
        if not state.behaviour.strip_gateway_main:
            return stored
        return ",".join(part[:-len("@main")] if part.endswith("@main") else part
                        for part in stored.split(","))

    def _parse_one(self, argument, part, state):
        address, _separator, table = part.partition("@")
        address, _separator, interface = address.partition("%")
        if _is_ip_address(address):
            if interface and state.menu("/interface").find_by_name(interface) is None:
                raise traps.no_match(argument)
            return str(ipaddress.ip_address(address)) + (f"%{interface}" if interface else "") + (
                f"@{table}" if table else "")
        if not interface and not table and state.menu("/interface").find_by_name(address):
            return address
        raise traps.no_match(argument)


def _is_ip_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False
