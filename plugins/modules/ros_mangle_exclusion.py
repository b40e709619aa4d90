#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ros_mangle_exclusion
short_description: Manage RouterOS chain=output mangle exclusions owned by multiwan.pbr
version_added: 1.0.0
description:
  - Manages C(action=return) (or C(accept)) rules in C(/ip firewall mangle) C(chain=output) on a RouterOS 7 router
    through the API, so that the router's own traffic to the LAN, through tunnel interfaces, to DNS and to gateway
    probes leaves the chain before any rule marks it; a C(mark-connection) in C(chain=output) otherwise spreads its
    mark to that traffic through conntrack (RELATED, NAT, system traffic) and sends it out of the wrong WAN.
  - The owned exclusions form one block, in O(config) order, right before the first rule of C(chain=output) that
    C(mark-connection)s, C(mark-routing)s or C(jump)s; with no such rule they sit at the end of the list and a
    later run moves them in front of one that appears. Rules the module does not own are never changed or moved.
  - An exclusion is identified by O(config[].name), kept in its C(comment) as C(multiwan.pbr:<name>) followed by
    O(config[].comment). All changes are sent pipelined in one session (API C(.tag)s).
  - Prefer C(/routing rule) (M(multiwan.pbr.ros_routing_rule)) for "the router's traffic to these destinations
    leaves by that WAN"; exclusions are for configurations that must keep marking in C(chain=output).
author:
  - multiwan.pbr contributors (@multiwan-pbr)
extends_documentation_fragment:
  - multiwan.pbr.resource_states
  - multiwan.pbr.routeros_api
  - multiwan.pbr.attributes
  - multiwan.pbr.attributes.ROUTEROS
options:
  config:
    description:
      - The exclusions, in the order they are evaluated. Each needs at least one matcher.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The exclusion's identity, stored in its C(comment) after C(multiwan.pbr:). Letters, digits and C(_.:@+/-),
            starting with a letter or digit.
        type: str
        required: true
      dst_address:
        description:
          - Destination IPv4 address or prefix (C(dst-address)), e.g. a LAN prefix or a gateway to probe.
        type: str
      dst_address_list:
        description:
          - Destination address list (C(dst-address-list)).
        type: str
      out_interface:
        description:
          - Outgoing interface (C(out-interface)), e.g. a WireGuard interface.
        type: str
      out_interface_list:
        description:
          - Outgoing interface list (C(out-interface-list)).
        type: str
      protocol:
        description:
          - IP protocol (C(protocol)), e.g. V(udp) for DNS.
        type: str
      dst_port:
        description:
          - Destination ports (C(dst-port)), e.g. V(53); needs O(config[].protocol).
        type: str
      action:
        description:
          - V(return) leaves C(chain=output); V(accept) does too and skips any chain that jumped here.
        type: str
        choices: [return, accept]
      disabled:
        description:
          - Whether the rule is disabled (C(disabled)).
        type: bool
      comment:
        description:
          - Your own text, stored in C(comment) after the ownership tag.
        type: str
notes:
  - V(rendered) cannot know the rules already on a router, so its C(add) lines append the exclusions at the end.
  - Run it on the controller (C(delegate_to=localhost) or C(connection=local)).
seealso:
  - module: multiwan.pbr.ros_mangle_audit
  - module: multiwan.pbr.ros_routing_rule
  - name: RouterOS Mangle
    description: Chains, actions and matchers of C(/ip firewall mangle).
    link: https://help.mikrotik.com/docs/spaces/ROS/pages/48660587/Mangle
"""

EXAMPLES = r"""
- name: Keep LAN, WireGuard, DNS and the gateway probe out of chain=output marking
  multiwan.pbr.ros_mangle_exclusion:
    hostname: 192.0.2.1
    username: admin
    password: "{{ routeros_password }}"
    config:
      - name: lan
        dst_address: 192.168.88.0/24
      - name: wg1
        out_interface: wg1
      - name: dns-udp
        protocol: udp
        dst_port: "53"
      - name: dns-tcp
        protocol: tcp
        dst_port: "53"
      - name: probe-wan1
        dst_address: 198.51.100.1

- name: Exactly these exclusions; owned ones not listed are removed (other mangle rules stay)
  multiwan.pbr.ros_mangle_exclusion:
    hostname: 192.0.2.1
    state: overridden
    config:
      - name: lan
        dst_address: 192.168.88.0/24

- name: Remove every owned exclusion
  multiwan.pbr.ros_mangle_exclusion:
    hostname: 192.0.2.1
    state: deleted

- name: Show the CLI lines without touching a router
  multiwan.pbr.ros_mangle_exclusion:
    hostname: 192.0.2.1
    state: rendered
    config:
      - name: lan
        dst_address: 192.168.88.0/24

- name: Read the owned exclusions
  multiwan.pbr.ros_mangle_exclusion:
    hostname: 192.0.2.1
    state: gathered
  register: exclusions
"""

RETURN = r"""
commands:
  description: The RouterOS CLI lines the module ran (or would run in check mode), in order.
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample:
    - /ip firewall mangle add chain=output action=return dst-address=192.168.88.0/24 comment=multiwan.pbr:lan
    - /ip firewall mangle move [find comment=multiwan.pbr:lan] destination=*1
before:
  description: The owned exclusions before the run, in device order; same shape as O(config).
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: []
after:
  description: The owned exclusions after the run (predicted in check mode), in device order; same shape as O(config).
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample:
    - {name: lan, action: return, dst_address: 192.168.88.0/24, disabled: false}
rendered:
  description: The CLI lines that add O(config), for pasting into a RouterOS terminal.
  returned: when state is rendered
  type: list
  elements: str
  sample:
    - /ip firewall mangle add chain=output action=return dst-address=192.168.88.0/24 comment=multiwan.pbr:lan
gathered:
  description: The owned exclusions on the router, in device order; same shape as O(config).
  returned: when state is gathered
  type: list
  elements: dict
  sample:
    - {name: lan, action: return, dst_address: 192.168.88.0/24, disabled: false}
parsed:
  description: The owned exclusions in O(running_config), in order; same shape as O(config).
  returned: when state is parsed
  type: list
  elements: dict
  sample:
    - {name: lan, action: return, dst_address: 192.168.88.0/24, disabled: false}
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_mangle_exclusion as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import resource_argument_spec, run_routeros_module

ARGUMENT_SPEC = resource_argument_spec()


def main():
    run_routeros_module(ARGUMENT_SPEC, engine.ENGINE, engine.PATHS)


if __name__ == "__main__":
    main()
