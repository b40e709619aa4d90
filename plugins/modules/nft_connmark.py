#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nft_connmark
short_description: Manage the multiwan.pbr nftables table that pins each connection to one WAN
version_added: 0.1.0
description:
  - Owns one nftables table (family C(inet), name O(table)) that implements source-in-source-out and per-connection
    WAN stickiness with conntrack marks. A new connection is classified once, when its WAN is known (arriving from a
    WAN in C(prerouting), leaving through a WAN in C(postrouting)); the WAN's mark goes into C(ct mark). Every later
    packet that travels towards the WAN gets C(meta mark) restored from C(ct mark) before routing (C(prerouting), and
    C(output) with C(type route) so the router's own packets are rerouted), and C(ip rule fwmark ... lookup) sends it
    out that WAN. Classification and restore are one verdict-map lookup per packet whatever the number of WANs.
  - Only the bits inside O(mask) are ever read or written, so other tools' marks (VPNs, ipsec, docker, tailscale)
    survive. Packets entering or leaving through O(exclude.devices) or addressed to O(exclude.destinations) are never
    classified or marked. Replies conntrack calls INVALID carry no C(ct mark) and pass unmarked, to be routed by the
    C(ip rule from <WAN address>) rules the M(multiwan.pbr.pbr_rule) module manages; RELATED packets carry the mark
    of their master connection. C(docs/modules/nft_connmark.md) explains why.
  - Nothing outside O(table) is ever read or changed; the ruleset is never flushed. The module replaces the whole
    table in one C(nft -f) transaction (C(add table), C(delete table), the new table), validated first with
    C(nft -c). Connections keep their marks and NAT bindings across a replacement (they live in conntrack).
  - "Ownership is proved by the table itself, not assumed from its name. Every table the module writes carries the
    comment C(multiwan.pbr nft_connmark: managed by Ansible, edits are replaced); a table named O(table) without it
    (another tool's firewall, say) fails the run before anything changes, and is never replaced or deleted. O(adopt)
    takes over a table an earlier version of the module made."
  - Idempotence compares structure, not text. The listed table (C(nft -j list table)) and the wanted table (built
    in the same libnftables JSON shape) are normalised alike (no handles, no counter values, elements sorted, host
    addresses as prefixes) and compared.
  - The module has its own states, mapped onto the collection's resource core, because it manages one table, not a
    list of entries. V(present) is the core's C(replaced), V(absent) its C(deleted), V(rendered) and V(gathered)
    are the core's own; C(merged), C(overridden) and C(parsed) would mean nothing for one whole table.
author:
  - multiwan.pbr contributors (@multiwan-pbr)
extends_documentation_fragment:
  - multiwan.pbr.attributes
  - multiwan.pbr.attributes.LINUX
requirements:
  - nftables 0.9.3 or later on the target (C(nft -j)); C(inet) nat chains need Linux 5.2 or later
  - netaddr on the target
notes:
  - The table only marks packets. The routing that acts on the marks is C(ip rule fwmark <mark>/<mask> lookup <WAN table>)
    plus a default route in each WAN table (M(multiwan.pbr.pbr_rule), M(multiwan.pbr.pbr_table)).
seealso:
  - module: multiwan.pbr.pbr_rule
  - module: multiwan.pbr.pbr_table
  - name: nft(8)
    description: The manual page of C(nft), including C(ct mark), C(meta mark) and verdict maps.
    link: https://www.netfilter.org/projects/nftables/manpage.html
options:
  table:
    description:
      - The name of the C(inet) table the module owns. Nothing else is ever touched.
      - The table carries a marker (its comment); a table of this name without it is never replaced or deleted
        (see O(adopt)).
    type: str
    default: multiwan_pbr
  mask:
    description:
      - The bits of the packet and connection mark this table owns, as a number (C(0xff00) or C(65280)).
      - Bits outside the mask are never read or written.
    type: str
    default: "0xff00"
  wans:
    description:
      - The WAN links. Required when O(state) is V(present) or V(rendered).
      - Their order does not matter.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - A name for the WAN (a letter, then letters, digits and C(_), up to 32); it names the table's chains
            C(classify_<name>) and C(restore_<name>), and derives the WAN's default O(wans[].mark).
        type: str
        required: true
      device:
        description:
          - The network device of the WAN (C(iifname)/C(oifname)).
        type: str
        required: true
      mark:
        description:
          - The WAN's mark, inside O(mask) and not 0.
          - "When omitted, a mark derived from O(wans[].name) alone (a hash of the name spread over the bits of
            O(mask)), so reordering, adding or removing other WANs never changes it. Two names whose derived marks
            collide are refused: give the WAN you added an explicit mark, so the other keeps its own."
        type: str
      masquerade:
        description:
          - Masquerade connections that leave through this WAN (a C(nat postrouting) chain in the same table).
        type: bool
        default: false
  exclude:
    description:
      - Traffic that is never classified or marked.
    type: dict
    suboptions:
      devices:
        description:
          - Devices (tunnels, LAN bridges) whose packets are never classified or marked, by C(iifname) in
            C(prerouting) and by C(oifname) in C(output) and C(postrouting).
        type: list
        elements: str
        default: []
      destinations:
        description:
          - IPv4 and IPv6 prefixes whose packets are never classified or marked (C(ip daddr), C(ip6 daddr)).
          - Overlapping and adjacent prefixes are merged.
        type: list
        elements: str
        default: []
  adopt:
    description:
      - Take over a table named O(table) that carries no marker, as tables made by multiwan.pbr before the marker
        existed do. The table is adopted only when its sets, maps and chains are the ones this module writes; it is
        then replaced with the marked table (V(present)) or deleted (V(absent)).
      - Without it, such a table is refused with a message, and never replaced or deleted.
      - Once the table carries the marker this option changes nothing; leaving it on is safe.
    type: bool
    default: false
  state:
    description:
      - V(present) makes the table exactly what the options describe (the resource core's C(replaced)).
      - V(absent) deletes the table (the core's C(deleted)).
      - V(rendered) returns the C(nft) commands without contacting the target.
      - V(gathered) returns the table's settings as found on the target, in the shape of the options.
    type: str
    choices: [present, absent, rendered, gathered]
    default: present
"""

EXAMPLES = r"""
- name: Pin connections to the WAN they arrived on or left through
  multiwan.pbr.nft_connmark:
    table: multiwan_pbr
    mask: "0xff00"
    wans:
      - {name: isp_a, device: wan0, mark: "0x100", masquerade: true}
      - {name: isp_b, device: wan1, masquerade: true}    # mark derived from the name isp_b
    exclude:
      devices: [wg0]
      destinations: [192.168.0.0/16, 2001:db8:100::/48]
    state: present

- name: Review the change first
  multiwan.pbr.nft_connmark:
    wans:
      - {name: isp_a, device: wan0}
      - {name: isp_b, device: wan1}
  check_mode: true
  diff: true

- name: Show the nft commands without touching the host
  multiwan.pbr.nft_connmark:
    wans:
      - {name: isp_a, device: wan0}
    state: rendered
  register: connmark_script

- name: Read the table's settings back
  multiwan.pbr.nft_connmark:
    state: gathered
  register: connmark_settings

- name: Remove the table (other tables are never touched)
  multiwan.pbr.nft_connmark:
    table: multiwan_pbr
    state: absent

- name: Take over the unmarked table an earlier multiwan.pbr made (once; it then carries the marker)
  multiwan.pbr.nft_connmark:
    wans:
      - {name: isp_a, device: wan0, mark: "0x100"}
    adopt: true
"""

RETURN = r"""
commands:
  description: The C(nft -f) script the run applies (in check mode, would apply), one line per command.
  returned: when O(state) is V(present) or V(absent)
  type: list
  elements: str
  sample: ["add table inet multiwan_pbr", "delete table inet multiwan_pbr",
           "add table inet multiwan_pbr { comment \"multiwan.pbr nft_connmark: managed by Ansible, edits are replaced\"; }",
           "add chain inet multiwan_pbr restore_isp_a",
           "add rule inet multiwan_pbr restore_isp_a meta mark set meta mark & 0xffff01ff | 0x00000100"]
before:
  description: The table's settings before the run (empty when it did not exist), same shape as the options.
  returned: when O(state) is V(present) or V(absent)
  type: list
  elements: dict
  sample: []
after:
  description: The table's settings after the run (in check mode, as predicted), same shape as the options.
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample: [{"table": "multiwan_pbr", "mask": "0xff00",
            "wans": [{"name": "isp_a", "device": "wan0", "mark": "0x100", "masquerade": true}],
            "exclude": {"devices": ["wg0"], "destinations": ["192.168.0.0/16"]}}]
rendered:
  description: The C(nft -f) script for the options, made without contacting the target, one line per command.
  returned: when O(state) is V(rendered)
  type: list
  elements: str
  sample: ["add table inet multiwan_pbr", "delete table inet multiwan_pbr",
           "add table inet multiwan_pbr { comment \"multiwan.pbr nft_connmark: managed by Ansible, edits are replaced\"; }",
           "add map inet multiwan_pbr wan_marks { type mark : verdict; elements = { 0x00000100 : goto restore_isp_a } }"]
gathered:
  description: The table's settings on the target (an empty list when the table does not exist), same shape as the options.
  returned: when O(state) is V(gathered)
  type: list
  elements: dict
  sample: [{"table": "multiwan_pbr", "mask": "0xff00",
            "wans": [{"name": "isp_a", "device": "wan0", "mark": "0x100", "masquerade": false}],
            "exclude": {"devices": [], "destinations": []}}]
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import options_spec
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import run_module
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import nft_connmark as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.runners import LIBRARIES, nft_connmark_runner

ARGUMENT_SPEC = dict(
    adopt=dict(type="bool", default=False),
    state=dict(type="str", default="present", choices=list(engine.CORE_STATE)),
    **options_spec(engine.CONFIG_FIELDS)
)
REQUIRED_IF = [("state", "present", ("wans",)), ("state", "rendered", ("wans",))]


def main():
    run_module(ARGUMENT_SPEC, engine.ENGINE, nft_connmark_runner, libraries=LIBRARIES, required_if=REQUIRED_IF,
               prepare_params=engine.resource_params)


if __name__ == "__main__":
    main()
