#!/usr/bin/env bash
# The lab's offline apt repository: the .debs the role linux_multiwan installs on the router,
# with every dependency the router image lacks, indexed as a flat repository.
#
#   lab/build-apt-repo.sh [ROUTER_IMAGE]     (lab/build-image.sh runs it after the images)
#
# The lab containers have no network, so the router's apt cannot reach a mirror. This downloads
# on the host, with the host's apt and sources but the router image's dpkg status, exactly what
# `apt-get install` would fetch on the router; apt-ftparchive indexes it. `lab.py up` bind-mounts
# the directory read-only into the router at /srv/multiwan-lab-apt, the only source the router's
# apt knows (lab/router-rootfs.sh). The repository is rebuilt only when the package list or the
# router image changes (the key file records both).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR
readonly ROUTER_IMAGE=${1:-localhost/multiwan-lab-router:bookworm}
readonly REPO_DIR=${LAB_DIR}/.state/apt-repo
readonly KEY_FILE=${REPO_DIR}/.key
# What roles/linux_multiwan/vars/main.yml installs on Debian, and python3-apt, which Ansible's
# apt module installs for itself first on a router that lacks it.
readonly PACKAGES=(python3-netaddr iproute2 nftables conntrack procps python3-apt)

die() { echo "build-apt-repo: $*" >&2; exit 1; }

repo_key() {
    echo "${PACKAGES[*]} $(podman image inspect --format '{{.Id}}' "${ROUTER_IMAGE}")"
}

# apt-get on the host, but planning against another system's dpkg status and downloading
# into another directory; no lock, cache or list of the host's is written.
router_apt() {
    local state=$1
    shift
    apt-get -q -o Dir::State::status="${state}/status" \
        -o Dir::Cache::archives="${state}/archives" \
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
        -o Debug::NoLocking=1 "$@"
}

download() {
    local state=$1
    mkdir -p "${state}/archives/partial"
    podman run --rm --network none --entrypoint cat "${ROUTER_IMAGE}" /var/lib/dpkg/status >"${state}/status"
    router_apt "${state}" install --download-only --no-install-recommends -y "${PACKAGES[@]}" >/dev/null
}

main() {
    [[ ${EUID} -eq 0 ]] || die "run as root (apt-get, podman)"
    command -v apt-ftparchive >/dev/null || die "apt-ftparchive is missing: apt-get install apt-utils (lab/setup-host.sh)"
    podman image exists "${ROUTER_IMAGE}" || die "image ${ROUTER_IMAGE} is missing: run lab/build-image.sh"
    local key work started
    key=$(repo_key)
    if [[ -f ${KEY_FILE} && $(cat "${KEY_FILE}") == "${key}" ]]; then
        echo "build-apt-repo: ${REPO_DIR} is current"
        return
    fi
    started=${SECONDS}
    work=$(mktemp -d /var/tmp/multiwan-lab-apt.XXXXXX)
    # shellcheck disable=SC2064  # expand now: the trap must remove this build's directory
    trap "rm -rf '${work}'" EXIT
    # Host lists older than the mirror name .debs it no longer has: refresh them once and retry.
    if ! download "${work}" 2>"${work}/error"; then
        echo "build-apt-repo: download failed ($(tail -n 1 "${work}/error")); apt-get update and retry"
        apt-get update -qq
        download "${work}"
    fi
    mkdir -p "${work}/repo"
    mv "${work}"/archives/*.deb "${work}/repo/"
    (cd "${work}/repo" && apt-ftparchive packages . >Packages && apt-ftparchive release . >Release)
    echo "${key}" >"${work}/repo/.key"
    chmod -R a+rX "${work}/repo"
    rm -rf "${REPO_DIR}"
    mkdir -p "$(dirname "${REPO_DIR}")"
    mv "${work}/repo" "${REPO_DIR}"
    echo "build-apt-repo: ${REPO_DIR}: $(find "${REPO_DIR}" -name '*.deb' | wc -l) packages" \
        "($(du -sh "${REPO_DIR}" | cut -f1)) in $((SECONDS - started))s"
}

main "$@"
