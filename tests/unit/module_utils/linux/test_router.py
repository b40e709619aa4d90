"""linux.router's pure parts: the restore files it writes, how it decides which files change, and how a failed
run's steps are undone."""

import os

import pytest

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import DeviceError
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.router import (
    HostPlan, Step, batch_file_text, nft_file_text, owned_file, plan_files, sysctl_file_text, undo, undo_files, write_files)

LINES = ["ip -4 route add default via 192.0.2.1 dev wan1 table 101 proto 211",
         "ip -6 rule add pref 1000 lookup main suppress_prefixlength 0 proto 211",
         "ip -4 rule add pref 1101 fwmark 0x100/0xff00 lookup 101 proto 211"]


def test_a_batch_file_holds_its_familys_commands_in_order_without_ip_and_the_family():
    text = batch_file_text(LINES, "-4")
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body == ["route add default via 192.0.2.1 dev wan1 table 101 proto 211",
                    "rule add pref 1101 fwmark 0x100/0xff00 lookup 101 proto 211"]
    assert [line for line in batch_file_text(LINES, "-6").splitlines() if not line.startswith("#")] == [
        "rule add pref 1000 lookup main suppress_prefixlength 0 proto 211"]


def test_the_nft_and_sysctl_files_hold_what_they_were_given_one_line_each():
    assert nft_file_text(["add table inet t", "delete table inet t"]).endswith("add table inet t\ndelete table inet t\n")
    text = sysctl_file_text({"net.ipv4.ip_forward": "1", "net.ipv4.conf.wan1.rp_filter": "2"})
    assert text.endswith("net.ipv4.ip_forward = 1\nnet.ipv4.conf.wan1.rp_filter = 2\n")


def test_only_files_whose_content_or_mode_differs_or_that_must_go_are_planned(tmp_path):
    same, other, mode, gone, absent = (str(tmp_path / name) for name in ("same", "other", "mode", "gone", "absent"))
    for path, content, permissions in ((same, "a\n", 0o644), (other, "old\n", 0o644), (mode, "m\n", 0o600),
                                       (gone, "g\n", 0o644)):
        with open(path, "w") as handle:
            handle.write(content)
        os.chmod(path, permissions)
    changes = plan_files([owned_file(same, "a\n"), owned_file(other, "new\n"), owned_file(mode, "m\n"),
                          owned_file(gone, None), owned_file(absent, None), owned_file(str(tmp_path / "new"), "n\n")])
    assert [os.path.basename(change.path) for change in changes] == ["other", "mode", "gone", "new"]
    assert changes[0].before_text == "old\n" and changes[0].wanted.text == "new\n"


def test_writing_replaces_files_whole_with_their_mode_and_removes_the_ones_that_go(tmp_path):
    target, gone = tmp_path / "multiwan-pbr" / "agent.pyz", tmp_path / "multiwan-pbr" / "old.json"
    target.parent.mkdir()
    gone.write_text("{}")
    write_files(plan_files([owned_file(str(target), b"\x00zip", 0o755, binary=True)]))
    assert target.read_bytes() == b"\x00zip" and os.stat(str(target)).st_mode & 0o777 == 0o755
    assert sorted(os.listdir(str(target.parent))) == ["agent.pyz", "old.json"]        # no temporary file left
    write_files(plan_files([owned_file(str(target), None), owned_file(str(gone), None)]))
    assert not target.parent.exists()      # the collection's own directory goes with its last file


def test_a_binary_file_is_shown_in_a_diff_by_its_size_and_digest_not_its_bytes():
    shown = owned_file("/x.pyz", b"\x00\x01", 0o755, binary=True).text
    assert shown.startswith("(2 bytes, sha256 ") and "\x00" not in shown


def test_a_failed_runs_steps_are_undone_last_first_and_every_one_is_tried():
    done = []

    def undone(name, error=None):
        def undo_step():
            done.append(name)
            if isinstance(error, Exception):
                raise error
            return error
        return undo_step

    steps = [Step("sysctls", None, undone("sysctls")), Step("files", None, undone("files", OSError("read-only"))),
             Step("services", None, None), Step("rules", None, undone("rules", "a rule reads back differently"))]
    assert undo(steps) == ["rules: a rule reads back differently", "services: it cannot be undone",
                           "files: OSError: read-only"]
    assert done == ["rules", "files", "sysctls"]


def test_undoing_files_puts_back_their_bytes_and_mode_and_removes_the_new_ones_and_their_new_directory(tmp_path):
    old, new = str(tmp_path / "old"), str(tmp_path / "made" / "new")
    with open(old, "w") as handle:
        handle.write("before\n")
    os.chmod(old, 0o600)
    changes = plan_files([owned_file(old, "after\n"), owned_file(new, "new\n")])
    write_files(changes)
    assert undo_files(changes) is None
    with open(old) as handle:
        assert handle.read() == "before\n" and os.stat(old).st_mode & 0o777 == 0o600
    assert not os.path.exists(os.path.dirname(new))


class Systemctl(object):
    """What HostPlan asks of AnsibleModule for systemctl: the commands run, and a refusal of one of them."""

    def __init__(self, refused):
        self.refused, self.ran = refused, []

    def get_bin_path(self, name, required=False):
        return "/bin/" + name

    def run_command(self, argv):
        self.ran.append(argv[1:])
        return (1, "", "unit failed") if argv[1:] == self.refused else (0, "", "")


def test_the_services_undo_names_the_systemctl_actions_that_ran_and_claims_nothing_else():
    # a restart or an enable cannot be taken back: a failure after one is never rolled_back (tests/integration/
    # test_linux_router.py holds the undo of everything else on the real kernel; it has no systemd)
    plan = HostPlan.__new__(HostPlan)
    plan.module, plan.services_run = Systemctl(["start", "multiwan-pbr-agent.service"]), []
    assert plan._services_done() is None
    with pytest.raises(DeviceError):
        plan._run_actions([["daemon-reload"], ["disable", "gone.service"], ["enable", "multiwan-pbr-agent.service"],
                           ["start", "multiwan-pbr-agent.service"]])
    assert plan._services_done() == (
        "not undone: systemctl daemon-reload, systemctl disable gone.service, systemctl enable multiwan-pbr-agent.service")
