#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ros_netwatch
short_description: Manage RouterOS netwatch entries owned by multiwan.pbr
version_added: 1.0.0
description:
  - Manages C(/tool netwatch) entries of a RouterOS 7 router through the API. Netwatch probes a host every
    O(config[].interval) and runs O(config[].up_script) when the host starts answering and O(config[].down_script)
    when it stops, e.g. to log, notify, or switch something that routes cannot express.
  - An entry is identified by O(config[].name), kept in its C(comment) as C(multiwan.pbr:<name>) followed by
    O(config[].comment); two entries may watch one host. Entries without the tag are never changed or removed.
  - RouterOS applies its defaults (type V(simple), interval V(10s), timeout V(3s)) whether or not an entry names
    them; durations compare by length, so V(60s) and V(1m) are the same.
  - Netwatch's probes take the router's own routing (its C(/routing rule) entries, then C(main)); to watch a host
    through one WAN, route it there (M(multiwan.pbr.ros_routing_rule), or the role C(routeros_dst_routing)).
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
      - The netwatch entries.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The netwatch entry's identity, stored in its C(comment) after C(multiwan.pbr:). Letters, digits and C(_.:@+/-),
            starting with a letter or digit.
        type: str
        required: true
      host:
        description:
          - The address probed (C(host)), IPv4 or IPv6.
          - Required unless O(state=deleted) or O(state=merged) of an entry that exists.
        type: str
      type:
        description:
          - 'The probe (C(type)): V(simple) and V(icmp) ping, V(tcp-conn) connects, V(http-get)/V(https-get) fetch,
            V(dns) asks; RouterOS''s default is V(simple).'
        type: str
        choices: [dns, http-get, https-get, icmp, simple, tcp-conn]
      interval:
        description:
          - Time between probes (C(interval)) as RouterOS writes durations (V(10s), V(1m30s), V(00:01:30)) or a number
            of seconds; at least V(1s), RouterOS's default is V(10s).
        type: str
      timeout:
        description:
          - How long a probe waits for an answer (C(timeout)), a duration as for O(config[].interval); at least V(10ms),
            RouterOS's default is V(3s).
        type: str
      up_script:
        description:
          - RouterOS script source run when the host starts answering (C(up-script)).
        type: str
      down_script:
        description:
          - RouterOS script source run when the host stops answering (C(down-script)).
        type: str
      disabled:
        description:
          - Whether the entry is disabled (C(disabled)).
        type: bool
      comment:
        description:
          - Your own text, stored in C(comment) after the ownership tag.
        type: str
seealso:
  - module: multiwan.pbr.ros_route
  - name: RouterOS Netwatch
    description: Probe types, defaults and scripts.
    link: https://help.mikrotik.com/docs/x/iAB-
"""

EXAMPLES = r"""
- name: Log when the fibre WAN's monitor target stops and starts answering
  multiwan.pbr.ros_netwatch:
    hostname: 192.0.2.1
    username: admin
    password: "{{ routeros_password }}"
    config:
      - name: fiber-probe
        host: 198.18.2.2
        type: icmp
        interval: 30s
        down_script: ':log warning "fiber: 198.18.2.2 stopped answering"'
        up_script: ':log info "fiber: 198.18.2.2 answers again"'

- name: Keep exactly these owned entries (hand-made netwatch entries stay)
  multiwan.pbr.ros_netwatch:
    hostname: 192.0.2.1
    state: overridden
    config:
      - name: fiber-probe
        host: 198.18.2.2

- name: Remove one owned entry
  multiwan.pbr.ros_netwatch:
    hostname: 192.0.2.1
    state: deleted
    config:
      - name: fiber-probe

- name: Show the CLI lines without touching a router
  multiwan.pbr.ros_netwatch:
    hostname: 192.0.2.1
    state: rendered
    config:
      - name: cell-probe
        host: 198.18.3.3
        down_script: ":log warning cell-down"

- name: Read the owned entries
  multiwan.pbr.ros_netwatch:
    hostname: 192.0.2.1
    state: gathered
  register: netwatch
"""

RETURN = r"""
commands:
  description: The RouterOS CLI lines the module ran (or would run in check mode), in order.
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample:
    - /tool netwatch add host=198.18.2.2 type=icmp interval=30s comment=multiwan.pbr:fiber-probe
before:
  description: The owned entries before the run; same shape as O(config).
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: []
after:
  description: The owned entries after the run (predicted in check mode); same shape as O(config).
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample:
    - {name: fiber-probe, host: 198.18.2.2, type: icmp, interval: 30s, timeout: 3s, disabled: false}
rendered:
  description: The CLI lines that add O(config), for pasting into a RouterOS terminal.
  returned: when state is rendered
  type: list
  elements: str
  sample:
    - /tool netwatch add host=198.18.3.3 down-script=":log warning cell-down" comment=multiwan.pbr:cell-probe
gathered:
  description: The owned entries on the router; same shape as O(config).
  returned: when state is gathered
  type: list
  elements: dict
  sample:
    - {name: fiber-probe, host: 198.18.2.2, type: icmp, interval: 30s, timeout: 3s, disabled: false}
parsed:
  description: The owned entries in O(running_config); same shape as O(config).
  returned: when state is parsed
  type: list
  elements: dict
  sample:
    - {name: fiber-probe, host: 198.18.2.2, type: icmp, interval: 30s, timeout: 3s, disabled: false}
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_netwatch as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import resource_argument_spec, run_routeros_module

ARGUMENT_SPEC = resource_argument_spec()


def main():
    run_routeros_module(ARGUMENT_SPEC, engine.ENGINE, engine.PATHS)


if __name__ == "__main__":
    main()
