"""The lab's router as a machine users would recognise: systemd as PID 1, ssh as a login user with
sudo, packages from apt (offline, from the lab's repository), and a reboot that is a real one.

Needs root and podman, like every lab test; without them these tests fail rather than skip.
"""

import pytest
from lab_support import ansible_inventory, lab_prefix, lab_running, run_ansible

from lab import containers, ssh, traffic
from lab.shell import run

pytestmark = pytest.mark.lab

ROLE_PACKAGES = ["iproute2", "nftables", "conntrack", "procps", "python3-netaddr"]
PROBE_UNIT = """[Unit]
Description=multiwan.pbr lab test: proves a unit enabled before a reboot runs again after it
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'ip=$(cat /sys/class/net/wan1/operstate); echo "booted with wan1 $ip" > /run/lab-probe'

[Install]
WantedBy=multi-user.target
"""


@pytest.fixture(name="lab", scope="module")
def running_lab():
    with lab_running(lab_prefix("router")) as lab:
        yield lab


@pytest.fixture(name="inventory", scope="module")
def lab_inventory(lab, tmp_path_factory):
    return ansible_inventory(lab, tmp_path_factory.mktemp("inventory"))


def on_router(lab, command, check=True):
    """A shell command on the router over ssh, as its login user."""
    return ssh.run_ssh(lab, "router", ["sh", "-c", command], check=check)


def test_systemd_is_pid_1_and_the_system_is_running(lab):
    assert traffic.podman_exec(lab, "router", ["cat", "/proc/1/comm"]).stdout.strip() == "systemd"
    assert containers.system_state(lab, "router") == "running"
    assert on_router(lab, "systemctl is-active ssh.service").stdout.strip() == "active"


def test_ssh_logs_in_as_the_login_user_and_sudo_makes_it_root(lab):
    assert on_router(lab, "id -un").stdout.strip() == "admin"
    assert on_router(lab, "sudo -n id -u").stdout.strip() == "0"


def test_ssh_refuses_root_and_checks_the_router_host_key(lab, tmp_path):
    options = ssh.argv(lab, "router")[:-1]         # everything but the host
    as_root = run(options + ["-l", "root", "router", "true"], check=False)
    assert as_root.returncode == 255 and "Permission denied" in as_root.stderr
    # Another key pinned for the router: ssh refuses to talk to it.
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")])
    other_key = " ".join((tmp_path / "other.pub").read_text(encoding="ascii").split()[:2])
    forged = tmp_path / "known_hosts"
    forged.write_text(f"{lab.container('router')} {other_key}\n", encoding="ascii")
    mismatched = run(options + ["-o", f"UserKnownHostsFile={forged}", "router", "true"], check=False)
    assert mismatched.returncode == 255 and "HOST IDENTIFICATION HAS CHANGED" in mismatched.stderr


def test_ansible_reaches_the_router_over_ssh_and_becomes_root(lab, inventory):
    result = run_ansible("ansible", "-i", str(inventory), "router", "-b", "-m", "ansible.builtin.command",
                         "-a", "id -u", "-vvv", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ESTABLISH SSH CONNECTION FOR USER: admin" in result.stdout
    assert "ssh-proxy" in result.stdout and "sudo -H -S -n" in result.stdout
    # Pipelining: the module goes down the ssh session's stdin, no temporary file is put.
    assert "PUT " not in result.stdout
    assert result.stdout.rstrip().endswith("0")


def test_the_role_installs_its_packages_on_the_bare_router_from_the_offline_repository(lab, inventory, tmp_path):
    def missing():
        listed = on_router(lab, "dpkg-query -W -f '${Package} ${Status}\\n' " + " ".join(ROLE_PACKAGES) + " 2>/dev/null",
                           check=False).stdout
        installed = {line.split()[0] for line in listed.splitlines() if line.endswith("install ok installed")}
        return sorted(set(ROLE_PACKAGES) - installed)

    assert "nftables" in missing() and "python3-netaddr" in missing() and "iproute2" in missing()
    playbook = tmp_path / "packages.yml"
    playbook.write_text("""- name: Only the role's package step
  hosts: linux_routers
  become: true
  gather_facts: false
  tasks:
    - name: Install what the role needs
      ansible.builtin.include_role:
        name: multiwan.pbr.linux_multiwan
        tasks_from: packages
""", encoding="utf-8")
    first = run_ansible("ansible-playbook", "-i", str(inventory), str(playbook))
    assert first.returncode == 0, first.stdout + first.stderr
    assert missing() == []
    assert "file:/srv/multiwan-lab-apt" in on_router(lab, "apt-cache policy nftables").stdout
    again = run_ansible("ansible-playbook", "-i", str(inventory), str(playbook))
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout


def test_reboot_brings_back_an_enabled_unit_the_links_and_ssh(lab):
    on_router(lab, f"sudo tee /etc/systemd/system/lab-probe.service >/dev/null <<'UNIT'\n{PROBE_UNIT}UNIT\n"
                   "sudo systemctl enable --now lab-probe.service")
    pid_before = containers.container_pid(lab.container("router"))
    containers.reboot(lab)
    assert containers.container_pid(lab.container("router")) != pid_before
    assert containers.system_state(lab, "router") == "running"
    assert on_router(lab, "systemctl is-active lab-probe.service").stdout.strip() == "active"
    # /run is a fresh tmpfs at every boot: the file is this boot's, and the WAN was there when the unit ran.
    assert on_router(lab, "cat /run/lab-probe").stdout.strip() == "booted with wan1 up"
    assert traffic.ping(lab, "client", lab.peer("client", "eth0").address("ipv4"))
    assert traffic.ping(lab, "router", lab.service(), source=lab.wan("wan1").address)
    assert traffic.ping(lab, "router", lab.service(family="ipv6"), source=lab.wan("wan1").address6)
