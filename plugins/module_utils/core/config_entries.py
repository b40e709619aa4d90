# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of a resource module's ``config`` entries against its engine's ``CONFIG_SPEC``.

Why here and not in AnsibleModule: ansible-core validates a list of dicts entry by entry
through its whole machinery (aliases, no_log values, fallbacks, defaults, type checks, each
walking every option of the sub-spec), about 45 us per entry: half a second for 10,000 rules,
a third of a no-change run then. The modules therefore declare ``config`` to
AnsibleModule as a plain list of dicts and the core validates the entries here, with the
same result and ansible-core's own functions:

- an entry that is already canonical (every key an option, every value already of its
  declared type and among its choices, nested entries likewise) needs no conversion; it
  gets the checks that can still fail (required, mutually exclusive, required together/
  one of/if/by, in ansible-core's order, by ansible-core's ``check_*`` functions) and its
  defaults;
- any other entry (an alias, a string to convert, an unknown key ...) goes through
  ansible-core's ``ArgumentSpecValidator``, so conversion, aliases and messages are exactly
  ansible-core's.

DOCUMENTATION still documents every sub-option, and a unit test holds it equal to
``CONFIG_SPEC`` (ansible-test's validate-modules compares only what AnsibleModule gets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.validation import (
    check_mutually_exclusive, check_required_arguments, check_required_by, check_required_if,
    check_required_one_of, check_required_together)
from ansible.module_utils.errors import UnsupportedError

# The option types whose canonical value is an instance of one Python type (bool is not an int here).
_PYTHON_TYPES = {"str": (str,), "int": (int,), "bool": (bool,), "float": (float,), "raw": (object,)}
# Option keys that make ansible-core do more than check and default (record secrets, read the
# environment, warn); a spec using any of them is always validated by ansible-core itself.
_NOT_FAST = ("no_log", "fallback", "deprecated_aliases", "removed_in_version", "removed_at_date", "apply_defaults")
_CHECKS = (("required_together", check_required_together), ("required_one_of", check_required_one_of),
           ("required_if", check_required_if), ("required_by", check_required_by))


class InvalidEntry(ValueError):
    """Entry ``index`` of the list is refused, for ``reason`` (ansible-core's words)."""

    def __init__(self, index, entry, reason):
        self.index, self.entry, self.reason = index, entry, reason
        super(InvalidEntry, self).__init__("[%d]: %s" % (index, reason))


def validated_entries(spec, entries):
    """``entries`` (a list of dicts, or ``None``) validated against ``spec`` (a list-of-dicts option
    with ``options``); the first bad one raises ``InvalidEntry``."""
    if entries is None:
        return None
    shape = _Shape(spec)
    validated = []
    for index, entry in enumerate(entries):
        try:
            validated.append(shape.validated(entry))
        except (TypeError, ValueError) as error:
            raise InvalidEntry(index, entry, str(error))
    return validated


def _message(error):
    # AnsibleModule prefixes this one itself (with the module's name); the error alone says only the names
    return "unsupported parameters: %s" % error if isinstance(error, UnsupportedError) else str(error)


class _Shape(object):
    """One sub-spec: its options compiled for the canonical test, and its full validator."""

    def __init__(self, spec):
        self.spec = spec
        self.options = spec["options"]
        self.given_defaults = dict((name, option["default"]) for name, option in self.options.items()
                                   if option.get("default") is not None)
        self.none_defaults = dict.fromkeys(self.options)
        self.required = [name for name, option in self.options.items() if option.get("required")]
        self.exclusive = [tuple(names) for names in spec.get("mutually_exclusive") or ()]
        self.checks = [(key, check) for key, check in _CHECKS if spec.get(key)]
        self.nested = dict((name, _Shape(option)) for name, option in self.options.items() if option.get("options"))
        self.fast = not any(key in option for option in self.options.values() for key in _NOT_FAST) and all(
            option.get("type", "str") in _PYTHON_TYPES or name in self.nested
            for name, option in self.options.items())
        self.validator = ArgumentSpecValidator(
            self.options, **dict((key, spec[key]) for key in (
                "mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")
                if spec.get(key)))

    def validated(self, entry):
        if not isinstance(entry, dict):
            raise TypeError("must be a dict, not %s" % type(entry).__name__)
        if self.fast and self.is_canonical(entry):
            return self._checked(entry)
        result = self.validator.validate(entry)
        if result.error_messages:
            raise ValueError("; ".join(_message(error) for error in result.errors.errors))
        return result.validated_parameters

    def is_canonical(self, entry):
        options = self.options
        for name, value in entry.items():
            option = options.get(name)
            if option is None:
                return False
            if value is None:
                # ansible-core refuses None for an option with choices, and converts it where there is a default
                if option.get("required") or option.get("default") is not None or "choices" in option:
                    return False
            elif name in self.nested:
                if not self.nested[name].are_canonical(value, option):
                    return False
            elif not isinstance(value, _PYTHON_TYPES[option.get("type", "str")]) or (
                    isinstance(value, bool) and option.get("type") in ("int", "float")):
                return False
            elif "choices" in option and value not in option["choices"]:
                return False
        return True

    def are_canonical(self, value, option):
        if option["type"] == "dict":
            return isinstance(value, dict) and self.fast and self.is_canonical(value)
        return (isinstance(value, list) and self.fast
                and all(isinstance(item, dict) and self.is_canonical(item) for item in value))

    def _checked(self, entry):
        """A canonical entry through the checks ansible-core runs after conversion, in its order.
        They count the keys present, so the ``None`` defaults are filled in only after them.
        Mutually exclusive and required options are tested here first (most entries pass) and
        ansible-core's functions are called only to word a failure."""
        if any(sum(name in entry for name in names) > 1 for names in self.exclusive):
            check_mutually_exclusive(self.spec["mutually_exclusive"], entry)
        given = dict(self.given_defaults, **entry) if self.given_defaults else dict(entry)
        if any(name not in given for name in self.required):
            check_required_arguments(self.options, given)
        for key, check in self.checks:
            check(self.spec[key], given)
        validated = dict(self.none_defaults)
        validated.update(given)
        for name, shape in self.nested.items():
            value = validated[name]
            if isinstance(value, list):
                validated[name] = [shape._checked(item) for item in value]
            elif value is not None:
                validated[name] = shape._checked(value)
        return validated
