#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pbr_rule
short_description: Manage policy routing rules owned by multiwan.pbr
version_added: 0.1.0
description:
  - Manages the policy routing rules of a Linux host (C(ip rule) and C(ip -6 rule)), IPv4 and IPv6, with every
    selector and action iproute2 has.
  - A rule is identified by its O(config[].family) and its O(config[].priority); two entries with the same family
    and priority are refused. Changing any other field of a rule replaces it.
  - The module owns exactly the rules whose C(protocol) equals O(protocol). Rules of any other protocol (tailscale,
    wg-quick, docker, systemd-networkd, the kernel's rules at 0, 32766 and 32767) are shown in the diff and never
    changed, with O(state=overridden) too.
  - One run reads the rules once (C(ip -json rule show) for each family, and the iproute2 name files) and applies
    its whole plan with one C(ip -batch) per family, additions before deletions (make-before-break). When a line
    fails, the rules this run changed are put back and the module fails with that line and iproute2's message.
  - Table names resolve through C(rt_tables) and C(rt_tables.d/*.conf) on the target (see M(multiwan.pbr.pbr_table));
    an unknown name fails before anything is changed. Bad input never reaches the device.
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
  - module: multiwan.pbr.pbr_table
  - name: ip-rule(8)
    description: The manual page of C(ip rule).
    link: https://man7.org/linux/man-pages/man8/ip-rule.8.html
options:
  protocol:
    description:
      - The ownership tag. Rules are added with C(protocol) set to it, and only rules whose protocol equals it are
        ever changed or removed.
      - A number 0..255 or a name from C(rt_protos.d). Every protocol iproute2 names by itself is refused (0
        C(unspec), which C(ip -json) shows for untagged rules such as the kernel's C(lookup local/main/default); 3
        C(boot), which tailscale uses; 4 C(static), 16 C(dhcp), the routing daemons' numbers ...), because owning it
        would mean changing and deleting rules others made.
      - The default, C(211), is unassigned by the kernel and by iproute2; change it only together with every other
        run that manages the same host.
    type: str
    default: '211'
  config:
    description:
      - The rules. What happens with them depends on O(state).
    type: list
    elements: dict
    suboptions:
      priority:
        description:
          - The rule's priority (C(ip rule ... priority)), 0..4294967295.
          - Together with O(config[].family) it identifies the rule. Rules of other owners at the same priority are
            left alone.
        type: int
        required: true
      family:
        description:
          - The address family of the rule.
          - Defaults to the family of O(config[].from) and O(config[].to), and to V(ipv4) when neither is given. An
            entry that mixes IPv4 and IPv6 is refused.
        type: str
        choices: [ipv4, ipv6]
      invert:
        description:
          - Invert the selectors (C(not)); the rule then matches the packets the selectors do not match.
        type: bool
        default: false
      from:
        description:
          - Source prefix (C(from)). Host bits are dropped, so V(192.0.2.7/24) is V(192.0.2.0/24). V(all) or a C(/0)
            means any source.
        type: str
      to:
        description:
          - Destination prefix (C(to)), as for O(config[].from).
        type: str
      tos:
        description:
          - The DS field byte to match (C(tos)), a number (V(0x10), V(16)) or a name from C(rt_dsfield) (V(EF)). The
            ECN bits (0x03) must be zero.
          - IPv4 rules match only the legacy TOS bits (0x1e) on kernels before DSCP rules; the kernel refuses others
            with C(Invalid tos).
        type: str
      dscp:
        description:
          - The DSCP to match, 0..63; the same byte as O(config[].tos) shifted left by two (V(46) is C(tos 0xb8)).
            Returned as O(config[].tos).
        type: int
      fwmark:
        description:
          - Firewall mark to match (C(fwmark)), decimal or 0x-hex, 0..0xffffffff.
        type: str
      fwmask:
        description:
          - Mask for O(config[].fwmark). Defaults to V(0xffffffff). A mark with bits outside its mask is refused.
        type: str
      iif:
        description:
          - Incoming interface name (C(iif)), 1-15 characters. The interface need not exist yet.
        type: str
      oif:
        description:
          - Outgoing interface name (C(oif)), for sockets bound to a device.
        type: str
      ipproto:
        description:
          - IP protocol to match (C(ipproto)), a name from C(/etc/protocols) (V(tcp)) or a number 0..255.
        type: str
      sport:
        description:
          - Source port (C(sport)), 1..65534 or a range V(first-last) of those (the kernel takes no port 0 or 65535);
            a reversed range is refused.
        type: str
      dport:
        description:
          - Destination port (C(dport)), as for O(config[].sport).
        type: str
      uidrange:
        description:
          - Range of socket owner uids (C(uidrange)), V(first-last) or one uid.
        type: str
      l3mdev:
        description:
          - Look up the table of the VRF device the packet came from or goes to (C(l3mdev)); no O(config[].table).
        type: bool
        default: false
      action:
        description:
          - What the rule does. Defaults to V(lookup) when O(config[].table) or O(config[].l3mdev) is given, and to
            V(goto) when O(config[].goto) is given.
          - V(lookup) looks up O(config[].table); V(goto) jumps to the rule at O(config[].goto); V(blackhole), V(unreachable)
            and V(prohibit) drop the packet; V(nop) does nothing.
        type: str
        choices: [lookup, goto, blackhole, unreachable, prohibit, nop]
      table:
        description:
          - The table to look up (C(lookup)), an id 1..4294967295 or a name from C(rt_tables) or C(rt_tables.d/*.conf)
            on the target (V(main), V(isp_a)). Table 0 is refused.
          - With O(state=rendered) a name stays a name in the commands.
        type: str
      goto:
        description:
          - The priority to jump to (C(goto)); it must be after this rule's. A target without a rule is allowed (the
            kernel shows it C(unresolved)).
        type: int
      suppress_prefixlength:
        description:
          - Ignore a lookup result whose prefix length is this or shorter (C(suppress_prefixlength)); V(0) ignores
            default routes.
        type: int
      suppress_ifgroup:
        description:
          - Ignore a lookup result through a device of this group (C(suppress_ifgroup)), a number or a name from C(/etc/iproute2/group).
        type: str
notes:
  - The module never flushes rules; rules it does not own stay where they are, even when they overlap.
  - Priorities 0, 32766 and 32767 hold the kernel's rules; owned rules may use them too, beside the kernel's.
"""

EXAMPLES = r"""
- name: Send marked traffic and HTTPS through their ISPs
  multiwan.pbr.pbr_rule:
    config:
      - {priority: 1000, fwmark: "0x100", fwmask: "0xff00", table: isp_a}
      - {priority: 1020, ipproto: tcp, dport: "443", table: 102}
      - {priority: 1021, to: 10.0.0.0/8, sport: "1000-2000", ipproto: udp, action: unreachable}
      - {priority: 1050, to: "2001:db8:99::/48", table: isp_a}    # an IPv6 rule: family follows the addresses
    state: merged

- name: Make the owned rules exactly these (tailscale, wg-quick and the kernel's rules stay)
  multiwan.pbr.pbr_rule:
    config:
      - {priority: 1000, fwmark: "0x100", fwmask: "0xff00", table: isp_a}
      - {priority: 1001, fwmark: "0x200", fwmask: "0xff00", table: isp_b}
    state: overridden

- name: Remove one owned rule
  multiwan.pbr.pbr_rule:
    config:
      - {priority: 1021}
    state: deleted

- name: Remove every owned rule
  multiwan.pbr.pbr_rule:
    state: deleted

- name: Show the commands without touching a host
  multiwan.pbr.pbr_rule:
    config:
      - {priority: 1020, ipproto: tcp, dport: "443", table: isp_a}
    state: rendered

- name: Read the owned rules
  multiwan.pbr.pbr_rule:
    state: gathered
  register: rules
"""

RETURN = r"""
commands:
  description: The C(ip rule) lines the plan runs (in check mode, would run); additions first, then deletions.
  returned: when O(state) changes the device
  type: list
  elements: str
  sample: ["ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup 100 protocol 211"]
before:
  description: The owned rules before the run, same shape as O(config).
  returned: when O(state) changes the device
  type: list
  elements: dict
  sample: [{"priority": 1000, "family": "ipv4", "fwmark": "0x100", "fwmask": "0xff00", "action": "lookup", "table": 100}]
after:
  description: The owned rules after the run (in check mode, as predicted), same shape as O(config).
  returned: when the run changes something (in check mode, when it would)
  type: list
  elements: dict
  sample: [{"priority": 1020, "family": "ipv4", "ipproto": "tcp", "dport": "443", "action": "lookup", "table": 102}]
rendered:
  description: The C(ip rule add) lines for O(config), made without contacting the host.
  returned: when O(state) is V(rendered)
  type: list
  elements: str
  sample: ["ip -4 rule add priority 1020 ipproto tcp dport 443 lookup isp_a protocol 211"]
gathered:
  description: The owned rules on the host, same shape as O(config).
  returned: when O(state) is V(gathered)
  type: list
  elements: dict
  sample: [{"priority": 1000, "family": "ipv4", "fwmark": "0x100", "fwmask": "0xff00", "action": "lookup", "table": 100}]
parsed:
  description: The owned rules of O(running_config), same shape as O(config).
  returned: when O(state) is V(parsed)
  type: list
  elements: dict
  sample: [{"priority": 1009, "family": "ipv6", "action": "lookup", "table": 254, "suppress_prefixlength": 0}]
"""

from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import STATE_OPTIONS, run_module
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_rule as engine
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import DEFAULT_PROTOCOL
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.runners import LIBRARIES, pbr_rule_runner

# ``config`` is a plain list of dicts here: the core checks its entries against engine.CONFIG_SPEC
# (documented above), with ansible-core's validator, at a quarter of AnsibleModule's cost per entry.
ARGUMENT_SPEC = dict(
    STATE_OPTIONS,
    protocol=dict(type="str", default=DEFAULT_PROTOCOL),
)


def main():
    run_module(ARGUMENT_SPEC, engine.ENGINE, pbr_rule_runner, libraries=LIBRARIES)


if __name__ == "__main__":
    main()
