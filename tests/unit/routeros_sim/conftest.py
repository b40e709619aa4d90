"""Put ``tests/`` on sys.path so the simulator package imports as ``routeros_sim``."""

import os
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
