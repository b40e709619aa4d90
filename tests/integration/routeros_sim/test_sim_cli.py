"""``python -m routeros_sim``: prints its port, serves until killed."""

import os
import ssl
import subprocess
import sys

import pytest
from librouteros import connect

pytestmark = pytest.mark.routeros

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start(*arguments):
    process = subprocess.Popen([sys.executable, "-m", "routeros_sim", "--port", "0", *arguments],
                               cwd=TESTS, stdout=subprocess.PIPE, text=True)
    lines = [process.stdout.readline().strip()]
    if "--tls" in arguments:
        lines.append(process.stdout.readline().strip())
    return process, dict(line.split("=", 1) for line in lines)


@pytest.fixture
def started():
    processes = []

    def run(*arguments):
        process, printed = start(*arguments)
        processes.append(process)
        return printed
    yield run
    for process in processes:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_cli_prints_its_port_and_serves(started):
    printed = started("--username", "ops", "--password", "pw", "--version", "7.19.1")
    api = connect("127.0.0.1", "ops", "pw", port=int(printed["port"]), timeout=5)
    (resource,) = api("/system/resource/print")
    assert resource["version"] == "7.19.1 (stable)"
    api.close()


def test_cli_serves_api_ssl(started):
    printed = started("--tls")
    context = ssl.create_default_context(cafile=printed["certificate"])
    context.check_hostname = False
    api = connect("127.0.0.1", "admin", "", port=int(printed["port"]), ssl_wrapper=context.wrap_socket)
    assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
    api.close()


def test_cli_sets_any_switch_after_the_environment(started, monkeypatch):
    monkeypatch.setenv("ROUTEROS_SIM_BEHAVIOUR", "builtin_rules=flag-only; table_removal=refuse")
    printed = started("--behaviour", "builtin_rules=present", "--table-removal", "cascade")
    api = connect("127.0.0.1", "admin", "", port=int(printed["port"]), timeout=5)
    tables = api.path("routing", "table")
    tables.add(name="wan2", fib="")
    api.path("routing", "rule").add(table="wan2")
    assert [rule.get("chain") for rule in api.path("routing", "rule")] == ["local", None, "main"]
    tables.remove(next(row[".id"] for row in tables if row["name"] == "wan2"))
    assert [rule.get("chain") for rule in api.path("routing", "rule")] == ["local", "main"]   # cascaded
    api.close()
