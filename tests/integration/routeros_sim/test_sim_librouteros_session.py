"""Sessions through librouteros: both login methods, wrong passwords, API-SSL, !fatal."""

import ssl
import threading

import pytest
from librouteros import connect
from librouteros.exceptions import ConnectionClosed, FatalError, TrapError
from librouteros.login import token

from routeros_sim import Behaviour, Simulator
from routeros_sim.tls import anonymous_client_context

pytestmark = pytest.mark.routeros


def test_plain_login_with_the_fresh_chr_credentials(api):
    assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]


def test_challenge_login_with_a_password():
    with Simulator(password="s3cret") as sim:
        api = connect("127.0.0.1", "admin", "s3cret", port=sim.port, login_method=token)
        assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
        api.close()


@pytest.mark.parametrize("login_method", [None, token])
def test_wrong_password_raises_the_routeros_message(sim, login_method):
    extra = {"login_method": login_method} if login_method else {}
    with pytest.raises(TrapError) as raised:
        connect("127.0.0.1", "admin", "wrong", port=sim.port, timeout=5, **extra)
    assert raised.value.message == "invalid user name or password (6)"


def test_a_plain_login_to_a_legacy_router_is_not_a_login():
    # librouteros's plain login swallows the challenge; the next command is refused.
    with Simulator(behaviour=Behaviour(login_methods=("challenge",))) as sim:
        api = connect("127.0.0.1", "admin", "", port=sim.port, timeout=5)
        with pytest.raises(FatalError, match="not logged in"):
            list(api.path("system", "identity"))


def test_version_is_configurable_and_printed_like_routeros():
    with Simulator(version="7.18.2") as sim:
        api = connect("127.0.0.1", "admin", "", port=sim.port)
        (resource,) = api("/system/resource/print")
        assert resource["version"] == "7.18.2 (stable)"
        assert resource["board-name"] == "CHR"
        api.close()


def test_api_ssl_through_an_ssl_wrapper_that_verifies_the_certificate():
    with Simulator(tls=True, username="ops", password="pw") as sim:
        context = ssl.create_default_context(cafile=sim.certificate)
        context.check_hostname = False        # librouteros passes no server_hostname
        api = connect("127.0.0.1", "ops", "pw", port=sim.port, ssl_wrapper=context.wrap_socket)
        assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
        api.close()


def test_api_ssl_hostname_check_passes_for_localhost_and_127_0_0_1():
    with Simulator(tls=True) as sim:
        context = ssl.create_default_context(cafile=sim.certificate)
        for name in ("localhost", "127.0.0.1"):
            api = connect("127.0.0.1", "admin", "", port=sim.port,
                          ssl_wrapper=lambda sock, name=name: context.wrap_socket(sock, server_hostname=name))
            api.close()


def test_api_ssl_with_an_untrusted_certificate_fails_the_handshake():
    with Simulator(tls=True) as sim:
        context = ssl.create_default_context()        # system CAs do not know the simulator
        context.check_hostname = False
        with pytest.raises(ssl.SSLCertVerificationError):
            connect("127.0.0.1", "admin", "", port=sim.port, ssl_wrapper=context.wrap_socket)


def test_plain_client_against_api_ssl_fails():
    with Simulator(tls=True) as sim:
        with pytest.raises((ConnectionClosed, ConnectionResetError, OSError)):
            connect("127.0.0.1", "admin", "", port=sim.port, timeout=5)


def test_quit_raises_fatal_in_librouteros(api):
    with pytest.raises(FatalError, match="session terminated on request"):
        list(api("/quit"))


def test_dropped_connection_surfaces_as_connection_closed(sim, api):
    sim.arm_drop(1)
    tables = api.path("routing", "table")
    tables.add(name="wan2")
    with pytest.raises((ConnectionClosed, OSError)):
        tables.add(name="wan3")
    assert [row["name"] for row in sim.state.menu("/routing/table").rows()] == ["main", "wan2"]


def test_fatal_on_drop_surfaces_as_fatal_error(sim, api):
    sim.arm_drop(1, mode="fatal")
    with pytest.raises(FatalError, match="connection dropped by the simulator"):
        # the reply to the add is read, then the !fatal arrives with the next command's reply
        api.path("routing", "table").add(name="wan2")
        list(api.path("routing", "table"))


def test_concurrent_connections_share_one_router(sim):
    def add_tables(prefix):
        api = connect("127.0.0.1", "admin", "", port=sim.port, timeout=5)
        for index in range(20):
            api.path("routing", "table").add(name=f"{prefix}{index}")
        api.close()

    threads = [threading.Thread(target=add_tables, args=(prefix,)) for prefix in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [row[".id"] for row in sim.state.menu("/routing/table").rows()]
    assert len(ids) == 61 and len(set(ids)) == 61


def test_api_ssl_without_a_certificate_needs_anonymous_ciphers():
    with Simulator(tls=True, tls_anonymous=True) as sim:
        assert sim.certificate is None
        context = anonymous_client_context()
        api = connect("127.0.0.1", "admin", "", port=sim.port, ssl_wrapper=context.wrap_socket)
        assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
        api.close()
        verifying = ssl.create_default_context()
        verifying.check_hostname = False
        with pytest.raises(ssl.SSLError):
            connect("127.0.0.1", "admin", "", port=sim.port, ssl_wrapper=verifying.wrap_socket)


def test_an_armed_trap_refuses_one_write_without_applying_it(sim, api):
    tables = api.path("routing", "table")
    sim.arm_trap(2, message="failure: disk full")
    tables.add(name="a")
    list(tables)                                            # prints do not count
    with pytest.raises(TrapError, match="failure: disk full"):
        tables.add(name="b")
    tables.add(name="c")
    assert [row["name"] for row in tables] == ["main", "a", "c"]
