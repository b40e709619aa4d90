# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner for iproute2: one read of ``ip -json`` per show command, one ``ip -batch`` per run of commands.

Engines hand over ``core.commands.Command`` records. ``ip -batch`` takes no global options
on its lines (``-6 rule add`` is "Object -6 is unknown"), so consecutive commands that share
their options run as one batch with those options on ``ip`` itself, one command per line.

The batch is written to a file and ``ip`` reads the file, not a pipe: ``ip`` stops at the
first line the kernel refuses, and with a pipe larger than the pipe buffer the writer would
then fail with EPIPE before anyone learned which line it was. From a file, ``ip`` always
names the line (``Command failed <file>:N``) and the core undoes what came before it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError
from ansible_collections.multiwan.pbr.plugins.module_utils.core.hostlock import hold_host_lock

FAILED_LINE = re.compile(r"Command failed \S*:(\d+)")
RUN_OPTIONS = dict(environ_update={"LC_ALL": "C"}, expand_user_and_vars=False)


class Iproute2(object):
    """Reads and writes one host's iproute2 state through ``module.run_command``.

    ``show_commands`` maps a dump key to the argv after ``ip -json``, e.g.
    ``{"rules4": ["-4", "rule", "show"]}``; ``files`` maps a dump key to a path
    whose text (or ``None`` when missing) joins the dump; ``directories`` likewise maps
    a key to a directory whose ``*.conf`` files are read into ``{name: text}``.
    ``writes``: the run may change the host, so it holds the host lock from its first read.
    """

    def __init__(self, module, show_commands, files=None, directories=None, writes=True):
        self.module = module
        self.ip = module.get_bin_path("ip", required=True)
        self.show_commands = show_commands
        self.files = files or {}
        self.directories = directories or {}
        if writes:
            hold_host_lock()

    def dump(self):
        dump = dict((key, self._show(argv)) for key, argv in self.show_commands.items())
        dump.update((key, read_text(path)) for key, path in self.files.items())
        dump.update((key, read_conf_dir(path)) for key, path in self.directories.items())
        return dump

    def apply(self, commands):
        for options, batch in batches(commands):
            self._run_batch(options, batch)

    def close(self):
        """Nothing to close: the lock goes with the process."""

    def _show(self, argv):
        command = [self.ip, "-json"] + list(argv)
        rc, out, err = self.module.run_command(command, **RUN_OPTIONS)
        if rc != 0:
            raise DeviceError("%s failed: %s" % (" ".join(command), err.strip()))
        try:
            return json.loads(out) if out.strip() else []
        except ValueError as error:
            raise DeviceError("%s printed no JSON: %s" % (" ".join(command), error))

    def _run_batch(self, options, batch):
        with tempfile.NamedTemporaryFile("w", prefix="multiwan-pbr.", suffix=".batch") as batch_file:
            batch_file.write("".join(command.batch_line + "\n" for command in batch))
            batch_file.flush()
            rc, out, err = self.module.run_command([self.ip] + list(options) + ["-batch", batch_file.name],
                                                   **RUN_OPTIONS)
        if rc != 0:
            raise ApplyFailed(failed_command(batch, err), (err or out).strip())


def batches(commands):
    """Consecutive commands with the same options, as ``[(options, [command])]``."""
    groups = []
    for command in commands:
        if groups and groups[-1][0] == command.options:
            groups[-1][1].append(command)
        else:
            groups.append((command.options, [command]))
    return groups


def failed_command(batch, stderr):
    """The text of the command ``ip -batch`` stopped at; ip names its line in the file."""
    match = FAILED_LINE.search(stderr or "")
    if match and 0 < int(match.group(1)) <= len(batch):
        return batch[int(match.group(1)) - 1].text
    # ip exits on a parse error without naming the line
    texts = [command.text for command in batch[:3]]
    return "ip -batch (one of: %s%s)" % ("; ".join(texts), "; ..." if len(batch) > 3 else "")


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
