# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter ``multiwan.pbr.multiwan_layout``: the role linux_multiwan's decisions as data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: multiwan_layout
short_description: Turn linux_multiwan inventory variables into pbr_table, pbr_rule and nft_connmark configs
version_added: 0.1.0
description:
  - Computes table ids, marks, rule priorities and routes for the role M(multiwan.pbr.linux_multiwan)
    (role documentation has the priority band and table-id base).
  - Fails naming the variable and the value when the input is inconsistent.
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
    description: priority_base, table_base, mask, protocol, balance, balance_metric, last_resort, nft_table.
    type: dict
  interfaces:
    description: The router's C(ip -json addr show), for WAN addresses the inventory does not give.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Compute the layout
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
