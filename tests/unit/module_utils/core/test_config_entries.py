"""config_entries: the resource modules' ``config`` entries are checked by the core, not by AnsibleModule.

Two things must hold for that to be invisible to a user: the result is exactly what ansible-core's own
sub-spec validation gives (same values, same defaults, refused when it refuses), and DOCUMENTATION still
documents every sub-option as coded (ansible-test's validate-modules only sees what AnsibleModule gets).
"""

import importlib

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core.config_entries import InvalidEntry, validated_entries
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import run_resource

RESOURCE_MODULES = ("pbr_rule", "pbr_table", "ros_routing_rule", "ros_routing_table", "ros_route",
                    "ros_mangle_exclusion")
# What DOCUMENTATION can say of an option; the cross-option checks (mutually_exclusive ...) it cannot.
DOCUMENTED_KEYS = ("type", "choices", "default", "elements", "aliases", "required")


def load(name):
    return importlib.import_module("ansible_collections.multiwan.pbr.plugins.modules." + name)


def documented_options(options):
    return dict((name, dict([(key, doc[key]) for key in DOCUMENTED_KEYS if key in doc]
                            + ([("options", documented_options(doc["suboptions"]))] if "suboptions" in doc else [])))
                for name, doc in options.items())


def coded_options(options):
    return dict((name, dict([(key, spec[key]) for key in DOCUMENTED_KEYS if key in spec]
                            + ([("options", coded_options(spec["options"]))] if "options" in spec else [])))
                for name, spec in options.items())


@pytest.mark.parametrize("name", RESOURCE_MODULES)
def test_config_is_documented_exactly_as_its_spec(name):
    module = load(name)
    documented = yaml.safe_load(module.DOCUMENTATION)["options"]["config"]
    assert (documented["type"], documented["elements"]) == ("list", "dict")
    assert documented_options(documented["suboptions"]) == coded_options(module.engine.CONFIG_SPEC["options"])
    # AnsibleModule gets a plain list of dicts; the entries are the core's
    assert module.ARGUMENT_SPEC["config"] == {"type": "list", "elements": "dict"}


def ansible_core_validated(spec, entries):
    """What AnsibleModule would make of ``config`` with the full sub-spec: ``(entries, None)`` or ``(None, errors)``."""
    result = ArgumentSpecValidator({"config": spec}).validate({"config": entries})
    if result.error_messages:
        return None, result.error_messages
    return result.validated_parameters["config"], None


def value_for(option):
    """Values of the option's own type and in its choices (the fast path), and values ansible-core
    converts or refuses (strings of numbers, numbers for strings, None, a bool for an int)."""
    kind = option.get("type", "str")
    if "choices" in option:
        own = st.sampled_from(option["choices"])
    elif kind == "int":
        own = st.integers(-3, 70000)
    elif kind == "bool":
        own = st.booleans()
    else:
        own = st.sampled_from(["10.0.0.0/8", "wan0", "0x100", "443", "1000-2000", "isp_a", ""])
    converted = st.sampled_from(["7", "yes", "no", "x", 7, 0, True, 1.5])
    return st.one_of(own, own, converted, st.none())


@st.composite
def entries_of(draw, spec, depth=0):
    options = spec["options"]
    entry = {}
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=6, unique=True)):
        option = options[name]
        if option.get("options") and depth < 2:
            entry[name] = draw(st.lists(entries_of(option, depth + 1), max_size=2))
        elif not option.get("options"):
            entry[name] = draw(value_for(option))
    aliases = [(alias, name) for name, option in options.items() for alias in option.get("aliases", [])]
    if aliases and draw(st.booleans()):
        alias, name = draw(st.sampled_from(aliases))
        entry[alias] = draw(value_for(options[name]))
    if draw(st.integers(0, 9)) == 0:
        entry["no_such_option"] = "x"
    return entry


@pytest.mark.parametrize("name", RESOURCE_MODULES)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_entries_validate_exactly_as_ansible_core_would(name, data):
    spec = load(name).engine.CONFIG_SPEC
    entries = data.draw(st.lists(entries_of(spec), min_size=1, max_size=3))
    expected, errors = ansible_core_validated(spec, [dict(entry) for entry in entries])
    if errors:
        with pytest.raises(InvalidEntry):
            validated_entries(spec, entries)
    else:
        assert validated_entries(spec, entries) == expected


def test_the_refused_entry_is_named_with_ansible_cores_reason():
    engine = load("pbr_rule").engine
    with pytest.raises(InvalidInput) as error:
        run_resource(engine.ENGINE, None, {"state": "rendered", "protocol": "211", "config": [
            {"priority": 1, "table": "5"}, {"priority": 2, "table": "5", "goto": 9}]})
    assert error.value.field == "config[1]"
    assert error.value.reason == "parameters are mutually exclusive: table|goto"
    with pytest.raises(InvalidInput) as error:
        run_resource(engine.ENGINE, None, {"state": "rendered", "protocol": "211", "config": [{"priority": 1, "tabel": "5"}]})
    assert error.value.field == "config[0]"
    assert error.value.reason.startswith("unsupported parameters: tabel. Supported parameters include: action,")


def test_a_value_to_convert_is_converted_as_ansible_core_converts_it():
    engine = load("pbr_rule").engine
    validated = validated_entries(engine.CONFIG_SPEC, [{"priority": "1000", "table": 101, "invert": "yes"}])
    assert validated == ansible_core_validated(engine.CONFIG_SPEC, [{"priority": "1000", "table": 101, "invert": "yes"}])[0]
    assert (validated[0]["priority"], validated[0]["table"], validated[0]["invert"]) == (1000, "101", True)


class UnreadableDevice(object):
    """A runner that must not be used: bad input fails before the device is read."""

    def dump(self):
        raise AssertionError("the device was read")

    def apply(self, lines):
        raise AssertionError("the device was written")


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden", "deleted", "gathered"])
def test_a_refused_entry_fails_before_the_device_is_read(state):
    engine = load("pbr_rule").engine
    with pytest.raises(InvalidInput) as error:
        run_resource(engine.ENGINE, UnreadableDevice(), {"state": state, "protocol": "211", "config": [
            {"priority": 1, "table": "5", "goto": 9}]})
    assert error.value.field == "config[0]"
