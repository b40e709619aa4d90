# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent as one file for the router: a zipapp of the collection's own module_utils.

The agent on the router runs the same engine code as the modules (issue 12: one code path, two
callers). Ansible ships a module's code to the target inside the module's own zip (AnsiballZ) at
every run; the agent is a long-running service, so it gets the same kind of zip once, installed as
a file: the ``core``, ``linux`` and ``agent`` packages under their collection import path, and a
``__main__`` that runs ``agent.cli``. Nothing of ansible-core goes in (the agent imports none of it).

The bytes depend only on the source files: entries sorted, every timestamp the same, so the role's
``copy`` of an unchanged bundle reports no change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import os
import zipfile

PACKAGE = "ansible_collections/multiwan/pbr/plugins/module_utils"
# What the agent imports: the engines, their runners, the core, and itself.
SUBPACKAGES = ("core", "linux", "agent")
# Namespace packages on disk; zipimport needs an __init__.py to import through them.
PARENT_PACKAGES = ("ansible_collections", "ansible_collections/multiwan", "ansible_collections/multiwan/pbr",
                   "ansible_collections/multiwan/pbr/plugins", PACKAGE)
INTERPRETER = "/usr/bin/python3"
MAIN = (b"from ansible_collections.multiwan.pbr.plugins.module_utils.agent.cli import main\n"
        b"raise SystemExit(main())\n")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def bundle_bytes(module_utils_directory, interpreter=INTERPRETER):
    """The zipapp (shebang line + zip) built from ``module_utils_directory``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(_entries(module_utils_directory)):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, content)
    return b"#!" + interpreter.encode() + b"\n" + buffer.getvalue()


def write_bundle(module_utils_directory, directory, interpreter=INTERPRETER):
    """Write the bundle into ``directory`` under a name made of its digest; return its path."""
    content = bundle_bytes(module_utils_directory, interpreter)
    path = os.path.join(directory, "multiwan-pbr-%s.pyz" % hashlib.sha256(content).hexdigest()[:16])
    if not os.path.exists(path):
        temporary = path + ".%d" % os.getpid()
        with open(temporary, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    return path


def _entries(module_utils_directory):
    yield "__main__.py", MAIN
    for package in PARENT_PACKAGES:
        yield package + "/__init__.py", b""
    for subpackage in SUBPACKAGES:
        source = os.path.join(module_utils_directory, subpackage)
        if not os.path.exists(os.path.join(source, "__init__.py")):
            yield "%s/%s/__init__.py" % (PACKAGE, subpackage), b""
        for name in os.listdir(source):
            if name.endswith(".py"):
                with open(os.path.join(source, name), "rb") as handle:
                    yield "%s/%s/%s" % (PACKAGE, subpackage, name), handle.read()
