# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner for nftables: read one table with ``nft -j``, write with one ``nft -f -`` transaction.

Only the table the runner was built for is ever listed or written; the ruleset is
never flushed. A script is validated with ``nft -c -f -`` before it is applied, and
``nft -f`` applies a whole script or nothing, so no undo is ever needed here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.multiwan.pbr.plugins.module_utils.core.hostlock import hold_host_lock
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError

# nft names the refused line of a script read from stdin as ``/dev/stdin:LINE:COLUMNS: Error: ...``
FAILED_LINE = re.compile(r"^/dev/stdin:(\d+):", re.MULTILINE)
_RUN_OPTIONS = dict(environ_update={"LC_ALL": "C"}, expand_user_and_vars=False)


class Nft(object):
    """Reads and replaces one nftables table through ``module.run_command``."""

    def __init__(self, module, family, table, writes=True):
        self.module = module
        self.nft = module.get_bin_path("nft", required=True)
        self.family, self.table = family, table
        if writes:
            hold_host_lock()

    def dump(self):
        """``nft -j list table`` as parsed JSON, its table object with the table's ``comment``;
        a table that does not exist is an empty dump."""
        listed = self._json(["list", "tables", self.family])
        names = [entry["table"]["name"] for entry in listed.get("nftables", []) if "table" in entry]
        if self.table not in names:
            return {"nftables": []}
        dump = self._json(["list", "table", self.family, self.table])
        if any("comment" in entry["table"] for entry in dump.get("nftables", []) if "table" in entry):
            return dump
        # nft 1.0.6 lists a table's comment in text but leaves it out of -j (the ownership marker lives there)
        return with_table_comment(dump, table_comment(self._text(["list", "table", self.family, self.table])))

    def check(self, script):
        """Validate ``script`` without applying it; ``ApplyFailed`` names the refused line."""
        self._run_script(["-c", "-f", "-"], script)

    def apply(self, commands):
        script = "".join(command.text + "\n" for command in commands)
        self.check(script)
        self._run_script(["-f", "-"], script)

    def close(self):
        """Nothing to close: the lock goes with the process."""

    def _json(self, argv):
        command = [self.nft, "-j"] + argv
        out = self._text(argv, command)
        try:
            return json.loads(out) if out.strip() else {"nftables": []}
        except ValueError as error:
            raise DeviceError("%s printed no JSON: %s" % (" ".join(command), error))

    def _text(self, argv, command=None):
        command = command or [self.nft] + argv
        rc, out, err = self.module.run_command(command, **_RUN_OPTIONS)
        if rc != 0:
            raise DeviceError("%s failed: %s" % (" ".join(command), err.strip()))
        return out

    def _run_script(self, options, script):
        command = [self.nft] + options
        rc, out, err = self.module.run_command(command, data=script, binary_data=True, **_RUN_OPTIONS)
        if rc != 0:
            raise ApplyFailed(refused_line(options, script, err), (err or out).strip())


def refused_line(options, script, stderr):
    """The script line nft refused, or the whole command when nft names none."""
    match = FAILED_LINE.search(stderr or "")
    lines = script.splitlines()
    if match and 0 < int(match.group(1)) <= len(lines):
        return lines[int(match.group(1)) - 1]
    return "nft %s" % " ".join(options)


def table_comment(listing):
    """The comment of the table ``nft list table`` printed (text), or ``None``.

    Only the table's own header is read: the lines after ``table <family> <name> {`` up to the
    first block (set, map, chain ...), where nft prints ``comment "<text>"`` with one tab.
    """
    for line in listing.splitlines()[1:]:
        if line.startswith('\tcomment "') and line.endswith('"'):
            return line[len('\tcomment "'):-1]
        if line.endswith("{") or line.startswith("}"):
            return None
    return None


def with_table_comment(dump, comment):
    """``dump`` with ``comment`` in its table object, where later nft versions print it."""
    if comment is None:
        return dump
    objects = [dict(entry, table=dict(entry["table"], comment=comment)) if "table" in entry else entry
               for entry in dump.get("nftables", [])]
    return dict(dump, nftables=objects)
