#!/usr/bin/env bash
# `ansible-test sanity` over the collection as it would be committed, on a fresh machine, without Docker.
#
# ansible-test only runs from a directory named ansible_collections/<namespace>/<name>, and refuses symlinks that
# lead out of it, so the files git would commit (tracked + untracked-not-ignored) are copied into a scratch tree
# .build/ansible_collections/multiwan/pbr. That tree gets a `git init` of its own: ansible-test lists files with git
# when it finds a .git above the collection, and the nearest one would otherwise be this checkout's, which ignores
# .build/ and so would show ansible-test no files at all. Nothing is ever committed in the scratch repository.
#
# Every sanity test runs in a virtualenv ansible-test builds under ~/.ansible/test/venv from PyPI (cached: later runs
# install nothing). Each new virtualenv is bootstrapped with a get-pip.py that ansible-test downloads from a host
# this network cannot reach; a stand-in that installs the same pinned pip from its wheel is written in its place.
# The controller is this venv's python as it is: neither --requirements nor --venv, so the project's venv is
# never altered and no extra controller virtualenv is built.
#
# The shellcheck sanity test needs the `shellcheck` program (Debian package shellcheck); without it ansible-test only
# warns and passes the test, so this script refuses to run without it.
# After the sanity tests, the changelog fragments are also linted by the antsibull-changelog pinned in the venv (the
# release tool), not only by the older one ansible-test's changelog test pins.
#
# Usage: tools/sanity.sh [extra ansible-test sanity arguments, e.g. --test validate-modules]
# Every default sanity test runs; none is skipped.
set -euo pipefail

CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)
VENV_BIN=$CHECKOUT/.venv/bin
SCRATCH=$CHECKOUT/.build/ansible_collections/multiwan/pbr
PYTHON_VERSION=${SANITY_PYTHON:-3.11}   # the controller python: Debian bookworm's, as in .venv

say() { printf '\n==> %s\n' "$*"; }

write_get_pip_stand_in() {
    # The file name carries the pip version ansible-test pins, e.g. get_pip_24_2.py for ansible-core 2.19.
    # Like the real get-pip.py, the stand-in runs pip out of that version's wheel (a wheel is importable as a zip)
    # and installs the same wheel into the new virtualenv. The wheel is fetched once with the venv's pip and kept
    # beside the stand-in, so building a sanity virtualenv needs no index for pip itself.
    local cache=$HOME/.ansible/test/cache pip_version stand_in wheel_dir
    pip_version=$(cd / && "$VENV_BIN/python" -c '
from ansible_test._internal.python_requirements import get_venv_packages

class Python:
    version = "'"$PYTHON_VERSION"'"

print(get_venv_packages(Python())["pip"])')
    stand_in=$cache/get_pip_${pip_version//./_}.py
    wheel_dir=$cache/pip-wheels
    # A real get-pip.py someone saved there is left alone; an older stand-in of ours is refreshed.
    if [[ -e $stand_in ]] && ! grep -q 'multiwan.pbr stand-in' "$stand_in"; then
        return
    fi
    if [[ ! -e $wheel_dir/pip-$pip_version-py3-none-any.whl ]]; then
        "$VENV_BIN/python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$wheel_dir" "pip==$pip_version"
    fi
    cat >"$stand_in" <<EOF
"""multiwan.pbr stand-in for get-pip.py (written by tools/sanity.sh).

ansible-test runs this inside each new sanity virtualenv as
\`get-pip.py [pip options] pip==$pip_version --no-setuptools --no-wheel\`; the real script cannot be downloaded here.
"""
import os
import sys

WHEEL_DIR = "$wheel_dir"
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")  # get-pip.py's own flags: nothing but pip is installed

sys.path.insert(0, os.path.join(WHEEL_DIR, "pip-$pip_version-py3-none-any.whl"))
from pip._internal.cli.main import main  # noqa: E402  (importable only once the wheel is on sys.path)

pip_arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
sys.exit(main(["install", "--quiet", "--no-index", "--find-links", WHEEL_DIR, *pip_arguments]))
EOF
    echo "pip bootstrap stand-in: $stand_in (pip $pip_version from $wheel_dir)"
}

copy_committable_files() {
    # `git ls-files --cached` still lists tracked files deleted from the work tree: copy only what exists.
    rm -rf "$SCRATCH"
    mkdir -p "$SCRATCH"
    (cd "$CHECKOUT" && git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' path; do
              if [[ -e $path || -L $path ]]; then printf '%s\0' "$path"; fi
          done \
        | tar --null --files-from=- --create --file=-) \
        | tar --extract --file=- --directory="$SCRATCH"
    git -C "$SCRATCH" init --quiet
    echo "copied $(git -C "$SCRATCH" ls-files --others --exclude-standard | wc -l) files to $SCRATCH"
}

require_shellcheck() {
    if ! command -v shellcheck >/dev/null; then
        echo "tools/sanity.sh: shellcheck is missing (apt-get install shellcheck); ansible-test would skip its test" >&2
        exit 2
    fi
}

take_lock() {
    # Two runs at once (the lead and a helper) would delete each other's scratch tree.
    mkdir -p "$CHECKOUT/.build"
    exec 9>"$CHECKOUT/.build/sanity.lock"
    if ! flock --nonblock 9; then
        echo "waiting for another tools/sanity.sh run in this checkout to finish"
        flock 9
    fi
}

main() {
    local started=$SECONDS status=0
    require_shellcheck
    take_lock
    say "pip bootstrap for ansible-test's virtualenvs"
    write_get_pip_stand_in
    say "scratch collection tree"
    copy_committable_files
    say "ansible-test sanity --python $PYTHON_VERSION $*"
    (cd "$SCRATCH" && PATH=$VENV_BIN:$PATH "$VENV_BIN/ansible-test" sanity --python "$PYTHON_VERSION" "$@") \
        || status=$?
    say "antsibull-changelog lint"
    (cd "$SCRATCH" && "$VENV_BIN/antsibull-changelog" lint) || status=$?
    if ((status == 0)); then
        say "sanity passed in $((SECONDS - started)) s"
    else
        say "sanity FAILED (exit $status) in $((SECONDS - started)) s; details in $SCRATCH/tests/output/"
    fi
    return "$status"
}

main "$@"
