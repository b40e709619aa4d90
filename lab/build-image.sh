#!/usr/bin/env bash
# Build the lab's two Debian bookworm images locally, then its offline apt repository.
# No image registry is reachable here: mmdebstrap builds each root filesystem from the
# host's own apt sources, then `podman import` turns it into an image.
#
#   base    localhost/multiwan-lab:bookworm         client, isp1, isp2, inet: a shell loop as PID 1
#   router  localhost/multiwan-lab-router:bookworm  the router: systemd as PID 1, sshd, sudo, and
#           none of what the collection needs on a target (the role installs that: lab/README.md)
#   isp     localhost/multiwan-lab-isp:bookworm     isp2: the base packages and Debian's dnsmasq, which serves
#           DHCP and router advertisements when a test makes wan2 dynamic (lab/dynamic.py)
#
#   lab/build-image.sh            build what is missing or stale (quick when all is current)
#   FORCE=1 lab/build-image.sh    rebuild both images (and the repository, which depends on the router's)
#   LAB_APT_SOURCES=file          sources for the rootfs (default: the host's debian.sources)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR
readonly FORCE=${FORCE:-0}
readonly BASE_IMAGE=localhost/multiwan-lab:bookworm
readonly ROUTER_IMAGE=localhost/multiwan-lab-router:bookworm
# The other hosts: python3 for lab/agent.py, iproute2/nftables/conntrack/procps for routing,
# ping/tcpdump for checks, netbase for /etc/protocols. (The list stays as it was when the router
# used this image too: changing it would rebuild the image under every other checkout's labs.)
readonly BASE_PACKAGES=python3,python3-netaddr,iproute2,nftables,conntrack,iputils-ping,procps,tcpdump,netbase
# The router: what a small Debian install has (systemd, sshd, sudo, python3 for Ansible, ping,
# tcpdump, netbase), and not iproute2, nftables, conntrack, procps or python3-netaddr.
readonly ROUTER_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,sudo,python3,iputils-ping,tcpdump,netbase
readonly ROUTER_HOOK=${LAB_DIR}/router-rootfs.sh
# An image of its own, not the base image with one more package: the base image's tag is shared with other
# checkouts' labs, and a changed list would rebuild it under them (see BASE_PACKAGES).
readonly ISP_IMAGE=localhost/multiwan-lab-isp:bookworm
readonly ISP_PACKAGES=${BASE_PACKAGES},dnsmasq-base
# The shell loop keeps PID 1 reaping orphans (servers started with `podman exec` that
# outlive their parent) and lets `podman stop` end at once.
readonly BASE_CMD='CMD ["/bin/sh", "-c", "trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]'
readonly ROUTER_CMD='CMD ["/sbin/init"]'
# Docs, man pages and translations are a third of a minimal Debian; nobody reads them here.
readonly DPKG_EXCLUDES=(
    path-exclude=/usr/share/man/*
    path-exclude=/usr/share/doc/*
    path-include=/usr/share/doc/*/copyright
    path-exclude=/usr/share/info/*
    path-exclude=/usr/share/locale/*
    path-exclude=/usr/share/lintian/*
)

die() { echo "build-image: $*" >&2; exit 1; }

host_apt_sources() {
    local candidate
    for candidate in "${LAB_APT_SOURCES:-}" /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
        if [[ -n ${candidate} && -s ${candidate} ]]; then
            echo "${candidate}"
            return
        fi
    done
    die "no apt sources found; set LAB_APT_SOURCES"
}

# The comment an image carries records what it was built from; another comment means stale.
base_comment() {
    echo "multiwan.pbr lab base (mmdebstrap bookworm: ${BASE_PACKAGES})"
}

isp_comment() {
    echo "multiwan.pbr lab isp (mmdebstrap bookworm: ${ISP_PACKAGES})"
}

router_comment() {
    echo "multiwan.pbr lab router (mmdebstrap bookworm: ${ROUTER_PACKAGES};" \
        "$(basename "${ROUTER_HOOK}") $(sha256sum "${ROUTER_HOOK}" | cut -c1-16))"
}

image_is_current() {
    local image=$1 comment=$2
    [[ $(podman image inspect --format '{{.Comment}}' "${image}" 2>/dev/null) == "${comment}" ]]
}

build_rootfs() {
    local tarball=$1 packages=$2 option
    shift 2
    local dpkg_options=()
    for option in "${DPKG_EXCLUDES[@]}"; do
        dpkg_options+=("--dpkgopt=${option}")
    done
    # The merged-usr hook makes the /usr symlinks itself; without it bookworm
    # installs the usrmerge package, which drags in 50 MB of perl.
    mmdebstrap --quiet --variant=apt --include="${packages}" \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        "${dpkg_options[@]}" "$@" \
        bookworm "${tarball}" "$(host_apt_sources)"
}

import_image() {
    local tarball=$1 image=$2 comment=$3 cmd=$4 previous
    previous=$(podman image inspect --format '{{.Id}}' "${image}" 2>/dev/null || true)
    podman import --quiet \
        --change "${cmd}" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --message "${comment}" \
        "${tarball}" "${image}" >/dev/null
    # A rebuild leaves the old image dangling; drop it unless a container still uses it.
    if [[ -n ${previous} ]]; then
        podman rmi "${previous}" >/dev/null 2>&1 || true
    fi
}

# build_image IMAGE COMMENT PACKAGES CMD [mmdebstrap options...]
build_image() {
    local image=$1 comment=$2 packages=$3 cmd=$4 workdir started
    shift 4
    if image_is_current "${image}" "${comment}" && [[ ${FORCE} != 1 ]]; then
        echo "build-image: ${image} is current (FORCE=1 rebuilds)"
        return
    fi
    if podman image exists "${image}" && ! image_is_current "${image}" "${comment}"; then
        echo "build-image: ${image} was built from another recipe; rebuilding"
    fi
    workdir=$(mktemp -d /var/tmp/multiwan-lab-image.XXXXXX)
    # shellcheck disable=SC2064  # expand now: the trap must remove this build's directory
    trap "rm -rf '${workdir}'" EXIT
    started=${SECONDS}
    echo "build-image: building ${image}"
    build_rootfs "${workdir}/rootfs.tar" "${packages}" "$@"
    import_image "${workdir}/rootfs.tar" "${image}" "${comment}" "${cmd}"
    rm -rf "${workdir}"
    trap - EXIT
    echo "build-image: ${image} built in $((SECONDS - started))s," \
        "$(podman image inspect --format '{{.Size}}' "${image}" | numfmt --to=iec) uncompressed"
}

main() {
    [[ ${EUID} -eq 0 ]] || die "run as root (rootful podman)"
    build_image "${BASE_IMAGE}" "$(base_comment)" "${BASE_PACKAGES}" "${BASE_CMD}"
    build_image "${ISP_IMAGE}" "$(isp_comment)" "${ISP_PACKAGES}" "${BASE_CMD}"
    build_image "${ROUTER_IMAGE}" "$(router_comment)" "${ROUTER_PACKAGES}" "${ROUTER_CMD}" \
        --customize-hook="${ROUTER_HOOK} \"\$1\""
    "${LAB_DIR}/build-apt-repo.sh" "${ROUTER_IMAGE}"
}

main "$@"
