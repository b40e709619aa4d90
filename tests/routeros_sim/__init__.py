"""A RouterOS 7 API simulator: the real wire protocol over TCP, with stateful menus.

    from routeros_sim import Simulator
    with Simulator(password="secret") as sim:
        sim.state.menu("/routing/table").add({"name": "wan2", "fib": ""})
        ...  # librouteros.connect("127.0.0.1", "admin", "secret", port=sim.port)
        sim.set_reachable("198.18.2.2", False)       # a monitor target goes dark
        sim.lookup("203.0.113.7")                    # where a packet goes now: a Decision

See README.md beside this file for what is simulated and what is configurable.
"""

from .menu import Menu
from .routing import Decision, RouteState
from .server import CommandRecord, Simulator
from .state import Behaviour, RouterState
from .traps import Trap

__all__ = ["Behaviour", "CommandRecord", "Decision", "Menu", "RouteState", "RouterState", "Simulator", "Trap"]
