"""The three RouterOS module shells: documentation matches the argument spec, offline states work.

The modules run as processes (``run_module``), the way Ansible runs them; ``rendered`` and
``parsed`` need no router, so they run here; everything else is in the integration tests
against the API simulator.
"""

import importlib
import json
import os

import pytest
import yaml

from ansible_collections.multiwan.pbr.plugins.doc_fragments import routeros_api as fragment
from ansible_collections.multiwan.pbr.plugins.module_utils.core.config_entries import validated_entries
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import CONNECTION_OPTIONS
from support.modules import run_module

MODULES = ("ros_routing_rule", "ros_routing_table", "ros_route", "ros_netwatch")
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "routeros")
OFFLINE = {"hostname": "192.0.2.1"}     # never contacted


def load_module(name):
    return importlib.import_module("ansible_collections.multiwan.pbr.plugins.modules." + name)


def documented_spec(options):
    """A doc ``options`` block reduced to what ``argument_spec`` must say."""
    spec = {}
    for name, doc in options.items():
        entry = dict((key, doc[key]) for key in ("type", "choices", "default", "elements", "aliases", "required")
                     if key in doc)
        if "suboptions" in doc:
            entry["options"] = documented_spec(doc["suboptions"])
        spec[name] = entry
    return spec


def code_spec(spec):
    reduced = {}
    for name, entry in spec.items():
        entry = dict((key, value) for key, value in entry.items() if key != "no_log")
        if "options" in entry:
            entry["options"] = code_spec(entry["options"])
        reduced[name] = entry
    return reduced


def test_connection_options_match_the_doc_fragment_exactly():
    documented = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    assert code_spec(CONNECTION_OPTIONS) == documented_spec(documented)
    assert CONNECTION_OPTIONS["password"]["no_log"] is True


@pytest.mark.parametrize("name", MODULES)
def test_module_options_are_documented_as_coded(name):
    module = load_module(name)
    documented = yaml.safe_load(module.DOCUMENTATION)["options"]
    # ``config``'s entries are compared with the engine's CONFIG_SPEC in test_config_entries
    own = dict((key, value) for key, value in module.ARGUMENT_SPEC.items()
               if key not in CONNECTION_OPTIONS and key not in ("state", "running_config", "config"))
    documented.pop("config")
    assert code_spec(own) == documented_spec(documented)
    for section in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(module, section))


@pytest.mark.parametrize("name, fixture", [("ros_routing_rule", "ros7_routing_rule_print.json"),
                                           ("ros_routing_table", "ros7_routing_table_print.json"),
                                           ("ros_route", "ros7_ip_route_print.json"),
                                           ("ros_netwatch", "ros7_netwatch_print.json")])
def test_parsed_output_is_valid_config_for_the_module_itself(name, fixture):
    with open(os.path.join(FIXTURES, fixture)) as handle:
        running_config = handle.read()
    result = run_module(name, dict(OFFLINE, state="parsed", running_config=running_config))
    assert result["parsed"] and not result.get("failed")
    assert validated_entries(load_module(name).engine.CONFIG_SPEC, result["parsed"])


def test_rendered_needs_no_router():
    result = run_module("ros_routing_rule", dict(OFFLINE, state="rendered", config=[
        {"name": "dns-via-wan2", "dst_address": "198.51.100.53", "table": "wan2"}]))
    assert result == dict(result, changed=False, rendered=[
        "/routing rule add dst-address=198.51.100.53/32 table=wan2 comment=multiwan.pbr:dns-via-wan2"])


@pytest.mark.parametrize("name, args", [
    ("ros_routing_rule", dict(state="rendered", config=[{"name": "dns", "dst_address": "198.51.100.53"}])),
    ("ros_routing_table", dict(state="rendered", config=[{"name": "wan2", "fib": True}])),
    ("ros_route", dict(state="parsed", running_config="[]")),
])
def test_offline_states_need_no_hostname(name, args):
    """Issue 11, "Also": ``rendered`` (and ``parsed``) need no router, so no ``hostname``."""
    result = run_module(name, args)
    assert not result.get("failed") and not result["changed"], result


def test_bad_input_fails_naming_field_and_value():
    result = run_module("ros_route", dict(OFFLINE, state="rendered", config=[
        {"name": "x", "gateway": "192.0.2.1", "distance": 300}]))
    assert result["failed"] and result["field"] == "distance" and result["value"] == 300
    assert "distance=300" in result["msg"]


def test_merged_needs_config():
    result = run_module("ros_routing_table", dict(OFFLINE, state="merged"))
    assert result["failed"] and "config" in result["msg"]


def test_password_is_not_logged():
    result = run_module("ros_routing_table", dict(OFFLINE, password="s3cret-pw", state="rendered",
                                                  config=[{"name": "wan2"}]))
    assert "s3cret-pw" not in json.dumps(result)
