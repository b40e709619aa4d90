"""Two views of the collection: the checkout for Python imports, the built tarball for everything Ansible runs.

Python finds a collection only under ``ansible_collections/<namespace>/<name>``. Unit tests (and integration tests
that import engines or run a module file as a process) import the working tree through a symlink,
``.build/checkout/ansible_collections/multiwan/pbr`` -> the checkout, so an edit is seen at once.

Everything ansible-playbook, ansible-doc, Molecule and the benches run comes from ``.collections``, where
``make collection`` (tools/install_collection.py) installs the tarball ``ansible-galaxy collection build`` makes:
the collection exactly as users install it. Before a session starts, that copy is rebuilt when it differs from
the checkout, so a test never runs an old build. ``.collections`` is never put on this process's ``sys.path``.
"""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
CHECKOUT_VIEW = os.path.join(ROOT, ".build", "checkout")
LINK = os.path.join(CHECKOUT_VIEW, "ansible_collections", "multiwan", "pbr")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(os.path.relpath(ROOT, os.path.dirname(LINK)), LINK)
    except FileExistsError:     # another run made it first
        pass
for path in (CHECKOUT_VIEW, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)


def pytest_configure(config):
    if hasattr(config, "workerinput"):      # an xdist worker: the controller has done it
        return
    spec = importlib.util.spec_from_file_location("install_collection", os.path.join(ROOT, "tools", "install_collection.py"))
    installer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(installer)
    if installer.ensure_installed():
        print("conftest.py: the installed collection in .collections was older than the checkout; rebuilt it")


try:
    from hypothesis import HealthCheck, settings
    settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=100, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:      # hypothesis is a test requirement; unit tests that need it import it
    pass
