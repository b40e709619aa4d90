"""Every module whose engine declares a field table documents ``config`` exactly as the table says.

DOCUMENTATION is a literal that ansible-doc reads without importing the module, so it is
generated from the table (tools/field_docs.py); this test fails when the two drift apart.
"""

import importlib
import os
import sys

import pytest
import yaml

from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import documentation

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import field_docs  # noqa: E402  pylint: disable=wrong-import-position

MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py"))


def engine_of(name):
    module = importlib.import_module("ansible_collections.multiwan.pbr.plugins.modules." + name)
    return getattr(getattr(module, "engine", None), "ENGINE", None)


TABLED = [name for name in MODULES if engine_of(name) is not None and engine_of(name).config_fields]


def test_the_resource_modules_declare_their_fields_in_a_table():
    assert "pbr_rule" in TABLED


@pytest.mark.parametrize("name", TABLED)
def test_documentation_is_the_field_table(name):
    module = importlib.import_module("ansible_collections.multiwan.pbr.plugins.modules." + name)
    documented = yaml.safe_load(module.DOCUMENTATION)["options"]["config"]["suboptions"]
    assert documented == documentation(engine_of(name).config_fields)
    with open(os.path.join(ROOT, "plugins", "modules", name + ".py")) as handle:
        source = handle.read()
    assert field_docs.rewritten(source, engine_of(name).config_fields) == source, "run tools/field_docs.py " + name
