#!/usr/bin/env bash
# Prepare a Debian (bookworm) host for everything `make test` and `make demo` run: the system
# packages, podman's configuration for the lab. Run as root. Safe to run again: it installs only
# what is missing and rewrites the podman configuration only when it lacks the lab's settings.
# On a system without apt it says which packages to install and stops.
set -euo pipefail

readonly PACKAGES=(
    # the build and the Python venv; ansible-test's shellcheck sanity test; the data-path bench's iperf3
    make python3 python3-venv python3-yaml shellcheck iperf3 openssl ca-certificates
    # the real-kernel tests and the lab's wiring, run from the host inside namespaces
    iproute2 nftables conntrack iptables iputils-ping procps
    # the podman lab: images built with mmdebstrap, the router's offline apt repository
    # (apt-ftparchive), ssh to the router through its network namespace (socat)
    podman runc conmon mmdebstrap apt-utils openssh-client socat
)
readonly CONTAINERS_CONF=/etc/containers/containers.conf
readonly CONF_MARKER="# managed by multiwan.pbr lab/setup-host.sh"
# Each systemd container (the routers) holds about six inotify instances, and every container's are counted
# against host root's fs.inotify.max_user_instances (128 by default): a 20-router fleet (lab/fleet.py) beside
# the other labs exhausts it, and systemd in the next container cannot boot ("Too many open files").
readonly INOTIFY_INSTANCES=1024

die() { echo "setup-host: $*" >&2; exit 1; }

require_root() {
    [[ ${EUID} -eq 0 ]] || die "run as root (rootful podman and veth wiring need it)"
}

missing_packages() {
    local package
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "${package}" 2>/dev/null | grep -q '^install ok installed$' \
            || echo "${package}"
    done
}

require_apt() {
    command -v apt-get >/dev/null && command -v dpkg-query >/dev/null && return
    die "this is not a Debian-like system (no apt-get): install the equivalents of
    ${PACKAGES[*]}
and configure podman as write_containers_conf in $0 does, then run make again"
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "setup-host: packages already installed"
        return
    fi
    echo "setup-host: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # With Recommends, as the validated hosts have it: podman then gets netavark
    # (not the CNI plugins) and catatonit. runc is named, so podman's `crun | runc`
    # is satisfied by runc and crun is never installed.
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

has_lab_settings() {
    grep -Eq '^\s*default_ulimits\s*=\s*\[\s*\]' "${CONTAINERS_CONF}" \
        && grep -Eq '^\s*runtime\s*=\s*"runc"' "${CONTAINERS_CONF}"
}

write_containers_conf() {
    if [[ -f ${CONTAINERS_CONF} ]] && has_lab_settings; then
        echo "setup-host: ${CONTAINERS_CONF} already has the lab settings"
        return
    fi
    if [[ -f ${CONTAINERS_CONF} ]] && ! grep -qF "${CONF_MARKER}" "${CONTAINERS_CONF}"; then
        cp -a "${CONTAINERS_CONF}" "${CONTAINERS_CONF}.before-multiwan-lab"
        echo "setup-host: saved the previous ${CONTAINERS_CONF} as ${CONTAINERS_CONF}.before-multiwan-lab"
    fi
    mkdir -p "$(dirname "${CONTAINERS_CONF}")"
    # default_ulimits: Debian's default nproc ulimit cannot be applied on this
    #   kernel and every container start fails with it.
    # runtime runc: crun fails on this kernel's cgroup v1 hierarchy.
    # cgroupfs and file events: the host may run without systemd/journald as PID 1.
    cat >"${CONTAINERS_CONF}" <<CONF
${CONF_MARKER}
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    echo "setup-host: wrote ${CONTAINERS_CONF}"
}

raise_inotify_instances() {
    local current
    current=$(sysctl -n fs.inotify.max_user_instances)
    if (( current >= INOTIFY_INSTANCES )); then
        echo "setup-host: fs.inotify.max_user_instances is ${current}"
        return
    fi
    sysctl -q -w fs.inotify.max_user_instances="${INOTIFY_INSTANCES}"
    echo "setup-host: raised fs.inotify.max_user_instances from ${current} to ${INOTIFY_INSTANCES}"
}

check_podman() {
    podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null \
        || die "podman info failed after setup"
    echo "setup-host: podman $(podman version --format '{{.Client.Version}}') with runtime" \
        "$(podman info --format '{{.Host.OCIRuntime.Name}}')"
}

main() {
    require_root
    require_apt
    install_packages
    write_containers_conf
    raise_inotify_instances
    check_podman
}

main "$@"
