# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's error types: the one place that says what can go wrong.

Engines raise ``InvalidInput`` (before anything is touched); runners raise ``DeviceError``
(the device could not be read or reached) and ``ApplyFailed`` (the device refused a
command). The module shell turns each into one ``fail_json`` (``core.shell``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class InvalidInput(ValueError):
    """User input the module refuses, before anything on the device is touched."""

    def __init__(self, field, value, reason):
        self.field, self.value, self.reason = field, value, reason
        super(InvalidInput, self).__init__("%s=%r: %s" % (field, value, reason))


class ApplyFailed(RuntimeError):
    """The device refused ``command`` (its text) with ``device_message``.

    ``rollback_error`` is set by the core once it tried to put the device back: ``None``
    when the owned state was verified to be as before, else what went wrong (the undo
    failed, or the device reads back differently). ``rolled_back`` says the same as a
    flag and is ``False`` until a restore was verified.
    """

    def __init__(self, command, device_message):
        self.command, self.device_message = command, device_message
        self.rollback_error = "no undo was attempted"
        super(ApplyFailed, self).__init__("%s: %s" % (command, device_message))

    @property
    def rolled_back(self):
        return self.rollback_error is None


class DeviceError(RuntimeError):
    """The device could not be read (connection, login, an unreadable dump, the host lock)."""
