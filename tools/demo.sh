#!/usr/bin/env bash
# `make demo`: multi-WAN policy routing on a real (containerised) Linux router, start to finish.
#
#   1. the podman lab: LAN client, a bare Debian router (systemd, sshd), two ISPs that drop spoofed
#      sources, an internet host (host packages and the images only when missing; lab/README.md)
#   2. playbooks/site.yml applies the role linux_multiwan to the router over ssh, as the router's login
#      user with sudo (lab/inventory.yml); the role installs what it needs first (lab/group_vars/linux_routers.yml)
#   3. the same playbook with --check --diff: nothing is left to change
#   4. real traffic: which WAN each test flow used (lab/checks.py)
#   5. a failover: isp2's upstream dies behind its live gateway (lab.py fault wan2 blackhole); new flows move to
#      wan1, the agent's status says why (multiwan-pbr status over ssh, with sudo); the fault is cleared and new
#      flows come back to wan2 once the agent's hold has passed (docs/failover.md)
#
# The lab stays up for you to explore (`lab/lab.py ssh`); `make lab-down` removes it.
# MULTIWAN_LAB_PREFIX=NAME runs the demo on a lab of that prefix (containers NAME-<host>) with an
# inventory made for it, beside a demo lab someone else runs on this machine.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
# `make demo` exports these; running tools/demo.sh by hand gets the same.
export PATH="${REPO}/.venv/bin:${PATH}"
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-${REPO}/.collections}
export ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-${REPO}/ansible.cfg}

STARTED=${SECONDS}
WORKDIR=$(mktemp -d /tmp/multiwan-demo.XXXXXX)
readonly WORKDIR
trap 'rm -rf "${WORKDIR}"' EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

# "changed=N" of the router's line in the play recap.
changed_count() { sed -n 's/^router .*changed=\([0-9]*\).*/\1/p' "$1"; }

cd "${REPO}"

LAB=(python3 lab/lab.py)
INVENTORY=lab/inventory.yml
if [[ -n ${MULTIWAN_LAB_PREFIX:-} ]]; then
    LAB+=(--prefix "${MULTIWAN_LAB_PREFIX}")
    INVENTORY=${WORKDIR}/inventory.yml
    "${LAB[@]}" inventory --lab-dir "${REPO}/lab" >"${INVENTORY}"
    ln -s "${REPO}/lab/group_vars" "${WORKDIR}/group_vars"
fi
readonly LAB INVENTORY

step "1/5 The lab: client -- router -- isp1/isp2 -- inet (lab/up.sh)"
lab/up.sh "${LAB[@]:2}"

step "2/5 Apply multi-WAN routing over ssh: ansible-playbook -i ${INVENTORY} playbooks/site.yml"
ansible-playbook -i "${INVENTORY}" playbooks/site.yml | tee "${WORKDIR}/apply.log"

step "3/5 Run it again with --check --diff: nothing may be left to change"
ansible-playbook -i "${INVENTORY}" playbooks/site.yml --check --diff | tee "${WORKDIR}/check.log"
left=$(changed_count "${WORKDIR}/check.log")
[[ ${left} == 0 ]] || die "--check --diff still wants ${left} change(s): the role is not idempotent"
echo "--check --diff: changed=0, the router is exactly what the inventory says"

step "4/5 Real traffic: which WAN each flow used (inet sees the WAN's masqueraded source)"
echo "The router's policy rules (lab/lab.py ssh -- ip rule show):"
"${LAB[@]}" ssh -- ip rule show | sed 's/^/    /'
echo
python3 lab/checks.py "${LAB[@]:2}"

step "5/5 Failover: isp2's upstream dies behind its live gateway, then comes back"
echo "New connections from the client, 20 a second, by the WAN inet saw; at 2 s isp2 starts dropping everything"
echo "beyond its gateway, which still answers (lab/lab.py flows --fault wan2 blackhole):"
"${LAB[@]}" flows --seconds 7 --at 2 --fault wan2 blackhole
echo
echo "The agent on the router (lab/lab.py ssh -- sudo multiwan-pbr status):"
"${LAB[@]}" ssh -- sudo multiwan-pbr status | sed 's/^/    /'
echo "Its routes (tag 212, over the role's static ones): the balance in main, each policy's default:"
"${LAB[@]}" ssh -- ip route show table all proto 212 | sed 's/^/    /'
echo "(cgnat_via_wan2 follows its fallback, the balance, to wan1; private_via_wan2 is strict and keeps wan2)"
echo
echo "isp2 repaired at 1 s: new flows stay on wan1 until wan2 has been fine for the hold (10 s), then return:"
"${LAB[@]}" flows --seconds 25 --at 1 --clear wan2
"${LAB[@]}" ssh -- sudo multiwan-pbr status | sed 's/^/    /'

printf '\ndemo finished in %ds. The lab is still up:\n' "$((SECONDS - STARTED))"
echo "  ${LAB[*]} ssh    # log in: ip rule; ip route show table all; sudo nft list ruleset"
echo "  ${LAB[*]} fault wan2 blackhole    # break a WAN on its ISP's side (lab/README.md); then: fault wan2 clear"
echo "  ${LAB[*]} flows --fault wan2 link-down    # new flows by WAN, each second, around a fault"
echo "  python3 lab/checks.py ${LAB[*]:2}    # the traffic report again"
echo "  ${LAB[*]} down    # remove the lab (make lab-down for the default one)"
