#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: linux_router
short_description: Converge a whole Linux multi-WAN router in one task (what the role linux_multiwan runs)
version_added: 1.2.0
description:
  - Does in one module process what M(multiwan.pbr.pbr_table), M(multiwan.pbr.nft_connmark) and
    M(multiwan.pbr.pbr_rule) do with the role's layout, plus the kernel settings, the boot-time restore and the
    failover agent, so that a converge is one round trip to the router instead of some twenty.
  - The order keeps the collection's promise (bad input changes nothing). First what the router lacks
    (RV(missing)) is reported and nothing else happens. Then the router's addresses are read and the layout is
    computed (C(multiwan.pbr.multiwan_layout), the same code). Then every resource is planned against the router
    exactly as its own module plans it in check mode, and the files, kernel settings and services are read and
    compared. A refusal at any of these steps fails the run before anything changes.
  - Then the changes, in this order, each resource through the same core as its module. Kernel settings, routing
    tables, the nftables table, rules, the boot-time restore files and C(multiwan-pbr.service), the failover agent
    (its zipapp, configuration, unit; started, restarted when its code or unit changed, reloaded when only its
    configuration did).
  - When a change fails, every step the run had started is undone, last first, from what was read before it ran,
    and read back (RV(applied), RV(rolled_back)); C(systemctl) actions are the exception, and are named.
  - With O(state=absent), everything the collection made goes; files it did not write (the hooks in
    C(hooks_dir)) stay. Kernel settings already live are left as they are.
  - The options take the role's inventory variables as they are; C(roles/linux_multiwan/meta/argument_specs.yml)
    documents each of them.
author:
  - multiwan.pbr contributors (@multiwan-pbr)
extends_documentation_fragment:
  - multiwan.pbr.attributes
  - multiwan.pbr.attributes.LINUX
requirements:
  - On the target, iproute2 (C(ip -json)), nftables, conntrack, sysctl, and Python's netaddr.
options:
  state:
    description:
      - V(present) converges the router to the layout; V(absent) removes everything the collection made.
    type: str
    choices: [present, absent]
    default: present
  wans:
    description: C(multiwan_wans).
    type: list
    elements: dict
    default: []
  policies:
    description: C(multiwan_policies).
    type: list
    elements: dict
    default: []
  lan_networks:
    description: C(multiwan_lan_networks).
    type: list
    elements: str
    default: []
  exclude:
    description: C(multiwan_exclude_devices) and C(multiwan_exclude_destinations), as C(devices) and C(destinations).
    type: dict
    default: {}
  settings:
    description:
      - The role's single-valued variables without their C(multiwan_) prefix (C(priority_base), C(table_base),
        C(mask), C(protocol), C(balance), C(balance_metric), C(last_resort), C(nft_table), C(config_dir),
        C(sysctl_file), C(unit_file), C(failover), C(agent_protocol), C(status_file), C(hooks_dir), C(hook_timeout),
        C(metrics_file), C(metrics_listen)); each omitted one takes the role's default.
    type: dict
    default: {}
  nft_adopt:
    description: C(multiwan_nft_adopt), the O(multiwan.pbr.nft_connmark#module:adopt) option.
    type: bool
    default: false
  persist:
    description: Write the boot-time restore and enable C(multiwan-pbr.service) (C(multiwan_persist)).
    type: bool
    default: true
  units:
    description:
      - The text of the systemd units, as the role renders them from its templates. Required for what is installed.
    type: dict
    default: {}
    suboptions:
      restore:
        description: C(multiwan-pbr.service), written to C(settings.unit_file) when O(persist) is true.
        type: str
      agent:
        description: C(multiwan-pbr-agent.service), written to O(agent.unit_file) when C(settings.failover) is true.
        type: str
  agent:
    description:
      - The failover agent, installed when C(settings.failover) is true and O(state=present), removed otherwise.
    type: dict
    default: {}
    suboptions:
      path:
        description: Where the zipapp goes (C(multiwan_agent_path)).
        type: path
        default: /usr/local/lib/multiwan-pbr/multiwan-pbr.pyz
      bundle:
        description:
          - The zipapp, base64 (C(lookup('multiwan.pbr.agent_bundle', output='base64'))). Required to install it.
          - Not logged (it is large, not secret).
        type: str
      link:
        description: The command C(multiwan-pbr) on the PATH, a symbolic link to O(agent.path).
        type: path
        default: /usr/local/sbin/multiwan-pbr
      unit_file:
        description: Where O(units.agent) goes.
        type: path
        default: /etc/systemd/system/multiwan-pbr-agent.service
  report_missing:
    description:
      - When the router lacks a command or netaddr, return them in RV(missing) without failing (and change nothing),
        so that the role can install them and run again. Otherwise such a run fails naming them.
    type: bool
    default: false
notes:
  - Needs root (C(become)) to change anything; check mode reads only.
seealso:
  - module: multiwan.pbr.pbr_table
  - module: multiwan.pbr.pbr_rule
  - module: multiwan.pbr.nft_connmark
"""

EXAMPLES = r"""
# The role linux_multiwan runs this; its tasks/main.yml shows every option filled from the inventory.
- name: Converge a router with two WANs, without the failover agent
  multiwan.pbr.linux_router:
    wans:
      - {name: wan1, device: eth1, gateway: 198.51.100.1}
      - {name: wan2, device: eth2, gateway: 203.0.113.1, weight: 2}
    policies:
      - {name: https_via_wan2, wan: wan2, ipproto: tcp, dport: "443"}
    lan_networks: [192.168.10.0/24]
    settings: {failover: false}
    units:
      restore: "{{ lookup('ansible.builtin.template', 'multiwan-pbr.service.j2') }}"
"""

RETURN = r"""
missing:
  description: What the router lacks (commands, C(python3-netaddr)); nothing was read or changed when not empty.
  returned: always
  type: list
  elements: str
tables:
  description: The M(multiwan.pbr.pbr_table) result of the WANs' and policies' tables (C(commands), C(before), C(after)).
  returned: when the router has what it needs
  type: dict
nft:
  description: The M(multiwan.pbr.nft_connmark) result.
  returned: when the router has what it needs
  type: dict
rules:
  description: The M(multiwan.pbr.pbr_rule) result.
  returned: when the router has what it needs
  type: dict
agent_routes:
  description: The M(multiwan.pbr.pbr_table) result of removing the failover agent's routes (its tag only).
  returned: when the agent is not wanted
  type: dict
sysctls:
  description: The kernel settings set (C(key=value)).
  returned: when the router has what it needs
  type: list
  elements: str
files:
  description: The files written or removed.
  returned: when the router has what it needs
  type: list
  elements: str
directories:
  description: The directories made.
  returned: when the router has what it needs
  type: list
  elements: str
services:
  description: The C(systemctl) commands run (or, in check mode, that would run).
  returned: when the router has what it needs
  type: list
  elements: str
wans:
  description: The WANs as the layout made them (table, mark, addresses).
  returned: when the router has what it needs
  type: list
  elements: dict
applied:
  description:
    - When a step failed, the steps of the same run that had changed the router before it. Each was undone, last
      first, from what was read before it ran (RV(rolled_back) says whether that was verified).
  returned: failure
  type: list
  elements: str
rolled_back:
  description:
    - When a step failed, whether every step the run had started was undone and a fresh read found the router's
      kernel settings, files, directories, link and owned rules, routes and nftables table as before the run.
      C(systemctl) actions cannot be undone; a failure after one is never C(rolled_back).
  returned: failure
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError, InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import exit_with_result, reported_as_failure
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.layout import DEFAULTS
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.router import (
    ConvergeFailed, converge, missing_requirements)

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    wans=dict(type="list", elements="dict", default=[]),
    policies=dict(type="list", elements="dict", default=[]),
    lan_networks=dict(type="list", elements="str", default=[]),
    exclude=dict(type="dict", default={}),
    settings=dict(type="dict", default={}),
    nft_adopt=dict(type="bool", default=False),
    persist=dict(type="bool", default=True),
    units=dict(type="dict", default={}, options=dict(restore=dict(type="str"), agent=dict(type="str"))),
    agent=dict(type="dict", default={}, options=dict(
        path=dict(type="path", default="/usr/local/lib/multiwan-pbr/multiwan-pbr.pyz"),
        bundle=dict(type="str", no_log=True),
        link=dict(type="path", default="/usr/local/sbin/multiwan-pbr"),
        unit_file=dict(type="path", default="/etc/systemd/system/multiwan-pbr-agent.service"),
    )),
    report_missing=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(ARGUMENT_SPEC, supports_check_mode=True)
    missing = missing_requirements(module)
    if missing and module.params["report_missing"]:
        module.exit_json(changed=False, missing=missing)
    if missing:
        module.fail_json(msg="the router lacks %s (the role installs them: multiwan_install_packages)"
                         % ", ".join(missing), missing=missing)
    with reported_as_failure(module):
        try:
            result = converge(module, options(module.params))
        except ConvergeFailed as failure:
            _fail_after(module, failure)
    exit_with_result(module, dict(result, missing=[]))


def options(params):
    """The module's options with the role's defaults under every setting, and what installing needs checked."""
    checked = dict(params, settings=dict(DEFAULTS, **params["settings"]),
                   units=params["units"] or {}, agent=params["agent"] or {})
    present, settings = checked["state"] == "present", checked["settings"]
    if present and checked["persist"] and not checked["units"].get("restore"):
        raise InvalidInput("units.restore", None, "is required with persist: true")
    if present and settings["failover"]:
        for field, value in (("units.agent", checked["units"].get("agent")), ("agent.bundle", checked["agent"].get("bundle"))):
            if not value:
                raise InvalidInput(field, None, "is required with settings.failover: true")
    return checked


def _fail_after(module, failure):
    """A step failed: what it says, which steps had changed the router, and whether their undo was read back."""
    error = failure.error
    extra = dict(applied=failure.applied, rolled_back=failure.rolled_back, changed=not failure.rolled_back)
    if isinstance(error, ApplyFailed):
        msg = "%s failed: %s" % (error.command, error.device_message)
        extra.update(command=error.command, device_message=error.device_message)
    elif isinstance(error, (InvalidInput, DeviceError)):
        msg = str(error)
    else:
        msg = "%s: %s" % (type(error).__name__, error)
    if failure.undo_errors:
        msg += "; the router was NOT verified to be as before the run: %s" % "; ".join(failure.undo_errors)
    elif failure.applied:
        msg += " (undone, and read back as before: %s)" % ", ".join(failure.applied)
    module.fail_json(msg=msg, **extra)


if __name__ == "__main__":
    main()
