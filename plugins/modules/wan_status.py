#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wan_status
short_description: Report the WAN health the multiwan.pbr failover agent sees on a Linux router
version_added: 1.1.0
description:
  - Reads the status the failover agent of M(multiwan.pbr.linux_multiwan) keeps on the router (the same document as
    C(multiwan-pbr status --json)) and returns it, for playbooks, checks before a change window and monitoring.
  - Each WAN has its C(state) (C(up) or C(down)), C(since), the C(reason) and C(detail) of its last transition,
    C(loss) (percent over the tracking window), C(latency_ms) (median round trip), C(transitions), and the same per
    address family with the probes' counters, targets, addresses and gateway.
  - Never changes anything. When the agent is not running, or its status is older than three of its write periods
    (RV(stale)), the module says so; O(fail_when_stale) makes that a failure.
author:
  - multiwan.pbr contributors (@multiwan-pbr)
extends_documentation_fragment:
  - multiwan.pbr.attributes.LINUX
  - multiwan.pbr.attributes.READ_ONLY
options:
  status_file:
    description:
      - The status file the agent writes (its configuration's C(status_file)).
    type: path
    default: /run/multiwan-pbr/status.json
  fail_when_stale:
    description:
      - Fail when there is no status file or it is stale (the agent is not running).
    type: bool
    default: false
  fail_when_down:
    description:
      - Fail when any WAN is C(down); RV(wans) is returned either way.
    type: bool
    default: false
seealso:
  - module: multiwan.pbr.pbr_table
  - name: The failover guide
    description: docs/failover.md in the collection.
    link: https://github.com/multiwan/pbr/blob/main/docs/failover.md
"""

EXAMPLES = r"""
- name: Read the WANs' health
  multiwan.pbr.wan_status:
  register: health

- name: Show which WANs are down, and why
  ansible.builtin.debug:
    msg: "{{ health.wans | selectattr('state', 'equalto', 'down') | map(attribute='detail') | list }}"

- name: Refuse a change window while a WAN is down or the agent is not running
  multiwan.pbr.wan_status:
    fail_when_stale: true
    fail_when_down: true
"""

RETURN = r"""
running:
  description: Whether the agent's status is there and fresh.
  returned: always
  type: bool
  sample: true
stale:
  description: Whether the status is missing or older than three of the agent's write periods.
  returned: always
  type: bool
  sample: false
updated:
  description: When the agent last wrote its status (UTC, ISO 8601).
  returned: when the status file exists
  type: str
  sample: "2026-12-01T10:00:07.123Z"
wans:
  description: Every WAN the agent tracks, in its configuration's order.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: wan2, device: wan2, state: down, since: "2026-12-01T10:00:05.020Z", reason: probes,
       detail: "ipv4: fewer than 1 of 2 targets answered 5 rounds in a row", loss: 100.0, latency_ms: null,
       transitions: 1}
down:
  description: The names of the WANs that are down.
  returned: always
  type: list
  elements: str
  sample: [wan2]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import status

ARGUMENT_SPEC = dict(
    status_file=dict(type="path", default="/run/multiwan-pbr/status.json"),
    fail_when_stale=dict(type="bool", default=False),
    fail_when_down=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(ARGUMENT_SPEC, supports_check_mode=True)
    result = status.module_result(module.params["status_file"])
    failure = status.failure_of(result, module.params["fail_when_stale"], module.params["fail_when_down"])
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
