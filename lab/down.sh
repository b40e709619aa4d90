#!/usr/bin/env bash
# Remove the lab's containers (their namespaces take the veths along).
# Arguments go to `lab.py` before `down` (e.g. --prefix NAME).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR

python3 "${LAB_DIR}/lab.py" "$@" down
