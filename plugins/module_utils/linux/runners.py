# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Linux modules' shells share: the libraries they need and when a run takes the host lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import WRITING_STATES
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import Library

LIBRARIES = (Library("netaddr", addresses.HAS_NETADDR, addresses.NETADDR_IMPORT_ERROR),)


def may_write(module, params):
    """Whether this run may change the host, and so must hold the host lock (``core.hostlock``)."""
    return params["state"] in WRITING_STATES and not module.check_mode
