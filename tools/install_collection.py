"""Build the collection as users get it and install it into .collections, where every playbook run finds it.

    python tools/install_collection.py             # build and install (`make collection`)
    python tools/install_collection.py --if-stale  # only when the checkout differs from what is installed

``ansible-galaxy collection build`` writes ``.build/dist/multiwan-pbr-<version>.tar.gz`` (galaxy.yml's
``build_ignore`` says what stays out) and ``ansible-galaxy collection install --offline --force`` unpacks it into
``.collections/ansible_collections/multiwan/pbr``. ``ANSIBLE_COLLECTIONS_PATH`` (the Makefile, ansible.cfg, the
Molecule scenarios, the tests and benches that run ansible-playbook) points there, so every playbook, role and
module name resolves to the built artifact, never to the working tree. Python-level tests import the checkout
itself instead, through ``.build/checkout`` (conftest.py).

The installed copy is stale when the files the build would pack (the same walk ansible-galaxy makes, with the
same checksums) or galaxy.yml's metadata differ from the installed FILES.json and MANIFEST.json; conftest.py
rebuilds it then, so ``pytest`` run by hand never tests an old copy. A lock keeps two runs from installing over
each other.
"""

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.path.join(ROOT, ".build", "dist")
COLLECTIONS = os.path.join(ROOT, ".collections")
INSTALLED = os.path.join(COLLECTIONS, "ansible_collections", "multiwan", "pbr")
LOCK = os.path.join(ROOT, ".build", "collection.lock")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-stale", action="store_true", help="do nothing when the installed copy is current")
    options = parser.parse_args(argv)
    tarball = ensure_installed() if options.if_stale else build_and_install()
    print("multiwan.pbr in %s: %s" % (os.path.relpath(COLLECTIONS, ROOT),
                                      "current" if tarball is None else "installed from " + os.path.relpath(tarball, ROOT)))
    return 0


def ensure_installed():
    """Build and install when the installed copy is missing or stale; the tarball's path, or None when current."""
    with _locked():
        if is_current():
            return None
        return _build_and_install()


def build_and_install():
    with _locked():
        return _build_and_install()


def build(output_dir, source=ROOT):
    """``ansible-galaxy collection build`` of ``source`` into ``output_dir``; the tarball's path."""
    os.makedirs(output_dir, exist_ok=True)
    out = _galaxy(["collection", "build", "--force", "--output-path", output_dir, source])
    tarball = out.strip().rsplit(" ", 1)[-1]     # "Created collection for multiwan.pbr at <path>"
    if not os.path.isfile(tarball):
        raise RuntimeError("ansible-galaxy collection build said %r; no tarball found" % out.strip())
    return tarball


def install(tarball, collections_path):
    """``ansible-galaxy collection install --offline --force`` of ``tarball`` into ``collections_path``."""
    link = os.path.join(collections_path, "ansible_collections", "multiwan", "pbr")
    if os.path.islink(link):        # the symlink of the old layout: remove the link, never what it points to
        os.unlink(link)
    _galaxy(["collection", "install", "--offline", "--force", "-p", collections_path, tarball],
            collections_path=collections_path)


def is_current(installed=INSTALLED, source=ROOT):
    """Whether ``installed`` holds exactly what a build of ``source`` would pack (files, checksums, metadata)."""
    try:
        from ansible.galaxy.collection import _build_files_manifest, _build_manifest, _get_meta_from_src_dir
        meta = _get_meta_from_src_dir(source.encode())
        files = _build_files_manifest(source.encode(), meta["namespace"], meta["name"], meta["build_ignore"],
                                      meta["manifest"], meta["license_file"])
        info = _build_manifest(**meta)["collection_info"]
    except (ImportError, KeyError, TypeError):  # ansible-galaxy's internals moved: rebuild, which is always right
        return False
    try:
        with open(os.path.join(installed, "FILES.json")) as handle:
            installed_files = json.load(handle)["files"]
        with open(os.path.join(installed, "MANIFEST.json")) as handle:
            installed_info = json.load(handle)["collection_info"]
    except (OSError, ValueError, KeyError):
        return False
    return _file_set(files["files"]) == _file_set(installed_files) and info == installed_info


def _file_set(entries):
    return {(entry["name"], entry["ftype"], entry.get("chksum_sha256")) for entry in entries}


def _build_and_install():
    shutil.rmtree(DIST, ignore_errors=True)     # only this version's tarball in it
    tarball = build(DIST)
    install(tarball, COLLECTIONS)
    return tarball


def _galaxy(arguments, collections_path=COLLECTIONS):
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1")
    completed = subprocess.run([galaxy, *arguments], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if completed.returncode != 0:
        raise RuntimeError("ansible-galaxy %s failed (%d): %s%s"
                           % (" ".join(arguments[:2]), completed.returncode, completed.stderr, completed.stdout))
    return completed.stdout


class _locked(object):
    def __enter__(self):
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        self.handle = open(LOCK, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()


if __name__ == "__main__":
    sys.exit(main())
