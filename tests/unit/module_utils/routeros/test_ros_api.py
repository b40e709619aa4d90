"""The RouterOS runner's checks that need no router: every value is checked before a connection is made."""

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros import ros_route, ros_routing_rule
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import runner_factory

PARAMS = dict(hostname="192.0.2.1", username="admin", password="", port=None, tls=False, validate_certs=True,
              validate_cert_hostname=True, ca_path=None, timeout=10, encoding="ASCII", running_config=None,
              placement=None, state="merged", config=[{"name": "dns", "dst_address": "198.51.100.53", "table": "wan2"}])


class Connected(AssertionError):
    """The runner tried to connect."""


def refuse_to_connect(*args, **kwargs):
    raise Connected("connected to %s" % (args,))


@pytest.mark.parametrize("engine, overrides, field", [
    (ros_routing_rule, {"encoding": "no-such-codec"}, "encoding"),
    (ros_routing_rule, {"encoding": "base64"}, "encoding"),          # a codec, but not one for text
    (ros_routing_rule, {"password": "p\u00e4ssw\u00f6rd"}, "password"),
    (ros_routing_rule, {"username": "j\u00fcrgen"}, "username"),
    (ros_routing_rule, {"port": 70000}, "port"),
    (ros_routing_rule, {"config": [{"name": "x", "dst_address": "not an address"}]}, "dst_address"),
    (ros_routing_rule, {"config": [{"name": "x", "comment": "caf\u00e9"}]}, "comment"),
    (ros_routing_rule, {"config": [{"name": "x", "dst_address": "192.0.2.0/24", "src_address": "2001:db8::1"}]},
     "src_address"),
    (ros_route, {"state": "replaced", "config": [{"name": "x", "dst_address": "192.0.2.0/24"}]}, "gateway"),
    (ros_route, {"config": [{"name": "x", "gateway": "192.0.2.1", "distance": 300}]}, "distance"),
    (ros_route, {"state": "gathered", "config": None, "encoding": "no-such-codec"}, "encoding"),
])
def test_every_value_is_checked_before_connecting(engine, overrides, field):
    """Issue 11, defect 17: a bad ``encoding`` was a traceback, a password the encoding cannot carry
    was blamed on the port, and ``config`` was checked only after login and a print."""
    make_runner = runner_factory(engine.ENGINE, engine.PATHS, connect=refuse_to_connect)
    with pytest.raises(InvalidInput) as error:
        make_runner(None, dict(PARAMS, **overrides)).dump()      # dump() would connect
    assert error.value.field == field


def test_a_password_the_encoding_cannot_carry_is_named_but_never_shown():
    make_runner = runner_factory(ros_routing_rule.ENGINE, ros_routing_rule.PATHS, connect=refuse_to_connect)
    with pytest.raises(InvalidInput) as error:
        make_runner(None, dict(PARAMS, password="s3cr\u00e9t"))
    text = "%s %r" % (error.value, error.value.value)
    assert error.value.field == "password" and "encoding=ASCII" in text
    assert not any(part in text for part in ("s3cr", "\u00e9", "\\xe9", "port"))


def test_good_values_build_a_runner_that_connects_only_when_used():
    runner = runner_factory(ros_routing_rule.ENGINE, ros_routing_rule.PATHS, connect=refuse_to_connect)(
        None, dict(PARAMS))
    with pytest.raises(Connected):
        runner.dump()
