#!/usr/bin/env bash
# mmdebstrap customize hook for the lab router's root filesystem (lab/build-image.sh runs it):
#
#   lab/router-rootfs.sh ROOTFS
#
# What it makes of a plain Debian with systemd and openssh-server, so that the router is
# reached and booted the way users reach and boot theirs:
#   - a login user (admin) with passwordless sudo; root cannot log in over ssh; keys only.
#     The lab installs its public key at `lab.py up` (lab/.state/ssh, never in the image).
#   - no ssh host keys in the image: ssh.service makes them on first boot, so every
#     router has its own and `lab.py up` pins them in the lab's known_hosts.
#   - apt knows only the lab's offline repository, bind-mounted read-only at REPO_MOUNT
#     (lab/build-apt-repo.sh): the role's package install runs apt for real, with no network.
#   - network-online.target (and so boot) waits for the lab to wire the veths: lab/containers.py
#     touches WIRED_FLAG when the links are up and addressed, as systemd-networkd-wait-online
#     waits for links on a real router. Then, as udev would for each new interface, sysctl.d's
#     keys for the interfaces are applied. Units ordered after it see the WANs, with their
#     settings, at boot; `systemctl is-system-running` says running only once that is done.
# The image build records this file's checksum: editing it makes the image stale.
set -euo pipefail

readonly ROOTFS=${1:?usage: router-rootfs.sh ROOTFS}
readonly LOGIN_USER=admin
readonly REPO_MOUNT=/srv/multiwan-lab-apt
readonly WIRED_FLAG=/run/multiwan-lab/wired

write() {   # write PATH MODE < content
    install -D -m "$2" /dev/stdin "${ROOTFS}$1"
}

add_login_user() {
    chroot "${ROOTFS}" useradd --create-home --shell /bin/bash "${LOGIN_USER}"
    echo "${LOGIN_USER} ALL=(ALL:ALL) NOPASSWD: ALL" | write "/etc/sudoers.d/${LOGIN_USER}" 0440
    write /etc/ssh/sshd_config.d/multiwan-lab.conf 0644 <<'CONF'
# The lab router: key logins for the admin user only, as most routers are set up.
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
CONF
}

host_keys_at_first_boot() {
    rm -f "${ROOTFS}"/etc/ssh/ssh_host_*
    # Debian's unit checks the config (sshd -t) before anything else; keys must exist by then.
    write /etc/systemd/system/ssh.service.d/host-keys.conf 0644 <<'CONF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
CONF
}

offline_apt_sources() {
    rm -f "${ROOTFS}"/etc/apt/sources.list "${ROOTFS}"/etc/apt/sources.list.d/*
    # trusted=yes: the repository is built on this host from .debs apt verified when it downloaded them.
    echo "deb [trusted=yes] file:${REPO_MOUNT} ./" | write /etc/apt/sources.list.d/multiwan-lab.list 0644
}

wait_for_wiring() {
    write /etc/systemd/system/multiwan-lab-wired.service 0644 <<UNIT
[Unit]
Description=Wait until the lab has wired and addressed this router's links
DefaultDependencies=no
Before=network-online.target
After=systemd-tmpfiles-setup.service

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=120
ExecStart=/bin/sh -c 'until test -e ${WIRED_FLAG}; do sleep 0.1; done'
# What udev's 99-systemd.rules does for each network interface it adds (there is no udev here):
# apply sysctl.d's keys for it, such as net.ipv4.conf.wan1.rp_filter.
ExecStart=/bin/sh -c 'for path in /sys/class/net/*; do name=\$\${path##*/}; /lib/systemd/systemd-sysctl --prefix=/net/ipv4/conf/\$\$name --prefix=/net/ipv4/neigh/\$\$name --prefix=/net/ipv6/conf/\$\$name --prefix=/net/ipv6/neigh/\$\$name; done'

[Install]
WantedBy=network-online.target multi-user.target
UNIT
    chroot "${ROOTFS}" systemctl enable multiwan-lab-wired.service
}

main() {
    add_login_user
    host_keys_at_first_boot
    offline_apt_sources
    wait_for_wiring
}

main
