# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup ``multiwan.pbr.agent_bundle``: the failover agent as one file, built on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: agent_bundle
short_description: Build the multiwan.pbr failover agent as a zipapp and return its path on the controller
version_added: 1.1.0
description:
  - Builds the agent that the role M(multiwan.pbr.linux_multiwan) installs on a router, from this collection's own
    C(module_utils) (the same engine code the modules run), as a Python zipapp, and returns the path of the file on
    the controller, for M(ansible.builtin.copy).
  - The file depends only on the collection's source, so copying an unchanged agent reports no change.
options:
  interpreter:
    description: The Python the zipapp's first line names on the router.
    type: str
    default: /usr/bin/python3
  output:
    description:
      - V(path) returns the file's path on the controller, for M(ansible.builtin.copy).
      - V(base64) returns its content, base64, for M(multiwan.pbr.linux_router)'s O(multiwan.pbr.linux_router#module:agent.bundle).
    type: str
    choices: [path, base64]
    default: path
    version_added: 1.2.0
"""

EXAMPLES = r"""
- name: Install the agent
  ansible.builtin.copy:
    src: "{{ lookup('multiwan.pbr.agent_bundle') }}"
    dest: /usr/local/lib/multiwan-pbr/multiwan-pbr.pyz
    mode: "0755"

- name: Converge the router, the agent included
  multiwan.pbr.linux_router:
    agent:
      bundle: "{{ lookup('multiwan.pbr.agent_bundle', output='base64') }}"
"""

RETURN = r"""
_raw:
  description: The path of the zipapp on the controller, or its content in base64 (O(output=base64)).
  type: list
  elements: str
"""

import base64
import os

from ansible import constants
from ansible.plugins.lookup import LookupBase

from ansible_collections.multiwan.pbr.plugins.module_utils.agent.bundle import INTERPRETER, write_bundle

MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        directory = os.path.join(os.path.expanduser(constants.DEFAULT_LOCAL_TMP), "multiwan-pbr-agent")
        os.makedirs(directory, exist_ok=True)
        path = write_bundle(MODULE_UTILS, directory, self.get_option("interpreter") or INTERPRETER)
        if self.get_option("output") == "base64":
            with open(path, "rb") as handle:
                return [base64.b64encode(handle.read()).decode("ascii")]
        return [path]
