# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter ``multiwan.pbr.multiwan_layout``: the role linux_multiwan's decisions as data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: multiwan_layout
short_description: Turn linux_multiwan inventory variables into checked pbr_table, pbr_rule and nft_connmark configs
version_added: 0.1.0
description:
  - Computes table ids, marks, rule priorities and routes for the role C(multiwan.pbr.linux_multiwan)
    (its README has the priority band and how marks and table ids derive from names).
  - Checks every variable, then every config it made with the engine of the module that gets it, offline, as that
    module checks C(state=rendered). Fails naming the inventory variable and the value, e.g.
    C(multiwan_policies[2].dport='0'), so that the role fails before it changes anything.
  - A WAN's mark and table id are its own (O(_input[].mark), O(_input[].table)) or derived from its name, never from
    its position; two derived values that collide are refused, never renumbered.
options:
  _input:
    description: The list of WANs (C(multiwan_wans)).
    type: list
    elements: dict
    required: true
  policies:
    description: C(multiwan_policies).
    type: list
    elements: dict
  lan_networks:
    description: C(multiwan_lan_networks).
    type: list
    elements: str
  exclude:
    description: Devices and destinations never marked, C({devices, destinations}).
    type: dict
  settings:
    description:
      - priority_base, table_base, mask, protocol, balance, balance_metric, last_resort, nft_table, config_dir,
        sysctl_file, unit_file (the role's C(multiwan_*) variables of those names).
    type: dict
  interfaces:
    description:
      - The router's C(ip -json addr show), for WAN addresses the inventory does not give.
      - Without it, such an address is a documentation placeholder (C(192.0.2.1/32), C(2001:db8::1/128)) and the
        result serves only to check the inventory before the router is read.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Check the inventory before anything on the router is read or changed
  ansible.builtin.set_fact:
    checked: "{{ multiwan_wans | multiwan.pbr.multiwan_layout(policies=multiwan_policies) }}"

- name: Compute the layout with the router's addresses
  ansible.builtin.set_fact:
    layout: "{{ multiwan_wans | multiwan.pbr.multiwan_layout(policies=multiwan_policies, interfaces=links) }}"
"""

RETURN = r"""
_value:
  description: C(tables), C(rules), C(nft), C(sysctls), C(wans) and C(lan_networks).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.layout import layout, sysctl_changes


def multiwan_layout(wans, policies=None, lan_networks=None, exclude=None, settings=None, interfaces=None):
    try:
        return layout(wans, policies, lan_networks, exclude, settings, interfaces)
    except InvalidInput as error:
        raise AnsibleFilterError("multiwan.pbr.multiwan_layout: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"multiwan_layout": multiwan_layout, "sysctl_changes": sysctl_changes}
