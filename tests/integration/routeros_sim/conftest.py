"""Fixtures for the simulator's conformance tests: a running simulator, a librouteros
connection to it, and a raw-socket client."""

import os
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from routeros_sim import Simulator  # noqa: E402
from routeros_sim.client import RawClient  # noqa: E402

librouteros = pytest.importorskip("librouteros")


@pytest.fixture
def sim():
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def api(sim):
    connection = librouteros.connect("127.0.0.1", sim.username, sim.password, port=sim.port,
                                     timeout=5)
    yield connection
    connection.close()


@pytest.fixture
def raw(sim):
    with RawClient(sim.port) as client:
        client.login(sim.username, sim.password)
        yield client
