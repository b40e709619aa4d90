# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ownership tag of Linux rules and routes: one check, for every Linux engine.

A rule or route is the collection's when its ``protocol`` equals the tag. ``ip -json``
leaves the protocol out when it is 0 (``unspec``: every rule nobody tagged, the kernel's
``lookup local/main/default`` among them), and the kernel and other tools put their own
numbers on what they make (2 ``kernel``, 3 ``boot`` for ``ip route add`` without ``proto``
and for tailscale's rules, 16 ``dhcp``, 186 ``bgp`` ...). A tag equal to any of those would
make the collection "own" what others made, and ``overridden`` would delete it. So the tag
must be none of the numbers iproute2 names by itself (the stock ``rt_protos`` lists the same:
``rt_tables.BUILTIN_PROTOCOLS``); a number of the user's own, or a
name the user gave one in ``rt_protos.d``, is fine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables import BUILTIN_PROTOCOLS, parse_rt_protos

DEFAULT_PROTOCOL = "211"
RESERVED_PROTOCOLS = dict(BUILTIN_PROTOCOLS)
OFFLINE_PROTOCOLS = parse_rt_protos([])


def protocol_tag(value, protocols=None, field="protocol"):
    """The tag (``protocol`` option) as a number, refused when others use it.

    ``protocols`` are the host's protocol names (``rt_tables.protocol_names``); without them
    (``rendered``) only numbers and iproute2's own names resolve, and an unknown name stays text
    for the target to resolve (it is checked there before anything changes).
    """
    given = DEFAULT_PROTOCOL if value is None or value == "" else value
    names = protocols or OFFLINE_PROTOCOLS
    text = str(given).strip()
    if protocols is None and not text.isdigit() and text not in names.id_by_name:
        return text
    number = names.id_of(given, field)
    if number in RESERVED_PROTOCOLS:
        raise InvalidInput(field, value, "is protocol %d (%s), which the kernel or other tools put on rules and "
                           "routes they make; owning it would mean changing and deleting those. Use a number of "
                           "your own (the default is %s)" % (number, RESERVED_PROTOCOLS[number], DEFAULT_PROTOCOL))
    return number


def is_owned(protocol, tag):
    """Whether a rule or route with ``protocol`` (as read, 0 when the dump leaves it out) is ours."""
    return protocol == tag and protocol not in RESERVED_PROTOCOLS
