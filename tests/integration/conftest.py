"""Integration tests that need something this machine may not have are deselected, never passed.

A test function with ``needs_env = "VAR"`` runs only when the environment variable ``VAR`` is set
(e.g. the real-CHR Molecule scenario needs ``ROUTEROS_CHR_IMAGE``); otherwise pytest reports it
as deselected, so a run without it cannot look like it passed.
"""

import os


def pytest_collection_modifyitems(config, items):
    missing = [item for item in items
               if getattr(getattr(item, "function", None), "needs_env", None)
               and not os.environ.get(item.function.needs_env)]
    if missing:
        config.hook.pytest_deselected(items=missing)
        items[:] = [item for item in items if item not in missing]
