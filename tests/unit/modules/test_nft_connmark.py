"""The nft_connmark module as a process: argument errors, bad input, rendered output, result keys.

Only states that never read the host run here (``rendered``, and failures that come before any
read); the host's own nftables is never touched. Runs against a kernel are in tests/integration.
"""

from support.modules import run_module

WANS = [{"name": "isp_a", "device": "wan0", "mark": "0x100", "masquerade": True}, {"name": "isp_b", "device": "wan1"}]


def test_rendered_returns_the_script_and_touches_nothing():
    result = run_module("nft_connmark", {"wans": WANS, "exclude": {"devices": ["wg0"]}, "state": "rendered"})
    assert result["changed"] is False and "failed" not in result
    assert result["rendered"][:3] == ["add table inet multiwan_pbr", "delete table inet multiwan_pbr",
                                      "add table inet multiwan_pbr"]
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
