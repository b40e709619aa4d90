#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ros_mangle_audit
short_description: Find connection-mark pollution and policy routing mistakes on a RouterOS router
version_added: 1.0.0
description:
  - Reads C(/ip firewall mangle), C(/routing rule), C(/routing table) and C(/ip route) of a RouterOS 7 router
    through the API, one C(print) per menu, and reports what makes the router's own traffic leave by the wrong WAN.
  - "Errors: C(mark-connection) reached from C(chain=output) with no C(action=return)/C(accept) exclusions before
    it (conntrack spreads the mark to RELATED, NAT and system traffic such as WireGuard and DNS); C(mark-routing)
    in output keyed on a connection mark set in output, with no exclusions; routing marks and rule tables that name
    no table, or a table without C(fib) or disabled; a C(lookup-only-in-table) rule that sends a monitor target (the
    gateway of a route with C(check-gateway)) into the table whose route to it is that very route, so the probe
    follows what it measures and cannot leave once the route is down."
  - "Warnings: exclusions that miss LAN/gateway addresses, tunnel interfaces or DNS; tables without a default route;
    C(action=lookup) rules whose table has no default route (traffic falls through to C(main)); rules no packet
    reaches because an earlier rule matches all they match and always decides; destinations in O(only_in_table)
    whose rule uses C(action=lookup); the same monitor loop under C(action=lookup) (the probe leaves by C(main)
    while the route is down); C(lookup-only-in-table) rules whose table has no default route that RouterOS
    prints active right now (its gateways or monitor targets do not answer), so their traffic is unreachable."
  - Each finding names the menu, the entry's position (its number in C(print), 0-based) and C(.id), and explains
    itself in one line; RV(summary) is the same as text lines for the play output.
  - Never writes to the router. Rules in user chains are followed one jump deep from C(chain=output).
author:
  - multiwan.pbr contributors (@multiwan-pbr)
extends_documentation_fragment:
  - multiwan.pbr.routeros_api
  - multiwan.pbr.attributes.ROUTEROS
  - multiwan.pbr.attributes.READ_ONLY
options:
  hostname:
    description: The RouterOS device's address or name.
    type: str
    required: true
  fail_on_error:
    description:
      - Fail the task when there is at least one finding of severity C(error); RV(findings) and RV(summary)
        are returned either way.
    type: bool
    default: false
  only_in_table:
    description:
      - Destinations that must never fall back to C(main), i.e. whose C(/routing rule) must use
        C(action=lookup-only-in-table). A matching rule with C(action=lookup) is reported, and so is a destination
        without an enabled rule.
    type: list
    elements: dict
    default: []
    suboptions:
      dst_address:
        description: The rule's C(dst-address), an address or a prefix.
        type: str
        required: true
      table:
        description: The table the rule must look up; any table when omitted.
        type: str
notes:
  - Run it on the controller (C(delegate_to=localhost) or C(connection=local)), like every RouterOS API module.
seealso:
  - module: multiwan.pbr.ros_routing_rule
  - module: multiwan.pbr.ros_mangle_exclusion
  - name: The audit's findings, explained
    description: docs/routeros_dst_routing.md in the collection.
    link: https://github.com/multiwan/pbr/blob/main/docs/routeros_dst_routing.md
"""

EXAMPLES = r"""
- name: Audit a router and show what was found
  multiwan.pbr.ros_mangle_audit:
    hostname: 192.0.2.1
    username: admin
    password: "{{ routeros_password }}"
  register: audit

- name: Print the summary
  ansible.builtin.debug:
    msg: "{{ audit.summary }}"

- name: Fail on pollution; these destinations must never fall back to main
  multiwan.pbr.ros_mangle_audit:
    hostname: 192.0.2.1
    fail_on_error: true
    only_in_table:
      - dst_address: 203.0.113.0/24
        table: cell

- name: Only the errors
  ansible.builtin.debug:
    msg: "{{ audit.findings | selectattr('severity', 'equalto', 'error') | list }}"
"""

RETURN = r"""
findings:
  description: What the audit found, errors first, then by menu and position.
  returned: always
  type: list
  elements: dict
  contains:
    severity:
      description: C(error), C(warning) or C(info).
      type: str
    code:
      description: The kind of finding, e.g. C(output-connmark-unguarded).
      type: str
    path:
      description: The API menu of the entry, e.g. C(/ip/firewall/mangle).
      type: str
    position:
      description: The entry's number in C(print), 0-based; null for a finding about a missing rule.
      type: int
    id:
      description: The entry's C(.id); null for a finding about a missing rule.
      type: str
    explanation:
      description: One line on what is wrong and why it matters.
      type: str
  sample:
    - severity: error
      code: output-connmark-unguarded
      path: /ip/firewall/mangle
      position: 1
      id: "*2"
      explanation: "mark-connection new-connection-mark=cell-wan-mark in chain=output with no action=return/accept
        exclusions before it: ..."
summary:
  description: A count line, then one line per finding.
  returned: always
  type: list
  elements: str
  sample:
    - 1 errors, 0 warnings, 0 notes in 2 mangle rules, 1 routing rules, 2 routing tables, 3 routes
    - "ERROR   /ip/firewall/mangle #1 (*2) output-connmark-unguarded: mark-connection ..."
counts:
  description: The number of findings per severity.
  returned: always
  type: dict
  sample: {error: 1, warning: 0, info: 0}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_mangle_audit as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import reported_as_failure
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import (
    CONNECTION_OPTIONS, HAS_LIBROUTEROS, LIBROUTEROS_IMPORT_ERROR, session)

ARGUMENT_SPEC = dict(
    CONNECTION_OPTIONS,
    hostname=dict(type="str", required=True),
    fail_on_error=dict(type="bool", default=False),
    only_in_table=dict(type="list", elements="dict", default=[], options=dict(
        dst_address=dict(type="str", required=True),
        table=dict(type="str"),
    )),
)


def main():
    module = AnsibleModule(ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_LIBROUTEROS:
        module.fail_json(msg=missing_required_lib("librouteros"), exception=str(LIBROUTEROS_IMPORT_ERROR))
    with reported_as_failure(module), session(module.params, engine.PATHS) as runner:
        wanted = engine.expectations(module.params["only_in_table"])
        dump = runner.dump()
    findings = engine.audit(dump, wanted)
    result = dict(changed=False, findings=[finding.as_dict() for finding in findings],
                  summary=engine.summary(findings, dump), counts=engine.counts(findings))
    if module.params["fail_on_error"] and result["counts"]["error"]:
        module.fail_json(msg="the audit found %d errors: %s" % (result["counts"]["error"], result["summary"][1]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
