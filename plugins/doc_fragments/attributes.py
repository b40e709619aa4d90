# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module attributes shared by every multiwan.pbr module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Computes the full plan and the predicted state, and applies nothing.
    support: full
  diff_mode:
    description: Shows the state before and after in the device's own syntax.
    support: full
  idempotent:
    description: A second run with the same arguments plans nothing and reports no change.
    support: full
"""

    # A module that only reads: check mode as usual, nothing to diff, never a change.
    READ_ONLY = r"""
attributes:
  check_mode:
    description: The module only reads; check mode runs it as usual.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: It never changes anything.
    support: full
"""

    LINUX = r"""
attributes:
  platform:
    description: Runs on the Linux target it manages.
    support: full
    platforms: linux
"""

    ROUTEROS = r"""
attributes:
  platform:
    description: Runs on the controller (or any host that reaches the router's API).
    support: full
    platforms: routeros
  action_group:
    description: Use C(group/multiwan.pbr.routeros) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - multiwan.pbr.routeros
"""
