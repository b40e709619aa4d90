#!/usr/bin/env bash
# Everything `make lab-up` needs, from a fresh Debian bookworm host to a running lab:
# prepare the host (quick when already done), build the image unless it exists,
# then (re)create the lab. Arguments go to `lab.py` before `up` (e.g. --prefix NAME).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR

"${LAB_DIR}/setup-host.sh"
"${LAB_DIR}/build-image.sh"
python3 "${LAB_DIR}/lab.py" "$@" up
