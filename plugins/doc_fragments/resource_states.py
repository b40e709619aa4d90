# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""config / state / running_config wording shared by every resource module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  running_config:
    description:
      - The device's own dump, as text, for O(state=parsed).
      - For iproute2 modules the output of the module's C(ip -json) show commands as a JSON object keyed
        like RV(gathered); for RouterOS modules the JSON list of an API C(print).
    type: str
  state:
    description:
      - What to do with O(config).
      - V(merged) adds the entries of O(config) and updates the fields they give; nothing else changes.
      - V(replaced) makes every entry named in O(config) exactly as given; fields not given are removed.
      - V(overridden) makes the owned entries exactly O(config); owned entries not in O(config) are removed.
        Entries the collection does not own are never touched.
      - V(deleted) removes the owned entries named in O(config), or every owned entry when O(config) is empty.
      - V(gathered) returns the owned entries on the device, in O(config) shape, and changes nothing.
      - V(rendered) returns the commands for O(config) without contacting the device.
      - V(parsed) reads O(running_config) instead of the device and returns it in O(config) shape.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
"""
