# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner for iproute2: one read of ``ip -json`` per show command, one ``ip -batch`` per family.

Engines render full command lines (``ip -6 rule add ...``) so that ``commands`` and
``rendered`` can be pasted into a shell. ``ip -batch`` takes no global options on its
lines (``-6 rule add`` is "Object -6 is unknown"), so consecutive lines that share
their options run as one batch with those options on ``ip`` itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.multiwan.pbr.plugins.module_utils.core.hostlock import hold_host_lock
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ApplyFailed, DeviceError

FAILED_LINE = re.compile(r"Command failed -:(\d+)")
_RUN_OPTIONS = dict(environ_update={"LC_ALL": "C"}, expand_user_and_vars=False)


class Iproute2(object):
    """Reads and writes one host's iproute2 state through ``module.run_command``.

    ``show_commands`` maps a dump key to the argv after ``ip -json``, e.g.
    ``{"rules4": ["-4", "rule", "show"]}``; ``files`` maps a dump key to a path
    whose text (or ``None`` when missing) joins the dump; ``globs`` likewise maps
    a key to a directory whose ``*.conf`` files are read into ``{name: text}``.
    """

    def __init__(self, module, show_commands, files=None, directories=None, lock=True):
        self.module = module
        self.ip = module.get_bin_path("ip", required=True)
        self.show_commands = show_commands
        self.files = files or {}
        self.directories = directories or {}
        if lock:
            hold_host_lock()

    def dump(self):
        dump = dict((key, self._show(argv)) for key, argv in self.show_commands.items())
        dump.update((key, read_text(path)) for key, path in self.files.items())
        dump.update((key, read_conf_dir(path)) for key, path in self.directories.items())
        return dump

    def apply(self, lines):
        for options, batch in batches(lines):
            self._run_batch(options, batch)

    def _show(self, argv):
        command = [self.ip, "-json"] + list(argv)
        rc, out, err = self.module.run_command(command, **_RUN_OPTIONS)
        if rc != 0:
            raise DeviceError("%s failed: %s" % (" ".join(command), err.strip()))
        try:
            return json.loads(out) if out.strip() else []
        except ValueError as error:
            raise DeviceError("%s printed no JSON: %s" % (" ".join(command), error))

    def _run_batch(self, options, batch):
        command = [self.ip] + options + ["-batch", "-"]
        data = "".join(line + "\n" for line in batch)
        rc, out, err = self.module.run_command(command, data=data, binary_data=True, **_RUN_OPTIONS)
        if rc != 0:
            raise ApplyFailed(failed_line(options, batch, err), (err or out).strip())


def batches(lines):
    """Group ``ip [options] object ...`` lines into ``(options, [object ... lines])`` runs."""
    groups = []
    for line in lines:
        options, rest = split_options(line)
        if groups and groups[-1][0] == options:
            groups[-1][1].append(rest)
        else:
            groups.append((options, [rest]))
    return groups


def split_options(line):
    words = line.split()
    if not words or words[0] != "ip":
        raise ValueError("not an ip command line: %r" % line)
    options = []
    for word in words[1:]:
        if not word.startswith("-"):
            break
        options.append(word)
    return options, " ".join(words[1 + len(options):])


def failed_line(options, batch, stderr):
    """The full command line ``ip -batch`` stopped at, as the user would type it."""
    match = FAILED_LINE.search(stderr or "")
    prefix = " ".join(["ip"] + options)
    if match and 0 < int(match.group(1)) <= len(batch):
        return "%s %s" % (prefix, batch[int(match.group(1)) - 1])
    # ip exits on a parse error without naming the line
    return "%s -batch (one of: %s)" % (prefix, "; ".join(batch[:3]) + ("; ..." if len(batch) > 3 else ""))


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def read_conf_dir(path):
    try:
        names = sorted(name for name in os.listdir(path) if name.endswith(".conf"))
    except (IOError, OSError):
        return {}
    return dict((name, read_text(os.path.join(path, name))) for name in names)
