#!/usr/bin/env bash
# Build the lab's Debian bookworm base image locally and import it into podman.
# No image registry is reachable here: mmdebstrap builds the root filesystem
# from the host's own apt sources, then `podman import` turns it into an image.
#
#   lab/build-image.sh            build unless the image exists
#   FORCE=1 lab/build-image.sh    rebuild
#   LAB_IMAGE=name:tag            image to build (default localhost/multiwan-lab:bookworm)
#   LAB_APT_SOURCES=file          sources for the rootfs (default: the host's debian.sources)
set -euo pipefail

readonly IMAGE=${LAB_IMAGE:-localhost/multiwan-lab:bookworm}
readonly FORCE=${FORCE:-0}
# What the lab and the collection's modules need inside a container:
# python3 for Ansible modules (python3-netaddr for the collection's normalisers),
# iproute2/nftables/conntrack/procps (sysctl) for routing, ping/tcpdump for checks,
# netbase for /etc/protocols (without it `ip rule add ipproto tcp` is refused, as on no real router).
readonly PACKAGES=python3,python3-netaddr,iproute2,nftables,conntrack,iputils-ping,procps,tcpdump,netbase
readonly IMAGE_COMMENT="multiwan.pbr lab base (mmdebstrap bookworm: ${PACKAGES})"
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

image_exists() {
    podman image exists "${IMAGE}"
}

# An image built from another package list is stale: the comment records the list it was built from.
image_is_current() {
    [[ $(podman image inspect --format '{{.Comment}}' "${IMAGE}" 2>/dev/null) == "${IMAGE_COMMENT}" ]]
}

build_rootfs() {
    local tarball=$1 sources=$2 option
    local dpkg_options=()
    for option in "${DPKG_EXCLUDES[@]}"; do
        dpkg_options+=("--dpkgopt=${option}")
    done
    # The merged-usr hook makes the /usr symlinks itself; without it bookworm
    # installs the usrmerge package, which drags in 50 MB of perl.
    mmdebstrap --quiet --variant=apt --include="${PACKAGES}" \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        "${dpkg_options[@]}" \
        bookworm "${tarball}" "${sources}"
}

import_image() {
    local tarball=$1 previous
    previous=$(podman image inspect --format '{{.Id}}' "${IMAGE}" 2>/dev/null || true)
    # The shell loop keeps PID 1 reaping orphans (servers started with
    # `podman exec` that outlive their parent) and lets `podman stop` end at once.
    podman import --quiet \
        --change 'CMD ["/bin/sh", "-c", "trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --message "${IMAGE_COMMENT}" \
        "${tarball}" "${IMAGE}" >/dev/null
    # A rebuild leaves the old image dangling; drop it unless a container still uses it.
    if [[ -n ${previous} ]]; then
        podman rmi "${previous}" >/dev/null 2>&1 || true
    fi
}

main() {
    [[ ${EUID} -eq 0 ]] || die "run as root (rootful podman)"
    if image_exists && image_is_current && [[ ${FORCE} != 1 ]]; then
        echo "build-image: ${IMAGE} exists (FORCE=1 rebuilds)"
        return
    fi
    if image_exists && ! image_is_current; then
        echo "build-image: ${IMAGE} was built from another package list; rebuilding"
    fi
    local sources started
    WORKDIR=$(mktemp -d /var/tmp/multiwan-lab-image.XXXXXX)
    trap 'rm -rf "${WORKDIR}"' EXIT
    sources=$(host_apt_sources)
    started=${SECONDS}
    echo "build-image: building ${IMAGE} from ${sources}"
    build_rootfs "${WORKDIR}/rootfs.tar" "${sources}"
    import_image "${WORKDIR}/rootfs.tar"
    echo "build-image: ${IMAGE} built in $((SECONDS - started))s," \
        "$(podman image inspect --format '{{.Size}}' "${IMAGE}" | numfmt --to=iec) uncompressed"
}

main "$@"
