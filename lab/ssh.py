"""SSH to the lab's router, as users reach theirs: a login user, a key, sudo.

The containers run with `--network none`: the host has no route to them. `lab/ssh-proxy`
is the ssh ProxyCommand that enters the router's network namespace and relays to its sshd on
127.0.0.1:22 (nsenter + socat), so ssh, Ansible and Molecule talk to the router's own sshd
without any host-side networking. What the lab makes, all under lab/.state (not in git):

    ssh/id_ed25519{,.pub}        the client key, made once per checkout
    <prefix>/known_hosts         each router's own host key (made at its first boot), pinned at `up`
    <prefix>/ssh_config          for people: `ssh -F lab/.state/<prefix>/ssh_config router`
                                 (`lab/lab.py ssh` does that)
"""

import fcntl
import os
import shlex
import time
from pathlib import Path

from .shell import LabError, podman_exec, run

LAB_DIR = Path(__file__).resolve().parent
STATE_DIR = LAB_DIR / ".state"
KEY_DIR = STATE_DIR / "ssh"
CLIENT_KEY = KEY_DIR / "id_ed25519"
PROXY = LAB_DIR / "ssh-proxy"
HOST_KEY = "/etc/ssh/ssh_host_ed25519_key.pub"
SSH_READY_SECONDS = 20


def ensure_client_key():
    """The lab's client key pair, made on first use (a lock keeps two labs from making two)."""
    KEY_DIR.mkdir(parents=True, exist_ok=True)
    with open(KEY_DIR / ".lock", "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CLIENT_KEY.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "multiwan.pbr lab", "-f", str(CLIENT_KEY)])
    return CLIENT_KEY


def known_hosts(lab):
    return STATE_DIR / lab.prefix / "known_hosts"


def config_file(lab):
    return STATE_DIR / lab.prefix / "ssh_config"


def ssh_hosts(lab):
    """The lab hosts that run sshd (those with a `login` user in topology.yml)."""
    return [host for host in lab.hosts if lab.host(host).get("login")]


def enable(lab):
    """Authorise the lab's key on every ssh host, pin their host keys, write the ssh_config."""
    key = ensure_client_key()
    entries = []
    for host in ssh_hosts(lab):
        authorize(lab, host, key.with_suffix(".pub").read_text(encoding="ascii"))
        entries.append(f"{lab.container(host)} {host_key(lab, host)}\n")
    known_hosts(lab).parent.mkdir(parents=True, exist_ok=True)
    _write(known_hosts(lab), "".join(entries))
    _write(config_file(lab), render_config(lab))
    for host in ssh_hosts(lab):
        wait_ready(lab, host)


def authorize(lab, host, public_key):
    """Install the public key as the login user's only authorized key."""
    user = lab.host(host)["login"]
    home = f"/home/{user}/.ssh"
    container = lab.container(host)
    podman_exec(container, ["install", "-d", "-m", "0700", "-o", user, "-g", user, home])
    write_key = 'umask 077 && cat > "$1" && chown "$2:$2" "$1"'
    podman_exec(container, ["sh", "-c", write_key, "authorize", f"{home}/authorized_keys", user],
                stdin_text=public_key)


def host_key(lab, host):
    """The router's ed25519 host key ("ssh-ed25519 AAAA…"); sshd makes it at first boot."""
    deadline = time.monotonic() + SSH_READY_SECONDS
    while True:
        read = podman_exec(lab.container(host), ["cat", HOST_KEY], check=False)
        if read.returncode == 0:
            return " ".join(read.stdout.split()[:2])
        if time.monotonic() > deadline:
            raise LabError(f"{host}: no {HOST_KEY} after {SSH_READY_SECONDS}s: is ssh.service running?")
        time.sleep(0.2)


def render_config(lab):
    lines = [f"# The lab {lab.prefix}: written by lab/lab.py up. Usage: ssh -F {config_file(lab)} router"]
    for host in ssh_hosts(lab):
        lines += [f"Host {host} {lab.container(host)}",
                  f"    HostName {lab.container(host)}",
                  f"    User {lab.host(host)['login']}",
                  f"    IdentityFile {CLIENT_KEY}",
                  "    IdentitiesOnly yes",
                  f"    ProxyCommand {PROXY} %h",
                  f"    UserKnownHostsFile {known_hosts(lab)}",
                  "    StrictHostKeyChecking yes"]
    return "\n".join(lines) + "\n"


def argv(lab, host, remote_words=()):
    """An ssh command line to `host` (as its login user); ssh joins `remote_words` for the remote shell."""
    return ["ssh", "-F", str(config_file(lab)), "-o", "BatchMode=yes", host, *remote_words]


def run_ssh(lab, host, command, check=True, timeout=60):
    """Run the argv list `command` on `host` over ssh (quoted: the remote shell sees these words)."""
    return run(argv(lab, host, [shlex.join(command)]), check=check, timeout=timeout)


def wait_ready(lab, host):
    """Wait until the login user gets in and may sudo; raise naming what failed."""
    deadline = time.monotonic() + SSH_READY_SECONDS
    while True:
        completed = run_ssh(lab, host, ["sudo", "-n", "true"], check=False, timeout=30)
        if completed.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise LabError(f"{host}: ssh as {lab.host(host)['login']} with sudo failed for {SSH_READY_SECONDS}s: "
                           f"{completed.stderr.strip()}")
        time.sleep(0.3)


def _write(path, text):
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
