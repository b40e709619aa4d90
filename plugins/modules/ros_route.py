#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ros_route
short_description: Manage RouterOS static routes owned by multiwan.pbr
version_added: 1.0.0
description:
  - Manages static IPv4 routes (C(/ip route)) in any routing table of a RouterOS 7 router through the API,
    typically the default route of each WAN's table that C(/routing rule) entries look up.
  - A route is identified by O(config[].name), kept in its C(comment) as C(multiwan.pbr:<name>) followed by
    O(config[].comment), not by its destination; RouterOS allows several routes to one destination (a failover
    pair with different distances), and a gateway changes in place. Routes without the tag (connected, dynamic
    or made by hand) are never changed or removed.
  - RouterOS prints a disabled route without its distance, scopes, check-gateway and table; while a route stays
    disabled those fields are not compared, and they are written again when it is enabled.
  - The table in O(config[].routing_table) must exist first (M(multiwan.pbr.ros_routing_table)).
    All changes are sent pipelined in one session (API C(.tag)s).
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
      - The routes.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The route's identity, stored in its C(comment) after C(multiwan.pbr:). Letters, digits and C(_.:@+/-),
            starting with a letter or digit.
        type: str
        required: true
      dst_address:
        description:
          - The destination prefix (C(dst-address)); RouterOS's default is C(0.0.0.0/0).
        type: str
      gateway:
        description:
          - The next hop (C(gateway)) as C(IP), C(IP%interface), C(IP@table) or an interface name; several, comma-separated,
            for ECMP. C(IP@main) is the same as C(IP).
          - Required unless O(config[].blackhole=true); a new route without either is refused.
        type: str
      blackhole:
        description:
          - Whether the route drops what it matches (the C(blackhole) flag); such a route has no gateway.
        type: bool
      distance:
        description:
          - Administrative distance, 1 to 255 (C(distance)); RouterOS's default is 1.
        type: int
      scope:
        description:
          - Scope, 0 to 255 (C(scope)); RouterOS's default is 30.
        type: int
      target_scope:
        description:
          - Target scope, 0 to 255 (C(target-scope)); RouterOS's default is 10.
        type: int
      check_gateway:
        description:
          - How RouterOS checks that the gateway is alive (C(check-gateway)); unset by default.
        type: str
        choices: [arp, none, ping]
      routing_table:
        description:
          - The routing table the route belongs to (C(routing-table)); RouterOS's default is C(main).
        type: str
      disabled:
        description:
          - Whether the route is disabled (C(disabled)).
        type: bool
      comment:
        description:
          - Your own text, stored in C(comment) after the ownership tag.
        type: str
seealso:
  - module: multiwan.pbr.ros_routing_table
  - module: multiwan.pbr.ros_routing_rule
  - name: RouterOS IP Routing
    description: Routes, distances and scopes.
    link: https://help.mikrotik.com/docs/spaces/ROS/pages/328084/IP+Routing
"""

EXAMPLES = r"""
- name: A default route per WAN table, with a failover route for WAN2's table
  multiwan.pbr.ros_route:
    hostname: 192.0.2.1
    username: admin
    password: "{{ routeros_password }}"
    config:
      - name: wan1-default
        routing_table: wan1
        gateway: 198.51.100.1
        check_gateway: ping
      - name: wan2-default
        routing_table: wan2
        gateway: 203.0.113.1
      - name: wan2-failover
        routing_table: wan2
        gateway: 198.51.100.1
        distance: 10

- name: Keep exactly these owned routes (connected and hand-made routes stay)
  multiwan.pbr.ros_route:
    hostname: 192.0.2.1
    state: overridden
    config:
      - name: wan2-default
        routing_table: wan2
        gateway: 203.0.113.1

- name: Remove one owned route
  multiwan.pbr.ros_route:
    hostname: 192.0.2.1
    state: deleted
    config:
      - name: wan2-failover

- name: Show the CLI lines without touching a router
  multiwan.pbr.ros_route:
    hostname: 192.0.2.1
    state: rendered
    config:
      - name: lan-blackhole
        dst_address: 10.0.0.0/8
        blackhole: true

- name: Read the owned routes
  multiwan.pbr.ros_route:
    hostname: 192.0.2.1
    state: gathered
  register: routes
"""

RETURN = r"""
commands:
  description: The RouterOS CLI lines the module ran (or would run in check mode), in order.
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample:
    - /ip route add gateway=203.0.113.1 routing-table=wan2 comment=multiwan.pbr:wan2-default
before:
  description: The owned routes before the run, by table and destination; same shape as O(config).
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: []
after:
  description: The owned routes after the run (predicted in check mode); same shape as O(config).
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample:
    - {name: wan2-default, dst_address: 0.0.0.0/0, gateway: 203.0.113.1, blackhole: false, distance: 1,
       scope: 30, target_scope: 10, routing_table: wan2, disabled: false}
rendered:
  description: The CLI lines that add O(config), for pasting into a RouterOS terminal.
  returned: when state is rendered
  type: list
  elements: str
  sample:
    - /ip route add dst-address=10.0.0.0/8 blackhole comment=multiwan.pbr:lan-blackhole
gathered:
  description: The owned routes on the router; same shape as O(config).
  returned: when state is gathered
  type: list
  elements: dict
  sample:
    - {name: wan2-default, dst_address: 0.0.0.0/0, gateway: 203.0.113.1, blackhole: false, distance: 1,
       scope: 30, target_scope: 10, routing_table: wan2, disabled: false}
parsed:
  description: The owned routes in O(running_config); same shape as O(config).
  returned: when state is parsed
  type: list
  elements: dict
  sample:
    - {name: wan2-default, dst_address: 0.0.0.0/0, gateway: 203.0.113.1, blackhole: false, distance: 1,
       scope: 30, target_scope: 10, routing_table: wan2, disabled: false}
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_route as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import resource_argument_spec, run_routeros_module

ARGUMENT_SPEC = resource_argument_spec()


def main():
    run_routeros_module(ARGUMENT_SPEC, engine.ENGINE, engine.PATHS)


if __name__ == "__main__":
    main()
