# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner for iproute2 plus one rt_tables.d file of the collection's own.

An engine that names tables renders the file changes as ``core.commands.FileEdit`` records
among its ``ip`` commands, so ``commands``/``rendered`` show them in order:

    rt_tables add 101 isp_a # /etc/iproute2/rt_tables.d/multiwan_pbr.conf
    rt_tables replace 102 isp_a # ...
    rt_tables del 101 isp_a # ...

``apply`` sends each run of consecutive ``ip`` commands to ``Iproute2.apply`` and each run
of file edits to one rewrite of the file (a temp file in the same directory, then
``atomic_move``). The file ends up mode 0644 and a directory the runner makes 0755, whatever
the umask: iproute2 reads the names as whatever user runs ``ip``. If anything in a call fails,
the file gets its text from before the call back, byte for byte; the routes are the core's to
restore (it re-reads ``dump``, which includes the file through the runner's directories).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
from itertools import groupby

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import FileEdit

from ansible_collections.multiwan.pbr.plugins.module_utils.linux.iproute2 import Iproute2, read_text
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables import parse_id_lines

FILE_MODE, DIRECTORY_MODE = 0o644, 0o755
HEADER = ("# Routing table names kept by multiwan.pbr.pbr_table.\n"
          "# Every line here is owned by the module: state=overridden removes the names its config lacks.\n")


class TablesFileRunner(Iproute2):
    """``Iproute2`` that also applies ``FileEdit`` records (``rt_tables add|replace|del``) to ``tables_file``."""

    def __init__(self, module, show_commands, tables_file, files=None, directories=None, writes=True):
        super(TablesFileRunner, self).__init__(module, show_commands, files, directories, writes)
        self.tables_file = tables_file

    def apply(self, commands):
        before = read_text(self.tables_file)
        try:
            for is_file_edit, run in groupby(commands, lambda command: isinstance(command, FileEdit)):
                if is_file_edit:
                    self._edit_file(list(run))
                else:
                    super(TablesFileRunner, self).apply(list(run))
        except ApplyFailed:
            self._restore_text(before)
            raise

    def _edit_file(self, edits):
        text = read_text(self.tables_file)
        for edit in edits:
            text = edited_text(text, edit)
        try:
            self._write(text)
        except (IOError, OSError) as error:
            raise ApplyFailed(edits[0].text, "cannot write %s: %s" % (self.tables_file, error))

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
            os.chmod(directory, DIRECTORY_MODE)     # makedirs' mode is cut by the umask
        handle, temp_path = tempfile.mkstemp(prefix=".multiwan_pbr.", dir=directory)
        with os.fdopen(handle, "w") as temp:
            temp.write(text)
        self.module.atomic_move(temp_path, self.tables_file)
        # after the move: atomic_move gives a new file 0666 minus the umask (0600 under umask 077) and an
        # existing one its old mode, whatever the temp file had
        os.chmod(self.tables_file, FILE_MODE)


def edited_text(text, edit):
    """``text`` (the file, or None) after one ``FileEdit`` (``key`` the name, ``value`` the id)."""
    kept = [old for old in (text or HEADER).splitlines(True) if not _names(old, edit.key)]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    if edit.verb != "del":
        kept.insert(_place_of(kept, edit.value), "%d\t%s\n" % (edit.value, edit.key))
    return "".join(kept)


def _place_of(file_lines, number):
    """Where a line for ``number`` goes: before the first name with a higher id, so the file
    reads in id order however often names are added and replaced (comments stay where they are)."""
    for index, file_line in enumerate(file_lines):
        pairs = parse_id_lines([file_line])
        if pairs and pairs[0][0] > number:
            return index
    return len(file_lines)


def _names(file_line, name):
    return any(pair[1] == name for pair in parse_id_lines([file_line]))
