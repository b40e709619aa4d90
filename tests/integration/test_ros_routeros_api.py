"""The RouterOS runner against the simulator: pipelining, TLS, connection failures."""

import math

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import ScriptLine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.api import WINDOW, RouterOsApi
from routeros_sim import Simulator
from support.modules import run_module

pytestmark = pytest.mark.routeros

RULES = "/routing/rule"


def runner_for(sim, **params):
    params = dict(dict(hostname="127.0.0.1", port=sim.port, state="merged"), **params)
    return RouterOsApi(params, [RULES])


def test_a_thousand_adds_and_moves_cost_a_few_round_trips_not_thousands():
    with Simulator() as sim:
        sim.state.menu(RULES).add({"dst-address": "10.8.0.0/16", "comment": "office VPN"})
        runner = runner_for(sim)
        adds = ["/routing rule add dst-address=10.%d.%d.0/24 comment=multiwan.pbr:r%d" % (n // 256, n % 256, n)
                for n in range(1000)]
        moves = ["/routing rule move [find comment=multiwan.pbr:r%d] destination=*1" % n for n in range(1000)]
        runner.apply([ScriptLine(line) for line in adds + moves])
        runner.close()
        windows = math.ceil(1000 / WINDOW)
        # the adds go out in windows; the first move waits for the last adds' ids; the moves in windows
        assert runner.round_trips == 2 * windows
        assert sim.write_count == 2000 and len(set(command.tag for command in sim.commands)) == 2000
        rows = sim.state.menu(RULES).rows()
        assert [row.get("comment") for row in rows][:2] == ["multiwan.pbr:r0", "multiwan.pbr:r1"]
        assert rows[-1]["comment"] == "office VPN"


def test_one_print_per_menu_per_read():
    with Simulator() as sim:
        runner = RouterOsApi(dict(hostname="127.0.0.1", port=sim.port, state="gathered"),
                             [RULES, "/routing/table", "/ip/route"])
        dump = runner.dump()
        runner.close()
        assert sorted(dump) == ["/ip/route", RULES, "/routing/table"]
        assert sim.print_counts == {RULES: 1, "/routing/table": 1, "/ip/route": 1}


def test_a_trap_names_the_line_and_routeros_message():
    with Simulator() as sim:
        runner = runner_for(sim)
        with pytest.raises(ApplyFailed) as error:
            runner.apply([ScriptLine("/routing rule add table=nosuch comment=multiwan.pbr:x"),
                          ScriptLine("/routing rule add table=main comment=multiwan.pbr:y")])
        runner.close()
        assert error.value.command == "/routing rule add table=nosuch comment=multiwan.pbr:x"
        assert error.value.device_message == "input does not match any value of table"


def test_nothing_listening_is_a_clear_error():
    with Simulator() as sim:
        port = sim.port
    with pytest.raises(DeviceError) as error:
        RouterOsApi(dict(hostname="127.0.0.1", port=port, state="gathered"), [RULES]).dump()
    assert str(error.value).startswith("cannot talk to the RouterOS API at 127.0.0.1:%d: " % port)
    assert "refused" in str(error.value)


@pytest.fixture(scope="module")
def tls_sim():
    with Simulator(tls=True) as sim:
        yield sim


def gather(sim, **args):
    args = dict(dict(hostname="127.0.0.1", port=sim.port, state="gathered", tls=True), **args)
    return run_module("ros_routing_table", args)


def test_tls_with_the_routers_ca_works(tls_sim):
    result = gather(tls_sim, ca_path=tls_sim.certificate, validate_cert_hostname=True)
    assert result["gathered"] == [] and not result.get("failed"), result


def test_tls_without_the_ca_fails_on_verification(tls_sim):
    result = gather(tls_sim)
    assert result["failed"] and result["msg"].startswith("TLS with 127.0.0.1:%d failed: " % tls_sim.port)
    assert "certificate verify failed" in result["msg"]


def test_tls_checks_the_hostname_by_default():
    # issue 11, defect 11: a valid certificate for another host used to be accepted unless asked
    with Simulator(tls=True, host="127.0.0.2") as sim:       # its certificate names localhost, 127.0.0.1
        result = gather(sim, hostname="127.0.0.2", ca_path=sim.certificate)
        assert result["failed"] and "127.0.0.2" in result["msg"] and "mismatch" in result["msg"].lower()
        assert not gather(sim, hostname="127.0.0.2", ca_path=sim.certificate, validate_cert_hostname=False).get("failed")


def test_tls_without_validation_works(tls_sim):
    assert gather(tls_sim, validate_certs=False)["gathered"] == []


def test_plain_api_against_the_tls_port_is_a_clear_error(tls_sim):
    result = gather(tls_sim, tls=False, timeout=2)
    assert result["failed"] and "127.0.0.1:%d" % tls_sim.port in result["msg"]


def test_tls_against_a_router_without_a_certificate():
    with Simulator(tls=True, tls_anonymous=True) as sim:
        assert gather(sim, validate_certs=False)["gathered"] == []
