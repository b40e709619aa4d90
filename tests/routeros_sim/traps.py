"""The errors a command can end with, worded as RouterOS words them.

Every message the simulator sends lives here, so that the evidence for each one is in one
place. ``semantics.md`` (in /work/shared/routeros) is the source; messages marked
[unverified] are the best available guess and are listed in README.md.
"""

# Trap categories (API doc, "Trap categories").
MISSING_ITEM_OR_COMMAND = 0
ARGUMENT_VALUE_FAILURE = 1
INTERRUPTED = 2
GENERAL_FAILURE = 4


class Trap(Exception):
    """A command failed: the server answers ``!trap`` (``=category=`` only if set) then ``!done``."""

    def __init__(self, message, category=None):
        super().__init__(message)
        self.message = message
        self.category = category

    def words(self):
        """The attribute words of the ``!trap`` sentence: only category and message.

        librouteros builds ``TrapError(**words)``, so any other attribute would crash it.
        """
        category = [] if self.category is None else [f"=category={self.category}"]
        return category + [f"=message={self.message}"]


def no_such_item():
    """Unknown id in set/remove/move (matched by many clients; category-less)."""
    return Trap("no such item (4)")


def no_match(argument):
    """Enum mismatch or a hard reference to a missing object (verified for routing-table,
    new-routing-mark and interface; inferred for routing rule ``table``/``routing-mark``)."""
    return Trap(f"input does not match any value of {argument}", ARGUMENT_VALUE_FAILURE)


def unknown_parameter(argument):
    """An argument the command does not take (REST ``400 unknown parameter comment``)."""
    return Trap(f"unknown parameter {argument}")


def invalid_value(argument):
    """A value that does not parse as the argument's type. [unverified]"""
    return Trap(f"invalid value for argument {argument}", ARGUMENT_VALUE_FAILURE)


def out_of_range(argument, low, high):
    """A number outside the argument's range. [unverified]"""
    return Trap(f"value of {argument} out of range ({low}..{high})", ARGUMENT_VALUE_FAILURE)


def missing_arguments(arguments):
    """A mandatory argument was not given on ``add``. [unverified]"""
    return Trap(f"missing value(s) of argument(s) {' '.join(arguments)}", ARGUMENT_VALUE_FAILURE)


def move_before_itself():
    """``move`` with numbers == destination (REST probe on 7.23.7)."""
    return Trap("failure: can not move object before itself", GENERAL_FAILURE)


def already_have(what):
    """A duplicate of an object that must be unique (wording as for interfaces)."""
    return Trap(f"failure: already have {what}", GENERAL_FAILURE)


def cannot_change_builtin():
    """Editing or removing a built-in/dynamic object such as table ``main``. [unverified]"""
    return Trap("failure: can not change dynamic", GENERAL_FAILURE)


def table_in_use():
    """Removing a routing table that is still referenced, when configured to refuse.
    RouterOS's behaviour here is unknown; this wording is the simulator's own."""
    return Trap("failure: routing table is in use", GENERAL_FAILURE)


def no_such_command():
    """A command the menu does not have. [unverified]"""
    return Trap("no such command", MISSING_ITEM_OR_COMMAND)


def no_such_command_prefix():
    """A menu path that does not exist (as seen in client test fakes)."""
    return Trap("no such command prefix", MISSING_ITEM_OR_COMMAND)


def invalid_login():
    """Wrong user name or password on RouterOS 7."""
    return Trap("invalid user name or password (6)")


def interrupted():
    """The reply to a command cancelled with ``/cancel``."""
    return Trap("interrupted", INTERRUPTED)
