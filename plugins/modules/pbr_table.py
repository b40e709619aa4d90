#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pbr_table
short_description: Manage routing tables and their routes owned by multiwan.pbr
version_added: 0.1.0
description:
  - Manages routing table names (C(<id> <name>) lines in a C(rt_tables.d) file of its own, O(tables_file)) and the
    routes in any table (C(ip route ... table <id>)), IPv4 and IPv6, unicast with next hops, multipath with weights,
    and C(throw), C(blackhole), C(unreachable), C(prohibit).
  - A route is identified by its family, table, destination and metric, the kernel's own identity; the same
    destination at another metric is another route. A table name is identified by its name.
  - The module owns the routes whose C(protocol) equals O(protocol) and every line of O(tables_file). Other routes in
    the same tables (the kernel's connected routes, DHCP, static routes) and names in other files are never changed,
    with O(state=overridden) too; the user's C(rt_tables) is never rewritten. Table V(main) may hold owned routes
    (a weighted multipath default) beside everything else there.
  - One run reads the host once (C(ip -N -json route show table all) for each family, and the iproute2 name files)
    and applies its plan as one C(ip -batch) per family, additions and replacements (C(ip route replace), atomic in
    the kernel) before deletions. When a line fails, the routes and names this run changed are put back, the
    names file byte for byte, and the module fails with that line and iproute2's message.
  - Bad input (a bad prefix, a family mix, a reserved id, an id or name that another rt_tables file gives to
    another table, an unknown table name) fails before anything is changed, naming the field and the value.
author:
  - multiwan.pbr contributors (@multiwan-pbr)
extends_documentation_fragment:
  - multiwan.pbr.resource_states
  - multiwan.pbr.attributes
  - multiwan.pbr.attributes.LINUX
requirements:
  - iproute2 on the target (C(ip -json), C(ip -batch))
  - netaddr on the target
seealso:
  - module: multiwan.pbr.pbr_rule
  - name: ip-route(8)
    description: The manual page of C(ip route).
    link: https://man7.org/linux/man-pages/man8/ip-route.8.html
options:
  protocol:
    description:
      - The ownership tag of routes. Routes are added with C(proto) set to it, and only routes whose protocol equals
        it are ever changed or removed.
      - A number 0..255 or a name from C(rt_protos)/C(rt_protos.d). The numbers iproute2 names by itself are refused
        (0 C(unspec), 2 C(kernel), 3 C(boot), 4 C(static), 16 C(dhcp), 186 C(bgp) ...), because the kernel and other
        tools put them on the routes they make. The default, C(211), is the same as M(multiwan.pbr.pbr_rule)'s; change
        it only together with every other run that manages the same host.
    type: str
    default: '211'
  tables_file:
    description:
      - The file of table names the module owns, a C(*.conf) in C(/etc/iproute2/rt_tables.d) (where C(ip) reads
        names). It is written through a temporary file and an atomic rename.
    type: path
    default: /etc/iproute2/rt_tables.d/multiwan_pbr.conf
  config:
    description:
      - The tables. What happens with them depends on O(state).
      - With O(state=replaced), every table in O(config) keeps exactly the owned routes listed for it.
      - With O(state=deleted), an entry with O(config[].routes) removes those routes; an entry without removes the
        table's owned routes and its name from O(tables_file).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The table's name (C(isp_a)), or its id as a number (1..4294967295) when it has no name.
          - With O(config[].id), the name goes into O(tables_file) unless another rt_tables file already gives the
            same name the same id. Without it, the name must be known already (O(tables_file), C(rt_tables), another
            C(rt_tables.d) file, or V(main), V(local), V(default)); the entry then manages routes only.
          - With O(state=deleted), a name that no file knows (any more) has nothing to delete.
        type: str
        required: true
      id:
        description:
          - The table's id, 1..2147483647, for a name of O(tables_file); iproute2 ignores a name whose id is higher
            (a table with such an id is named by its number in O(config[].name)). The reserved ids 0, 253, 254 and
            255 are refused for new names, and so are an id or a name that another rt_tables file gives to another
            table.
        type: int
      routes:
        description:
          - The owned routes of the table.
        type: list
        elements: dict
        suboptions:
          dst:
            description:
              - The destination prefix, or V(default). Host bits are dropped (V(192.0.2.7/24) is V(192.0.2.0/24));
                an address without a length is a host route.
            type: str
            required: true
          type:
            description:
              - The route type. V(throw) ends the lookup in this table (the next C(ip rule) is tried); V(blackhole),
                V(unreachable) and V(prohibit) drop the packet. Only V(unicast) has next hops.
            type: str
            default: unicast
            choices: [unicast, throw, blackhole, unreachable, prohibit]
          via:
            description:
              - The gateway (C(via)). Needs O(config[].routes[].dev).
            type: str
          dev:
            description:
              - The outgoing interface (C(dev)). With O(config[].routes[].via) it is required, so that the route reads
                back as written; alone it makes a route on the link.
            type: str
          src:
            description:
              - The preferred source address (C(src)).
            type: str
          metric:
            description:
              - The metric (C(metric)), part of the route's identity. Defaults to 0 for IPv4 and to 1024 for IPv6
                (the kernel has no IPv6 metric 0).
            type: int
          scope:
            description:
              - The scope (C(scope)) of an IPv4 route. Defaults to V(link) for a route with O(config[].routes[].dev)
                only and to V(global) otherwise, as C(ip route add) does; IPv6 routes are always V(global).
            type: str
            choices: [global, site, link, host]
          onlink:
            description:
              - Pretend the gateway is on the link even when no prefix of the interface covers it (C(onlink)).
            type: bool
            default: false
          nexthops:
            description:
              - Two or more next hops of a multipath route (C(nexthop via ... dev ... weight ...)); the route then
                has no O(config[].routes[].via) or O(config[].routes[].dev) of its own. Their order does not matter.
            type: list
            elements: dict
            suboptions:
              via:
                description:
                  - The gateway of this next hop; required for IPv6.
                type: str
              dev:
                description:
                  - The interface of this next hop.
                type: str
              weight:
                description:
                  - The share of flows of this next hop, 1..256.
                type: int
                default: 1
              onlink:
                description:
                  - As O(config[].routes[].onlink), for this next hop.
                type: bool
                default: false
          family:
            description:
              - The address family. Defaults to the family of the addresses in the route, and to V(ipv4) when it has
                none (V(default) with O(config[].routes[].dev) only); a route that mixes families is refused.
            type: str
            choices: [ipv4, ipv6]
notes:
  - Routes are written with numeric table ids, so they never depend on the names file. Name changes appear in
    RV(commands) as C(rt_tables add|replace|del <id> <name>) lines, followed by the file as a comment; the module
    applies them to O(tables_file) itself.
  - The kernel keeps one route per family, table, destination and metric. A wanted route whose identity is held by
    a route of another owner is refused before anything changes; give it another metric.
  - The routes of table C(local) that the kernel makes (local, broadcast, multicast) are not read.
  - O(running_config) for O(state=parsed) is a JSON object with C(routes4) and C(routes6), the outputs of
    C(ip -N -json -4 route show table all) and C(-6), and optionally C(rt_tables_d), a mapping of file name to
    text of C(rt_tables.d), so that names of O(tables_file) are read too.
"""

EXAMPLES = r"""
- name: Two ISP tables and a weighted multipath default in main
  multiwan.pbr.pbr_table:
    config:
      - name: isp_a
        id: 101
        routes:
          - {dst: default, via: 198.51.100.1, dev: wan0}
          - {dst: 10.0.0.0/8, type: throw}
          - {dst: "2001:db8:99::/48", type: throw}
      - name: main
        routes:
          - dst: default
            nexthops: [{via: 198.51.100.1, dev: wan0, weight: 1}, {via: 203.0.113.1, dev: wan1, weight: 3}]
    state: merged

- name: Make the owned names and routes exactly these (connected, DHCP and static routes stay)
  multiwan.pbr.pbr_table:
    config:
      - name: isp_b
        id: 102
        routes:
          - {dst: default, via: 203.0.113.1, dev: wan1}
          - {dst: default, dev: wan1, family: ipv6}
    state: overridden

- name: Remove table isp_a (its owned routes and its name)
  multiwan.pbr.pbr_table:
    config:
      - name: isp_a
    state: deleted

- name: Show the commands without touching a host
  multiwan.pbr.pbr_table:
    config:
      - name: isp_a
        id: 101
        routes:
          - {dst: default, via: 198.51.100.1, dev: wan0}
    state: rendered

- name: Read the owned names and routes
  multiwan.pbr.pbr_table:
    state: gathered
  register: tables
"""

RETURN = r"""
commands:
  description:
    - The lines the plan runs (in check mode, would run), additions and replacements first, then deletions.
    - C(ip) lines, and C(rt_tables add|replace|del <id> <name>) lines (with the file as a comment) that the
      module applies to O(tables_file).
  returned: when O(state) changes the device
  type: list
  elements: str
  sample:
    - "rt_tables add 101 isp_a # /etc/iproute2/rt_tables.d/multiwan_pbr.conf"
    - "ip -4 route add default via 198.51.100.1 dev wan0 table 101 proto 211"
    - "ip -6 route del 2001:db8:99::/48 table 101 metric 1024 proto 211"
before:
  description: The owned names and routes before the run, same shape as O(config).
  returned: when O(state) changes the device
  type: list
  elements: dict
  sample: [{"name": "isp_a", "id": 101, "routes": [{"dst": "default", "via": "198.51.100.1", "dev": "wan0"}]}]
after:
  description: The owned names and routes after the run (in check mode, as predicted), same shape as O(config).
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample: [{"name": "main", "routes": [{"dst": "default", "nexthops": [
            {"via": "198.51.100.1", "dev": "wan0", "weight": 1}, {"via": "203.0.113.1", "dev": "wan1", "weight": 3}]}]}]
rendered:
  description: The lines for O(config) as if the host had none of it, made without contacting the host.
  returned: when O(state) is V(rendered)
  type: list
  elements: str
  sample:
    - "rt_tables add 101 isp_a # /etc/iproute2/rt_tables.d/multiwan_pbr.conf"
    - "ip -4 route add default via 198.51.100.1 dev wan0 table 101 proto 211"
gathered:
  description: The owned names and routes on the host, same shape as O(config).
  returned: when O(state) is V(gathered)
  type: list
  elements: dict
  sample: [{"name": "isp_a", "id": 101, "routes": [{"dst": "10.0.0.0/8", "type": "throw"}]}]
parsed:
  description: The owned names and routes of O(running_config), same shape as O(config).
  returned: when O(state) is V(parsed)
  type: list
  elements: dict
  sample: [{"name": "103", "routes": [{"dst": "default", "dev": "wan1", "family": "ipv6"}]}]
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import STATE_OPTIONS, run_module
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_table as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import DEFAULT_PROTOCOL
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.runners import LIBRARIES, pbr_table_runner

# ``config`` is a plain list of dicts here: the core checks its entries against engine.CONFIG_SPEC
# (documented above), with ansible-core's validator, at a quarter of AnsibleModule's cost per entry.
ARGUMENT_SPEC = dict(
    STATE_OPTIONS,
    protocol=dict(type="str", default=DEFAULT_PROTOCOL),
    tables_file=dict(type="path", default=engine.DEFAULT_TABLES_FILE),
)


def main():
    run_module(ARGUMENT_SPEC, engine.ENGINE, pbr_table_runner, libraries=LIBRARIES)


if __name__ == "__main__":
    main()
