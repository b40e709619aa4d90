# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Linux multi-WAN router converged in one process: read once, check everything, then change.

The role linux_multiwan ran some twenty remote tasks (issue 15: a no-change converge took 11x a
one-task playbook, about a second a task). Each task only read or wrote one thing; what each
decided never needed another round trip. This runs them all in one module process, in the order
that keeps the collection's promise:

    1. what the router lacks (a command or netaddr): reported, nothing read or changed
    2. the router's addresses -> ``layout`` (the same code as the role's offline check)
    3. every resource planned against the router (the modules' own ``run_resource`` in check mode):
       a refusal here fails the run before anything changes
    4. the files, kernel settings and services planned the same way (read, compare)
    5. check mode stops here with the plan and its diff; otherwise the changes, in this order:
       kernel settings, tables, the nftables table, rules, the boot-time restore, the failover agent

The resources go through ``core.resource.run_resource`` exactly as their own modules do, so a
refused write is rolled back and verified the same way. When a step fails, every step of the run that
had started is undone, last first, from what was read before it ran (kernel settings, files and
directories, the link, each resource's owned records), and each undo is verified by reading again:
``applied`` names the steps that had changed the router, ``rolled_back`` says whether all of them were
found as before. ``systemctl`` actions are not undone (a unit restarted cannot be un-restarted); a run
whose failure follows one says so and does not claim ``rolled_back``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import tempfile
from collections import namedtuple

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import DeviceError
from ansible_collections.multiwan.pbr.plugins.module_utils.core.hostlock import hold_host_lock
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import (
    restore, run_resource, validated_config)
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import nft_connmark, pbr_rule, pbr_table
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.layout import layout, sysctl_changes
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.runners import (
    nft_connmark_runner, pbr_rule_runner, pbr_table_runner)

# What the run needs on the router: the commands the runners and the agent call, and the library the engines import.
COMMANDS = ("ip", "nft", "conntrack", "sysctl")
# The failover agent's routing tables file: linux.failover lays its routes through pbr_table under its own tag.
AGENT_TABLES_FILE = "/etc/iproute2/rt_tables.d/multiwan_pbr_agent.conf"
MANAGED = "# Ansible managed: multiwan.pbr linux_router\n"
SYSTEMD_RUNNING = "/run/systemd/system"

# One resource of the converge: its name in the result, the engine, the core's params, the runner's factory.
Resource = namedtuple("Resource", "name engine params make_runner")
# One file the collection owns: ``content`` bytes (None: the file must not exist), ``mode``; ``text`` for the diff.
OwnedFile = namedtuple("OwnedFile", "path content mode text")


class Step(namedtuple("Step", "name run undo")):
    """A change the apply phase makes; ``run()`` does it, ``undo()`` puts back what it may have changed (also after
    it failed part-way) and returns None when a fresh read finds it so, else what differs. ``undo`` None: the
    step cannot be undone."""

    __slots__ = ()


class ConvergeFailed(Exception):
    """A step failed. ``applied``: the steps that had changed the router; ``undo_errors``: what their undo could not
    put back (empty: every one of them was read back as before)."""

    def __init__(self, error, applied, undo_errors):
        super(ConvergeFailed, self).__init__(str(error))
        self.error, self.applied, self.undo_errors = error, applied, undo_errors

    @property
    def rolled_back(self):
        return not self.undo_errors


# ---------------------------------------------------------------------------
# The entry point


def missing_requirements(module):
    """What the run cannot do without: commands not on the PATH, and netaddr."""
    missing = [command for command in COMMANDS if not module.get_bin_path(command)]
    return missing + ([] if addresses.HAS_NETADDR else ["python3-netaddr"])


def converge(module, options):
    """Plan everything, then (unless in check mode) apply it; the module result."""
    if not module.check_mode:
        hold_host_lock()       # from the first read to the last write: no other multiwan.pbr run plans in between
    present = options["state"] == "present"
    routed = layout(options["wans"] if present else [], options["policies"] if present else [],
                    options["lan_networks"], options["exclude"], options["settings"], read_interfaces(module))
    resources = planned_resources(module, resource_list(options, routed))
    host = HostPlan(module, options, routed, resources)
    result = report(resources, host, module._diff)
    if module.check_mode or not result["changed"]:
        return result
    applied, started = [], []
    for step in host.steps(resources):
        started.append(step)
        try:
            outcome = step.run()
        except Exception as error:
            raise ConvergeFailed(error, applied, undo(started))
        if isinstance(outcome, dict):
            result[step.name] = outcome     # the resource's own result: what it read back after its write
        if outcome is None or outcome["changed"]:
            applied.append(step.name)
    # what the steps did, not what the plan said: a resource whose second read found nothing to do changed nothing
    return dict(result, changed=bool(applied))


def read_interfaces(module):
    rc, out, err = module.run_command([module.get_bin_path("ip", required=True), "-json", "address", "show"],
                                      environ_update={"LC_ALL": "C"})
    if rc != 0:
        raise DeviceError("ip -json address show failed: %s" % err.strip())
    return json.loads(out or "[]")


# ---------------------------------------------------------------------------
# The resources: the three the modules manage, and the agent's routes when the agent goes


def undo(steps):
    """Undo ``steps``, last first; what could not be put back, as ``name: reason`` texts."""
    errors = []
    for step in reversed(steps):
        try:
            error = step.undo() if step.undo else "it cannot be undone"
        except Exception as failure:        # an undo that fails must not hide the others' outcome
            error = "%s: %s" % (type(failure).__name__, failure)
        if error:
            errors.append("%s: %s" % (step.name, error))
    return errors


def resource_list(options, routed):
    """The resources in apply order, each with the params its own module would give the core."""
    settings = options["settings"]
    protocol = str(settings["protocol"])
    nft_state = "present" if routed["nft"]["wans"] else "absent"
    resources = [
        Resource("tables", pbr_table.ENGINE, {"config": routed["tables"], "state": "overridden", "protocol": protocol,
                                              "tables_file": pbr_table.DEFAULT_TABLES_FILE}, pbr_table_runner),
        Resource("nft", nft_connmark.ENGINE,
                 nft_connmark.resource_params(dict(routed["nft"], adopt=options["nft_adopt"], state=nft_state)),
                 nft_connmark_runner),
        Resource("rules", pbr_rule.ENGINE, {"config": routed["rules"], "state": "overridden", "protocol": protocol},
                 pbr_rule_runner),
    ]
    if not agent_wanted(options):
        # The agent is stopped before this runs (HostPlan.steps): its routes, and only those, go.
        resources.insert(0, Resource("agent_routes", pbr_table.ENGINE, {
            "config": [], "state": "overridden", "protocol": str(settings["agent_protocol"]),
            "tables_file": AGENT_TABLES_FILE}, pbr_table_runner))
    return resources


def planned_resources(module, resources):
    """``[(resource, check-mode result)]``: every resource read and planned before anything changes."""
    return [(resource, run_resource(resource.engine, resource.make_runner(module, resource.params), resource.params,
                                    check_mode=True, diff_mode=module._diff))
            for resource in resources]


def resource_step(module, resource):
    """The step that applies ``resource``; its undo converges the owned records back to those read just before."""
    runner = resource.make_runner(module, resource.params)
    before = []     # the owned records the core read before its write; none: it wrote nothing, there is nothing to undo

    def run():
        return run_resource(resource.engine, runner, resource.params, check_mode=False, diff_mode=module._diff,
                            read_before=before)

    def undo_resource():
        if not before:
            return None
        params = dict(resource.params, config=validated_config(resource.engine, resource.params))
        return restore(runner, resource.engine, params, before[0])

    return Step(resource.name, run, undo_resource)


def agent_wanted(options):
    return options["state"] == "present" and bool(options["settings"]["failover"])


# ---------------------------------------------------------------------------
# Files, kernel settings and services


class HostPlan(object):
    """What the router's files, kernel settings and services need, read and decided before anything changes."""

    def __init__(self, module, options, routed, resources):
        self.module, self.options, self.routed = module, options, routed
        settings = options["settings"]
        self.present = options["state"] == "present"
        self.persist = self.present and options["persist"]
        self.agent = agent_wanted(options)
        self.systemd = os.path.isdir(SYSTEMD_RUNNING)
        self.warnings, self.sysctls_before, self.services_run = [], {}, []
        self.sysctls = self._live_sysctl_changes() if self.present else []
        self.base_files = plan_files([
            owned_file(settings["sysctl_file"], sysctl_file_text(routed["sysctls"]) if self.persist else None),
        ])
        self.restore_files = plan_files(self._restore_files(resources))
        self.agent_files = plan_files(self._agent_files())
        self.directories = [path for path in self._directories() if not os.path.isdir(path)]
        self.link, self.link_before = self._link_change(), self._link_target()
        self.services = self._service_actions()

    # --- what changes

    @property
    def changed(self):
        return bool(self.sysctls or self.base_files or self.restore_files or self.agent_files or self.directories
                    or self.link or self.services)

    def steps(self, resources):
        """The apply phase, in order, only the steps with something to do: ``Step``s whose ``run`` returns a
        resource's result (for the key ``name``) or None."""
        module = self.module
        stopping = [action for action in self.services if action[0] == "disable"]
        starting = [action for action in self.services if action[0] != "disable"]
        later_files = self.restore_files + self.agent_files
        steps = [
            Step("services", lambda: self._run_actions(stopping), self._services_done) if stopping else None,
            Step("sysctls", lambda: self._run(["sysctl", "-w"] + self.sysctls) and None, self._undo_sysctls)
            if self.sysctls else None,
            Step("files", lambda: write_files(self.base_files), lambda: undo_files(self.base_files))
            if self.base_files else None,
        ] + [resource_step(module, resource) for resource, planned in resources if planned["changed"]] + [
            Step("directories", lambda: make_directories(self.directories),
                 lambda: remove_directories(self.directories)) if self.directories else None,
            Step("files", lambda: write_files(later_files), lambda: undo_files(later_files)) if later_files else None,
            Step("link", self._write_link, self._undo_link) if self.link else None,
            Step("services", lambda: self._run_actions(starting), self._services_done) if starting else None,
        ]
        return [step for step in steps if step is not None]

    # --- kernel settings

    def _live_sysctl_changes(self):
        wanted = self.routed["live_sysctls"]
        if not wanted:
            return []
        current = self._run(["sysctl", "-n"] + list(wanted)).splitlines()
        self.sysctls_before = dict(zip(wanted, current))
        return sysctl_changes(wanted, current)

    def _undo_sysctls(self):
        keys = [change.split("=", 1)[0] for change in self.sysctls]
        self._run(["sysctl", "-w"] + ["%s=%s" % (key, self.sysctls_before[key]) for key in keys])
        now = dict(zip(keys, self._run(["sysctl", "-n"] + keys).splitlines()))
        differ = sorted(key for key in keys if now.get(key) != self.sysctls_before[key])
        return "%s read back differently" % ", ".join(differ) if differ else None

    # --- files

    def _restore_files(self, resources):
        settings = self.options["settings"]
        directory = settings["config_dir"]
        paths = [os.path.join(directory, name) for name in ("ipv4.batch", "ipv6.batch", "nftables.nft")]
        if not self.persist:
            return [owned_file(path, None) for path in paths + [settings["unit_file"]]]
        lines = rendered_lines(resources, "tables") + rendered_lines(resources, "rules")
        script = rendered_lines(resources, "nft")
        return [owned_file(paths[0], batch_file_text(lines, "-4")), owned_file(paths[1], batch_file_text(lines, "-6")),
                owned_file(paths[2], nft_file_text(script)),
                owned_file(settings["unit_file"], self.options["units"]["restore"])]

    def _agent_files(self):
        settings, agent = self.options["settings"], self.options["agent"] or {}
        config_file = os.path.join(settings["config_dir"], "agent.json")
        agent_path = agent.get("path") or "/usr/local/lib/multiwan-pbr/multiwan-pbr.pyz"
        if not self.agent:
            return [owned_file(path, None) for path in (agent_unit_file(agent), agent_path, config_file)]
        return [owned_file(agent_path, base64.b64decode(agent["bundle"]), 0o755, binary=True),
                owned_file(config_file, agent_config_text(self.routed["agent"])),
                owned_file(agent_unit_file(agent), self.options["units"]["agent"])]

    def _directories(self):
        settings, agent = self.options["settings"], self.options["agent"] or {}
        wanted = [settings["config_dir"]] if self.persist or self.agent else []
        if self.agent:
            wanted += [os.path.dirname(agent["path"]), settings["hooks_dir"]]
            if settings["metrics_file"]:
                # the agent unit's ProtectSystem=strict lets it write only where ReadWritePaths says; it must exist
                wanted.append(os.path.dirname(settings["metrics_file"]))
        return wanted

    def _link_change(self):
        """``(link, target)`` when ``multiwan-pbr`` on the PATH must change (target ``None``: it goes), else None.
        Only a symbolic link to the agent is ever replaced or removed."""
        agent = self.options["agent"] or {}
        link = agent.get("link") or "/usr/local/sbin/multiwan-pbr"
        current = os.readlink(link) if os.path.islink(link) else None
        if not self.agent:
            return (link, None) if current is not None and current == agent.get("path") else None
        if os.path.lexists(link) and current is None:
            raise DeviceError("%s exists and is not a symbolic link: multiwan.pbr puts its agent's command there; "
                              "move the file away or set agent.link" % link)
        return None if current == agent["path"] else (link, agent["path"])

    def _link_target(self):
        link = (self.options["agent"] or {}).get("link") or "/usr/local/sbin/multiwan-pbr"
        return os.readlink(link) if os.path.islink(link) else None

    def _write_link(self):
        replace_link(*self.link)

    def _undo_link(self):
        replace_link(self.link[0], self.link_before)
        return None if self._link_target() == self.link_before else "%s does not point where it did" % self.link[0]

    # --- services

    def _service_actions(self):
        """The ``systemctl`` commands the run needs, decided from what is installed and running now."""
        if not self.systemd:
            if self.persist or self.agent:
                self.warnings.append(
                    "systemd is not running on this host (a container?): the restore unit and the failover agent were "
                    "written but not enabled or started; the rules, routes and nftables table are live now")
            return []
        restore_unit, agent_unit = (os.path.basename(path) for path in self._unit_paths())
        units_changed = any(change.path in self._unit_paths() for change in self.restore_files + self.agent_files)
        actions = [["daemon-reload"]] if units_changed else []
        if self.persist:
            actions += [] if self._systemctl_says("is-enabled", restore_unit) == "enabled" else [["enable", restore_unit]]
        elif self._unit_known(restore_unit):
            actions.insert(0, ["disable", restore_unit])
        if self.agent:
            actions += self._agent_actions(agent_unit)
        elif self._unit_known(agent_unit):
            actions.insert(0, ["disable", "--now", agent_unit])
        return actions

    def _agent_actions(self, unit):
        actions = [] if self._systemctl_says("is-enabled", unit) == "enabled" else [["enable", unit]]
        changed = set(change.path for change in self.agent_files)
        agent = self.options["agent"]
        if self._systemctl_says("is-active", unit) != "active":
            return actions + [["start", unit]]
        if agent["path"] in changed or agent_unit_file(agent) in changed:
            return actions + [["restart", unit]]
        if os.path.join(self.options["settings"]["config_dir"], "agent.json") in changed:
            # SIGHUP: the agent reads the file again and keeps the state of the WANs that did not change
            return actions + [["reload", unit]]
        return actions

    def _unit_paths(self):
        return (self.options["settings"]["unit_file"], agent_unit_file(self.options["agent"] or {}))

    def _unit_known(self, unit):
        return self._systemctl_says("is-enabled", unit) not in ("", "not-found")

    def _systemctl_says(self, verb, unit):
        rc, out, _err = self.module.run_command([self._binary("systemctl"), verb, unit])
        return out.strip()

    def _run_actions(self, actions):
        for action in actions:
            rc, _out, err = self.module.run_command([self._binary("systemctl")] + action)
            if rc == 0:
                self.services_run.append(action)
            elif action[0] != "disable":      # a unit that was never installed is as disabled as it gets
                raise DeviceError("systemctl %s failed: %s" % (" ".join(action), err.strip()))

    def _services_done(self):
        """The undo of the services' steps: none (a restart cannot be taken back); says what they did."""
        done = ["systemctl " + " ".join(action) for action in self.services_run]
        return "not undone: %s" % ", ".join(done) if done else None

    def _binary(self, name):
        return self.module.get_bin_path(name, required=True)

    def _run(self, argv):
        rc, out, err = self.module.run_command([self._binary(argv[0])] + argv[1:], environ_update={"LC_ALL": "C"})
        if rc != 0:
            raise DeviceError("%s failed: %s" % (" ".join(argv), err.strip()))
        return out


def agent_unit_file(agent):
    return agent.get("unit_file") or "/etc/systemd/system/multiwan-pbr-agent.service"


# ---------------------------------------------------------------------------
# File contents (pure)


def rendered_lines(resources, name):
    """What the resource's own module renders (``state: rendered``): the commands for a router without any of it."""
    for resource, _planned in resources:
        if resource.name == name:
            return run_resource(resource.engine, None, dict(resource.params, state="rendered"))["rendered"]
    return []


def batch_file_text(lines, family):
    """The ``ip <family> -batch`` restore file: the rendered commands of that family without their ``ip -4 ``."""
    prefix = "ip %s " % family
    body = "".join(line[len(prefix):] + "\n" for line in lines if line.startswith(prefix))
    return (MANAGED + "# ip %s -batch input: routes, then rules. Restored by multiwan-pbr.service.\n" % family + body)


def nft_file_text(script):
    return MANAGED + "# The multiwan.pbr nftables table, restored by multiwan-pbr.service.\n" + "".join(
        line + "\n" for line in script)


def sysctl_file_text(sysctls):
    return (MANAGED + "# Kernel settings for multi-WAN policy routing (multiwan.pbr.linux_multiwan).\n"
            + "".join("%s = %s\n" % (key, value) for key, value in sysctls.items()))


def agent_config_text(document):
    return json.dumps(document, indent=4, sort_keys=True) + "\n"


def owned_file(path, text, mode=0o644, binary=False):
    if text is None:
        return OwnedFile(path, None, mode, None)
    content = text if binary else text.encode("utf-8")
    shown = "(%d bytes, sha256 %s)\n" % (len(content), hashlib.sha256(content).hexdigest()) if binary else text
    return OwnedFile(path, content, mode, shown)


# ---------------------------------------------------------------------------
# Files on the router


# ``before``/``before_mode``: the file as read when planning (None: there was none), for the undo.
FileChange = namedtuple("FileChange", "path wanted before_text before before_mode directory_existed")


def plan_files(files):
    """The ``FileChange``s among ``files``: content or mode differ, or a file that must go exists."""
    changes = []
    for wanted in files:
        current, mode = read_file(wanted.path)
        existed = os.path.isdir(os.path.dirname(wanted.path))
        if wanted.content is None:
            if current is not None:
                changes.append(FileChange(wanted.path, wanted, _shown(current), current, mode, existed))
        elif current != wanted.content or mode != wanted.mode:
            shown = "" if current is None else _shown(current, wanted)
            changes.append(FileChange(wanted.path, wanted, shown, current, mode, existed))
    return changes


def read_file(path):
    """``(bytes, permission bits)`` of a regular file, ``(None, None)`` when there is none."""
    try:
        with open(path, "rb") as handle:
            return handle.read(), os.fstat(handle.fileno()).st_mode & 0o7777
    except (IOError, OSError):
        return None, None


def _shown(content, wanted=None):
    if wanted is not None and wanted.text is not None and wanted.text.startswith("(") and wanted.mode == 0o755:
        return "(%d bytes, sha256 %s)\n" % (len(content), hashlib.sha256(content).hexdigest())
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return "(%d bytes, sha256 %s)\n" % (len(content), hashlib.sha256(content).hexdigest())


def write_files(changes):
    """Write (atomically: a temporary file in the same directory, then rename) or remove each changed file."""
    for change in changes:
        wanted = change.wanted
        if wanted.content is None:
            os.remove(change.path)
            _remove_if_empty(os.path.dirname(change.path))
            continue
        directory = os.path.dirname(change.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        descriptor, temporary = tempfile.mkstemp(prefix=".multiwan-pbr.", dir=directory)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(wanted.content)
            os.chmod(temporary, wanted.mode)
            os.replace(temporary, change.path)
        except Exception:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise


def undo_files(changes):
    """Put each changed file back as it was read before the run (bytes and mode, or no file); what differs after."""
    for change in changes:
        if change.before is None:
            if os.path.lexists(change.path):
                os.remove(change.path)
            if not change.directory_existed:
                _remove_if_empty(os.path.dirname(change.path), made_by_this_run=True)
        else:
            write_files([FileChange(change.path, OwnedFile(change.path, change.before, change.before_mode, None),
                                    None, None, None, True)])
    differ = [change.path for change in changes if read_file(change.path) != (change.before, change.before_mode)]
    return "%s read back differently" % ", ".join(differ) if differ else None


def make_directories(paths):
    for path in paths:
        os.makedirs(path, 0o755)


def remove_directories(paths):
    """Remove the directories the run made, deepest first; those something else has put files in stay."""
    for path in sorted(paths, reverse=True):
        _remove_if_empty(path, made_by_this_run=True)
    left = [path for path in paths if os.path.isdir(path)]
    return "%s not empty" % ", ".join(left) if left else None


def replace_link(link, target):
    """``link`` becomes a symbolic link to ``target``, or goes (``target`` None). Only a link is ever removed."""
    if os.path.islink(link):
        os.remove(link)
    if target is not None:
        os.symlink(target, link)


def _remove_if_empty(directory, made_by_this_run=False):
    """The collection's own directories go when it removed the last file in them (hooks.d, the user's, never); so does
    a directory the run made, when the run is undone."""
    if ((made_by_this_run or os.path.basename(directory) in ("multiwan-pbr",)) and os.path.isdir(directory)
            and not os.listdir(directory)):
        os.rmdir(directory)


# ---------------------------------------------------------------------------
# The result


def report(resources, host, diff_mode):
    """The module result of the plan: every part's own result, what the host steps change, and one diff list."""
    result = dict((resource.name, planned) for resource, planned in resources)
    changed_files = host.base_files + host.restore_files + host.agent_files
    result.update(
        changed=any(planned["changed"] for _resource, planned in resources) or host.changed,
        sysctls=host.sysctls, files=[change.path for change in changed_files], directories=host.directories,
        services=["systemctl " + " ".join(action) for action in host.services],
        wans=host.routed["wans"], warnings=list(host.warnings))
    if host.link:
        result["link"] = {"path": host.link[0], "target": host.link[1]}
    if diff_mode:
        result["diff"] = diffs(resources, host, changed_files)
    for _resource, planned in resources:
        planned.pop("diff", None)
    return result


def diffs(resources, host, changed_files):
    """Ansible's list-of-diffs form: one per changed part, headed by what it is."""
    shown = [dict(planned["diff"], before_header=resource.name, after_header=resource.name)
             for resource, planned in resources if planned["changed"] and "diff" in planned]
    if host.sysctls:
        shown.append({"before_header": "kernel settings", "after_header": "kernel settings", "before": "",
                      "after": "".join("sysctl -w %s\n" % change for change in host.sysctls)})
    for change in changed_files:
        shown.append({"before_header": change.path, "after_header": change.path, "before": change.before_text,
                      "after": change.wanted.text or ""})
    if host.services:
        shown.append({"before_header": "services", "after_header": "services", "before": "",
                      "after": "".join("systemctl %s\n" % " ".join(action) for action in host.services)})
    return shown
