# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Linux modules' shells share: the libraries they need and when a run takes the host lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import WRITING_STATES
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import Library
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import nft_connmark, pbr_rule, pbr_table
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.iproute2 import Iproute2
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.nft import Nft
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables_file import TablesFileRunner

LIBRARIES = (Library("netaddr", addresses.HAS_NETADDR, addresses.NETADDR_IMPORT_ERROR),)


def may_write(module, params):
    """Whether this run may change the host, and so must hold the host lock (``core.hostlock``)."""
    return params["state"] in WRITING_STATES and not module.check_mode


# One way to build each engine's runner, for its own module and for linux_router, which runs all three in one process.


def pbr_rule_runner(module, params):
    return Iproute2(module, pbr_rule.SHOW_COMMANDS, files=pbr_rule.FILES, directories=pbr_rule.DIRECTORIES,
                    writes=may_write(module, params))


def pbr_table_runner(module, params):
    return TablesFileRunner(module, pbr_table.SHOW_COMMANDS, params["tables_file"], files=pbr_table.DUMP_FILES,
                            directories=pbr_table.DUMP_DIRECTORIES, writes=may_write(module, params))


def nft_connmark_runner(module, params):
    return Nft(module, nft_connmark.FAMILY, params["table"], writes=may_write(module, params))
