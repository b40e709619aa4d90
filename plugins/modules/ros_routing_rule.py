#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ros_routing_rule
short_description: Manage RouterOS policy routing rules owned by multiwan.pbr
version_added: 1.0.0
description:
  - Manages C(/routing rule) entries on a RouterOS 7 router through the API, for example
    C(dst-address=192.0.2.0/24 action=lookup table=wan2) so that traffic to those destinations,
    the router's own included, leaves by WAN2 without any mangle in C(chain=output).
  - An entry is identified by O(config[].name), kept in its C(comment) as C(multiwan.pbr:<name>) followed by
    O(config[].comment). Rules without that tag are never changed, moved or removed.
  - Rules are evaluated in list order, so order is part of the configuration; the rules of O(config) form one
    block, in O(config) order, at the place O(placement) names. Rules the module does not own keep their
    relative order.
  - All changes are sent pipelined in one session (API C(.tag)s); a move waits for the replies of the adds it
    orders, whatever order RouterOS runs pending commands in. The routing tables named in O(config[].table)
    and O(config[].routing_mark) must exist first (M(multiwan.pbr.ros_routing_table)), or RouterOS refuses the
    rule and the module fails with its message and the rule concerned; the owned rules then go back to the
    positions they had, and C(rolled_back) says whether the router read back exactly as before.
author:
  - multiwan.pbr contributors (@multiwan-pbr)
extends_documentation_fragment:
  - multiwan.pbr.resource_states
  - multiwan.pbr.routeros_api
  - multiwan.pbr.attributes
  - multiwan.pbr.attributes.ROUTEROS
requirements:
  - netaddr (on the host that runs the module)
options:
  config:
    description:
      - The routing rules, in the order they must be evaluated.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The rule's identity, stored in its C(comment) after C(multiwan.pbr:). Letters, digits and C(_.:@+/-),
            starting with a letter or digit.
        type: str
        required: true
      dst_address:
        description:
          - Destination prefix to match (C(dst-address)); host bits are cleared, a bare address is a C(/32).
          - Of the same address family as O(config[].src_address).
        type: str
      src_address:
        description:
          - Source prefix to match (C(src-address)); host bits are cleared, a bare address is a C(/32).
        type: str
      routing_mark:
        description:
          - Routing mark to match (C(routing-mark)), the name of a routing table.
        type: str
      interface:
        description:
          - Incoming interface to match (C(interface)).
        type: str
      action:
        description:
          - What a matching packet gets (C(action)); RouterOS's default is V(lookup).
          - V(lookup) falls through to the next rule when the table has no route; V(lookup-only-in-table) does not.
        type: str
        choices: [drop, lookup, lookup-only-in-table, mangle, unreachable]
      table:
        description:
          - The routing table to look up (C(table)); RouterOS's default is C(main).
        type: str
      min_prefix:
        description:
          - Ignore routes with a prefix length up to this (C(min-prefix)); V(0) hides the default route.
        type: int
      disabled:
        description:
          - Whether the rule is disabled (C(disabled)).
        type: bool
      comment:
        description:
          - Your own text, stored in C(comment) after the ownership tag.
        type: str
  placement:
    description:
      - Where the block of O(config) rules sits in the rule list. Without it, V(bottom).
    type: dict
    suboptions:
      position:
        description:
          - V(top) puts the block before every other rule, V(bottom) after every other rule, and V(before) right
            before the rule named by O(placement.anchor).
        type: str
        choices: [top, bottom, before]
        default: bottom
      anchor:
        description:
          - With O(placement.position=before), the rule not owned by this module that the block goes before,
            by its C(.id) (C(*5)) or its whole C(comment). It must match exactly one such rule.
        type: str
notes:
  - V(rendered) cannot know the rules already on a router, so its C(add) lines append the rules at the end.
seealso:
  - module: multiwan.pbr.ros_routing_table
  - module: multiwan.pbr.ros_route
  - name: RouterOS Policy Routing
    description: How routing rules are evaluated.
    link: https://help.mikrotik.com/docs/spaces/ROS/pages/59965508/Policy+Routing
"""

EXAMPLES = r"""
- name: Send the router's own DNS and WireGuard traffic out by WAN2 (no mangle in chain=output)
  multiwan.pbr.ros_routing_rule:
    hostname: 192.0.2.1
    username: admin
    password: "{{ routeros_password }}"
    placement:
      position: top
    config:
      - name: dns-via-wan2
        dst_address: 198.51.100.53/32
        table: wan2
        comment: resolvers of ISP 2
      - name: wg-via-wan2
        dst_address: 203.0.113.0/24
        table: wan2

- name: Put the rules right before a hand-made rule, and remove owned rules not listed (others stay)
  multiwan.pbr.ros_routing_rule:
    hostname: 192.0.2.1
    state: overridden
    placement:
      position: before
      anchor: office VPN
    config:
      - name: dns-via-wan2
        dst_address: 198.51.100.53/32
        table: wan2

- name: Remove one owned rule
  multiwan.pbr.ros_routing_rule:
    hostname: 192.0.2.1
    state: deleted
    config:
      - name: wg-via-wan2

- name: Show the CLI lines without touching a router
  multiwan.pbr.ros_routing_rule:
    hostname: 192.0.2.1
    state: rendered
    config:
      - name: dns-via-wan2
        dst_address: 198.51.100.53
        table: wan2

- name: Read the owned rules
  multiwan.pbr.ros_routing_rule:
    hostname: 192.0.2.1
    state: gathered
  register: rules
"""

RETURN = r"""
commands:
  description: The RouterOS CLI lines the module ran (or would run in check mode), in order.
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample:
    - /routing rule add dst-address=198.51.100.53/32 table=wan2 comment=multiwan.pbr:dns-via-wan2
    - /routing rule move [find comment=multiwan.pbr:dns-via-wan2],*4 destination=*1
before:
  description: The owned rules before the run, in device order; same shape as O(config).
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: []
after:
  description: The owned rules after the run (predicted in check mode), in device order; same shape as O(config).
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample:
    - {name: dns-via-wan2, dst_address: 198.51.100.53/32, action: lookup, table: wan2, disabled: false}
rendered:
  description: The CLI lines that add O(config), for pasting into a RouterOS terminal.
  returned: when state is rendered
  type: list
  elements: str
  sample:
    - /routing rule add dst-address=198.51.100.53/32 table=wan2 comment=multiwan.pbr:dns-via-wan2
gathered:
  description: The owned rules on the router, in device order; same shape as O(config).
  returned: when state is gathered
  type: list
  elements: dict
  sample:
    - {name: dns-via-wan2, dst_address: 198.51.100.53/32, action: lookup, table: wan2, disabled: false}
parsed:
  description: The owned rules in O(running_config), in order; same shape as O(config).
  returned: when state is parsed
  type: list
  elements: dict
  sample:
    - {name: dns-via-wan2, dst_address: 198.51.100.53/32, action: lookup, table: wan2, disabled: false}
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_routing_rule as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import resource_argument_spec, run_routeros_module

ARGUMENT_SPEC = resource_argument_spec(placement=dict(type="dict", options=engine.PLACEMENT_OPTIONS))


def main():
    run_routeros_module(ARGUMENT_SPEC, engine.ENGINE, engine.PATHS)


if __name__ == "__main__":
    main()
