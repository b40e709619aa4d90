#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ros_routing_table
short_description: Manage RouterOS routing tables owned by multiwan.pbr
version_added: 1.0.0
description:
  - Manages C(/routing table) entries on a RouterOS 7 router through the API. RouterOS 7 refuses a rule,
    route or mangle mark that names a table not defined here, so create tables before the rules and routes
    that use them, and remove them after.
  - A table is identified by its O(config[].name); an owned table's C(comment) starts with C(multiwan.pbr).
    The built-in C(main) table and tables without the tag are never changed or removed; a wanted table whose
    name an untagged table already has is refused before anything is sent.
  - All changes are sent pipelined in one session (API C(.tag)s); removals go last, once every other write
    was answered. A table that any rule, route or mangle rule still names is never removed; the run fails
    before anything is sent, naming them.
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
      - The routing tables.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The table's name (C(name)), its identity; C(main) is RouterOS's own and cannot be managed.
        type: str
        required: true
      fib:
        description:
          - Whether the table pushes its routes to the FIB (the C(fib) flag). Without it RouterOS keeps the table's
            routes out of forwarding and policy-routed traffic silently falls back to C(main); say V(true) for any
            table a rule or mark must steer traffic into.
        type: bool
      disabled:
        description:
          - Whether the table is disabled (C(disabled)).
        type: bool
      comment:
        description:
          - Your own text, stored in C(comment) after the ownership tag.
        type: str
seealso:
  - module: multiwan.pbr.ros_routing_rule
  - module: multiwan.pbr.ros_route
  - name: RouterOS Policy Routing
    description: Routing tables in RouterOS 7.
    link: https://help.mikrotik.com/docs/spaces/ROS/pages/59965508/Policy+Routing
"""

EXAMPLES = r"""
- name: One table per WAN, pushed to the FIB
  multiwan.pbr.ros_routing_table:
    hostname: 192.0.2.1
    username: admin
    password: "{{ routeros_password }}"
    config:
      - name: wan1
        fib: true
      - name: wan2
        fib: true
        comment: ISP 2

- name: Keep exactly these owned tables (untagged tables and main are never touched)
  multiwan.pbr.ros_routing_table:
    hostname: 192.0.2.1
    state: overridden
    config:
      - name: wan2
        fib: true

- name: Remove an owned table once no rule or route uses it
  multiwan.pbr.ros_routing_table:
    hostname: 192.0.2.1
    state: deleted
    config:
      - name: wan1

- name: Show the CLI lines without touching a router
  multiwan.pbr.ros_routing_table:
    hostname: 192.0.2.1
    state: rendered
    config:
      - name: wan2
        fib: true

- name: Read the owned tables
  multiwan.pbr.ros_routing_table:
    hostname: 192.0.2.1
    state: gathered
  register: tables
"""

RETURN = r"""
commands:
  description: The RouterOS CLI lines the module ran (or would run in check mode), in order.
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample:
    - /routing table add name=wan2 fib comment=multiwan.pbr
before:
  description: The owned tables before the run, by name; same shape as O(config).
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: []
after:
  description: The owned tables after the run (predicted in check mode), by name; same shape as O(config).
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample:
    - {name: wan2, fib: true, disabled: false}
rendered:
  description: The CLI lines that add O(config), for pasting into a RouterOS terminal.
  returned: when state is rendered
  type: list
  elements: str
  sample:
    - /routing table add name=wan2 fib comment=multiwan.pbr
gathered:
  description: The owned tables on the router, by name; same shape as O(config).
  returned: when state is gathered
  type: list
  elements: dict
  sample:
    - {name: wan2, fib: true, disabled: false}
parsed:
  description: The owned tables in O(running_config), by name; same shape as O(config).
  returned: when state is parsed
  type: list
  elements: dict
  sample:
    - {name: wan2, fib: true, disabled: false}
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_routing_table as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import resource_argument_spec, run_routeros_module

ARGUMENT_SPEC = resource_argument_spec()


def main():
    run_routeros_module(ARGUMENT_SPEC, engine.ENGINE, engine.PATHS)


if __name__ == "__main__":
    main()
