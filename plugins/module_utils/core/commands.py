# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structured commands, and the render-time guard every value passes on its way to a device.

Engines return commands as data; runners consume the data; the text a user sees
(``commands``, ``rendered``) is derived from it and never parsed back.

``Command`` is one ``ip`` invocation (``program``, global ``options``, ``words``). A runner
sends consecutive commands that share their options as one ``ip -batch``, one command per
line. iproute2 splits a batch line on blanks, honours quotes only at the start of a word,
and cuts the line at the first ``#`` wherever it is (tests/integration/test_pbr_table.py
``test_an_interface_name_ip_batch_would_cut_never_reaches_the_kernel`` shows it on the real ``ip``):
a word holding a blank, a quote, a ``#`` or a control character would change what the line
means (an interface ``wan0#x`` turns ``dev wan0#x table 101`` into ``dev wan0``). Such a word
cannot be quoted safely, so ``batch_word`` refuses it; every word of every command goes
through it when the command is built, whatever a normaliser upstream let through.

``FileEdit`` is a change to a file the collection owns (a table name in its
``rt_tables.d`` file); its text is for people only. ``ScriptLine`` is a line of a script
that the device reads as one transaction (``nft -f``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

# A word that one batch line carries as itself: printable, no blank, no quote, no '#', no backslash.
_BATCH_SAFE = re.compile(r'[!$-&(-\[\]-~]+\Z')


def batch_word(word, field="command"):
    """``word`` as text, when ``ip -batch`` reads it back as exactly that one word; else ``InvalidInput``."""
    text = word if isinstance(word, str) else str(word)
    if not _BATCH_SAFE.match(text):
        raise InvalidInput(field, text, "cannot reach iproute2 safely: a blank, quote, backslash, '#' or control "
                           "character would change the command (ip -batch splits words on blanks and treats "
                           "'#' as the start of a comment)")
    return text


class Command(namedtuple("Command", "program options words")):
    """One invocation, e.g. ``Command("ip", ("-4",), ("rule", "add", "priority", "1000", ...))``.

    Every word is checked by ``batch_word`` when the command is made, so no command that
    exists can be misread by the device.
    """

    __slots__ = ()

    def __new__(cls, program, options, words):
        options = tuple(batch_word(option) for option in options)
        words = tuple(batch_word(word) for word in words)
        return super(Command, cls).__new__(cls, program, options, words)

    @property
    def text(self):
        """The command as a user would type it."""
        return " ".join((self.program,) + self.options + self.words)

    @property
    def batch_line(self):
        """The line of an ``ip -batch`` run with ``options`` on ``ip`` itself."""
        return " ".join(self.words)


class FileEdit(namedtuple("FileEdit", "kind path verb key value")):
    """``verb`` (``add``/``replace``/``del``) the entry ``key`` (with ``value``) of the owned file ``path``,
    e.g. ``FileEdit("rt_tables", path, "add", "isp_a", 101)``: ``rt_tables add 101 isp_a # <path>``."""

    __slots__ = ()

    @property
    def text(self):
        return "%s %s %s %s # %s" % (self.kind, self.verb, self.value, self.key, self.path)


class ScriptLine(namedtuple("ScriptLine", "text")):
    """One line of a script the device reads as a whole (an ``nft -f`` transaction), written by
    an engine that quotes every value in the script's own syntax."""

    __slots__ = ()


def texts(commands):
    """The text of each command, for ``commands``, ``rendered`` and error messages."""
    return [command.text for command in commands]
