# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address and prefix normalisers, backed by netaddr.

Every engine normalises addresses at both boundaries (user input and device dump)
with these functions, so ``192.0.2.7/24`` and ``192.0.2.0/24`` compare equal because
both became ``192.0.2.0/24`` on the way in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

try:
    import netaddr
    HAS_NETADDR, NETADDR_IMPORT_ERROR = True, None
except ImportError as import_error:
    HAS_NETADDR, NETADDR_IMPORT_ERROR = False, import_error

IPV4, IPV6 = "ipv4", "ipv6"
ANY_WORDS = ("default", "all", "any")
DEFAULT_PREFIX = {IPV4: "0.0.0.0/0", IPV6: "::/0"}
CACHED_TEXTS = 65536    # distinct texts remembered by the parsers (a few MB at most)


def family_of(value):
    """``ipv4``/``ipv6`` for an address or prefix already normalised by this module."""
    return IPV6 if ":" in value else IPV4


def prefix(value, field, family=None):
    """A prefix as ``network/length``; host bits dropped, v4-mapped v6 unwrapped.

    ``default``/``all``/``any`` become the family's ``/0`` (IPv4 unless ``family``).
    """
    text = str(value).strip()
    if text.lower() in ANY_WORDS:
        return DEFAULT_PREFIX[family or IPV4]
    normalised = _canonical_prefix(text)
    if normalised is None:
        raise InvalidInput(field, value, "is not an IPv4 or IPv6 address or prefix")
    _check_family(field, value, normalised, family)
    return normalised


def address(value, field, family=None):
    """A single address in canonical text (``2001:db8::1``, not ``2001:0db8:0::1``)."""
    normalised = _canonical_address(str(value).strip())
    if normalised is None:
        raise InvalidInput(field, value, "is not an IPv4 or IPv6 address")
    _check_family(field, value, normalised, family)
    return normalised


# The two parsers below are pure functions of their text, so they are cached: a run over
# 10,000 entries meets the same texts again and again (a gateway shared by every route,
# the user's prefix and the device's read-back of it), and netaddr costs ~40 us a parse.
@functools.lru_cache(maxsize=CACHED_TEXTS)
def _canonical_prefix(text):
    """``network/length`` for ``text``, or None when it is no prefix."""
    try:
        network = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None
    if network.version == 6 and network.ip.is_ipv4_mapped() and network.prefixlen >= 96:
        network = netaddr.IPNetwork("%s/%d" % (network.ip.ipv4(), network.prefixlen - 96))
    return "%s/%d" % (network.network, network.prefixlen)


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _canonical_address(text):
    """The canonical text of the address ``text``, or None when it is no address."""
    try:
        parsed = netaddr.IPAddress(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None
    if parsed.version == 6 and parsed.is_ipv4_mapped():
        parsed = parsed.ipv4()
    return str(parsed)


def dump_prefix(address_text, length):
    """A prefix from ``ip -json`` (``dst`` + ``dstlen``, or ``all``/``default``)."""
    if address_text in (None, "all", "default"):
        return None
    if length is None:
        return prefix(address_text, "dump")
    return prefix("%s/%s" % (address_text, length), "dump")


def is_default(normalised_prefix):
    return normalised_prefix in DEFAULT_PREFIX.values()


def _check_family(field, value, normalised, family):
    if family and family_of(normalised) != family:
        raise InvalidInput(field, value, "is not an %s address (the entry is %s)" % (family.replace("ip", "IP"), family))
