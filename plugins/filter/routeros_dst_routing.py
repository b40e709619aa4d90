# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter ``multiwan.pbr.routeros_dst_routing``: the role routeros_dst_routing's decisions as data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: routeros_dst_routing
short_description: Turn routeros_dst_routing inventory variables into RouterOS module configs
version_added: 1.0.0
description:
  - Computes the routing tables, routes (each WAN table's default, host routes to its monitor targets, backups
    through the other WANs), C(/routing rule) entries, netwatch entries and optional C(chain=output) mangle
    exclusions for the role C(multiwan.pbr.routeros_dst_routing), and the destinations the audit must see
    looked up with C(lookup-only-in-table).
  - Checks every config it makes with the engine of the module that gets it, offline, as that module checks
    C(state=rendered), and fails naming the inventory variable and the value (e.g. a destination's WAN is not a
    WAN, C(routeros_pbr_wans[1].distance=0)), so that the role fails before it changes anything. Nothing is
    corrected on the way.
options:
  _input:
    description: The WANs (C(routeros_pbr_wans)).
    type: list
    elements: dict
    required: true
  destinations:
    description: C(routeros_pbr_destinations).
    type: list
    elements: dict
  output_exclusions:
    description: C(routeros_pbr_output_exclusions).
    type: dict
  placement:
    description: C(routeros_pbr_rule_placement), checked only.
    type: dict
"""

EXAMPLES = r"""
- name: Compute the layout
  ansible.builtin.set_fact:
    layout: "{{ routeros_pbr_wans | multiwan.pbr.routeros_dst_routing(destinations=routeros_pbr_destinations) }}"
"""

RETURN = r"""
_value:
  description: C(tables), C(routes), C(rules), C(netwatch), C(exclusions) (module C(config) lists) and C(only_in_table).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.layout import layout


def routeros_dst_routing(wans, destinations=None, output_exclusions=None, placement=None):
    try:
        return layout(wans, destinations, output_exclusions, placement)
    except InvalidInput as error:
        raise AnsibleFilterError("multiwan.pbr.routeros_dst_routing: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"routeros_dst_routing": routeros_dst_routing}
