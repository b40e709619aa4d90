"""The nft_connmark module as a process: argument errors, bad input, rendered output, result keys.

Only states that never read the host run here (``rendered``, and failures that come before any
read); the host's own nftables is never touched. Runs against a kernel are in tests/integration.
"""

import yaml

from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import documentation, options_spec
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.nft_connmark import CONFIG_FIELDS, OWNER_COMMENT
from ansible_collections.multiwan.pbr.plugins.modules import nft_connmark as module
from support.modules import run_module

WANS = [{"name": "isp_a", "device": "wan0", "mark": "0x100", "masquerade": True},
        {"name": "isp_b", "device": "wan1", "mark": "0x200"}]


def test_rendered_returns_the_script_and_touches_nothing():
    result = run_module("nft_connmark", {"wans": WANS, "exclude": {"devices": ["wg0"]}, "state": "rendered"})
    assert result["changed"] is False and "failed" not in result
    assert result["rendered"][:3] == ["add table inet multiwan_pbr", "delete table inet multiwan_pbr",
                                      'add table inet multiwan_pbr { comment "%s"; }' % OWNER_COMMENT]
    assert "add rule inet multiwan_pbr restore_isp_b meta mark set meta mark & 0xffff02ff | 0x00000200" \
        in result["rendered"]
    assert "add rule inet multiwan_pbr nat_postrouting oifname @masquerade_devices masquerade" in result["rendered"]


def test_unknown_state_is_refused_by_the_argument_spec():
    result = run_module("nft_connmark", {"wans": WANS, "state": "merged"})
    assert result["failed"] and "state" in result["msg"] and "merged" in result["msg"]


def test_present_needs_wans():
    result = run_module("nft_connmark", {"state": "present"})
    assert result["failed"] and "wans" in result["msg"]


def test_mark_outside_the_mask_fails_before_the_host_is_read():
    # state=present: the failure comes from the parameters, before the runner exists
    result = run_module("nft_connmark", {"mask": "0xff00", "wans": [{"name": "isp_a", "device": "wan0", "mark": "0x1"}]})
    assert result["failed"] and result["field"] == "wans[0].mark" and result["value"] == "0x1"
    assert "outside mask 0xff00" in result["msg"]


def test_unquoted_yaml_hex_mask_arrives_as_a_number_and_works():
    result = run_module("nft_connmark", {"mask": 65280, "wans": WANS[:1], "state": "rendered"})
    assert "add rule inet multiwan_pbr output ct mark & 0x0000ff00 vmap @wan_marks" in result["rendered"]


def test_documentation_is_the_field_table():
    # table, mask, wans and exclude are declared once, in the engine's CONFIG_FIELDS
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    assert dict((name, options[name]) for name in ("table", "mask", "wans", "exclude")) == documentation(CONFIG_FIELDS)
    assert dict((name, module.ARGUMENT_SPEC[name]) for name in ("table", "mask", "wans", "exclude")) == \
        options_spec(CONFIG_FIELDS)
    assert set(options) == set(module.ARGUMENT_SPEC)
    assert OWNER_COMMENT in " ".join(yaml.safe_load(module.DOCUMENTATION)["description"])


def test_a_bad_table_name_is_refused_before_the_host_is_read():
    result = run_module("nft_connmark", {"wans": WANS, "table": "bad name", "state": "rendered"})
    assert result["failed"] and result["field"] == "table"
