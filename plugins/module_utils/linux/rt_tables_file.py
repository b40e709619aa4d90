# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner for iproute2 plus one rt_tables.d file of the collection's own.

An engine that names tables renders the file changes as pseudo-commands among its
``ip`` lines, so ``commands``/``rendered`` show them in order:

    rt_tables add 101 isp_a # /etc/iproute2/rt_tables.d/multiwan_pbr.conf
    rt_tables replace 102 isp_a # ...
    rt_tables del 101 isp_a # ...

``apply`` sends each run of consecutive ``ip`` lines to ``Iproute2.apply`` and each run
of ``rt_tables`` lines to one rewrite of the file (a temp file in the same directory,
then ``atomic_move``). If anything in a call fails, the file gets its text from before
the call back, byte for byte; the routes are the core's to restore (it re-reads ``dump``,
which includes the file through the runner's directories).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
from itertools import groupby

from ansible_collections.multiwan.pbr.plugins.module_utils.linux.iproute2 import Iproute2, read_text
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ApplyFailed
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables import parse_id_lines

PSEUDO_COMMAND = "rt_tables"
HEADER = ("# Routing table names kept by multiwan.pbr.pbr_table.\n"
          "# Every line here is owned by the module: state=overridden removes the names its config lacks.\n")


class TablesFileRunner(Iproute2):
    """``Iproute2`` that also applies ``rt_tables add|replace|del <id> <name>`` lines to ``tables_file``."""

    def __init__(self, module, show_commands, tables_file, files=None, directories=None, lock=True):
        super(TablesFileRunner, self).__init__(module, show_commands, files, directories, lock)
        self.tables_file = tables_file

    def apply(self, lines):
        before = read_text(self.tables_file)
        try:
            for is_file_edit, run in groupby(lines, is_tables_line):
                if is_file_edit:
                    self._edit_file(list(run))
                else:
                    super(TablesFileRunner, self).apply(list(run))
        except ApplyFailed:
            self._restore_text(before)
            raise

    def _edit_file(self, lines):
        text = read_text(self.tables_file)
        for line in lines:
            text = edited_text(text, line)
        try:
            self._write(text)
        except (IOError, OSError) as error:
            raise ApplyFailed(lines[0], "cannot write %s: %s" % (self.tables_file, error))

    def _restore_text(self, text):
        try:
            if text is None:
                if os.path.exists(self.tables_file):
                    os.unlink(self.tables_file)
            elif read_text(self.tables_file) != text:
                self._write(text)
        except (IOError, OSError):
            pass        # the core's restore re-reads the file and converges the names anyway

    def _write(self, text):
        directory = os.path.dirname(self.tables_file)
        if not os.path.isdir(directory):
            os.makedirs(directory)
        handle, temp_path = tempfile.mkstemp(prefix=".multiwan_pbr.", dir=directory)
        with os.fdopen(handle, "w") as temp:
            temp.write(text)
        self.module.atomic_move(temp_path, self.tables_file)


def is_tables_line(line):
    return line.split(None, 1)[0] == PSEUDO_COMMAND


def edited_text(text, line):
    """``text`` (the file, or None) after one ``rt_tables <verb> <id> <name>`` line."""
    verb, number, name = parse_tables_line(line)
    kept = [old for old in (text or HEADER).splitlines(True) if not _names(old, name)]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    if verb != "del":
        kept.insert(_place_of(kept, number), "%d\t%s\n" % (number, name))
    return "".join(kept)


def _place_of(file_lines, number):
    """Where a line for ``number`` goes: before the first name with a higher id, so the file
    reads in id order however often names are added and replaced (comments stay where they are)."""
    for index, file_line in enumerate(file_lines):
        pairs = parse_id_lines([file_line])
        if pairs and pairs[0][0] > number:
            return index
    return len(file_lines)


def parse_tables_line(line):
    words = line.split("#", 1)[0].split()
    if len(words) != 4 or words[1] not in ("add", "replace", "del") or not words[2].isdigit():
        raise ApplyFailed(line, "not an rt_tables line (rt_tables add|replace|del <id> <name>)")
    return words[1], int(words[2]), words[3]


def _names(file_line, name):
    return any(pair[1] == name for pair in parse_id_lines([file_line]))
