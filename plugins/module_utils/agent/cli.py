# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``multiwan-pbr``: the agent's command line. ``main(argv)`` returns the exit status.

    multiwan-pbr run --config PATH [--status-file PATH]     the agent (systemd runs this)
    multiwan-pbr status [--json] [--status-file PATH | --config PATH]
    multiwan-pbr check-config PATH                          exit 1 with ``field=value: reason`` on a bad file

``status`` exits 0, 1 when there is no status file, 2 when the file is stale (the agent stopped writing
it). ``python -m ansible_collections.multiwan.pbr.plugins.module_utils.agent.cli`` runs ``main``; so can a
zipapp's ``__main__``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import logging
import sys

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import config as agent_config
from ansible_collections.multiwan.pbr.plugins.module_utils.agent import status
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.applier import LoggingApplier
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.engine_applier import EngineApplier
from ansible_collections.multiwan.pbr.plugins.module_utils.agent.loop import Agent

PROGRAM = "multiwan-pbr"


def main(argv=None, applier=None):
    """Run one command; ``applier`` replaces the logging applier for ``run``."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "check-config":
        return check_config(arguments.path)
    if arguments.command == "status":
        return show_status(arguments)
    return run(arguments, applier)


def check_config(path, out=None, err=None):
    out, err = out or sys.stdout, err or sys.stderr
    try:
        loaded = agent_config.load(path)
    except (agent_config.ConfigError, OSError) as error:
        err.write("%s: %s\n" % (path, error))
        return 1
    out.write("%s: ok\n" % path)
    for wan in loaded.wans:
        out.write("  " + describe(wan) + "\n")
    return 0


def describe(wan):
    """One line per WAN: what the agent will watch and how fast it reacts."""
    if wan.track is None:
        return "%s (%s): not probed; judged by link, address and gateway" % (wan.name, wan.device)
    parts = []
    for family in wan.families:
        judgement = agent_config.tracker_settings(wan, family).probes
        median = wan.track.timeout + (judgement.down_rounds - 0.5) * wan.track.interval
        parts.append("%s %d target(s), %d must answer, down after %d silent rounds (about %.1f s)"
                     % (family, judgement.targets, judgement.reliability, judgement.down_rounds, median))
    return "%s (%s): %s every %g s; %s" % (wan.name, wan.device, wan.track.method, wan.track.interval, "; ".join(parts))


def show_status(arguments, out=None, err=None):
    out, err = out or sys.stdout, err or sys.stderr
    path = arguments.status_file
    if path is None and arguments.config:
        try:
            path = agent_config.load(arguments.config).status_file
        except (agent_config.ConfigError, OSError) as error:
            err.write("%s: %s\n" % (arguments.config, error))
            return 1
    path = path or agent_config.DEFAULT_STATUS_FILE
    try:
        content = status.read(path)
    except (OSError, ValueError) as error:
        err.write("no status at %s (%s): is %s running?\n" % (path, error, PROGRAM))
        return 1
    stale = status.is_stale(content)
    if arguments.json:
        out.write(json.dumps(dict(content, stale=stale), indent=1, sort_keys=True) + "\n")
    else:
        out.write(status.render_table(content))
    return 2 if stale else 0


def run(arguments, applier=None):
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        loaded = agent_config.load(arguments.config)
    except (agent_config.ConfigError, OSError) as error:
        logging.getLogger("multiwan_pbr.agent").error("%s: %s", arguments.config, error)
        return 1
    Agent(arguments.config, loaded, applier or default_applier(loaded), status_file=arguments.status_file).run()
    return 0


def default_applier(loaded):
    """The engine applier when the file has a routing (the role always renders one), else the logging one."""
    if loaded.routing is None:
        return LoggingApplier()
    return EngineApplier(loaded.routing)


def _parser():
    parser = argparse.ArgumentParser(prog=PROGRAM, description="multiwan.pbr's WAN health agent")
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run", help="track the WANs and apply what changes")
    running.add_argument("--config", required=True, help="the agent's JSON configuration")
    running.add_argument("--status-file", help="where to write the status (default: the file's status_file)")
    showing = commands.add_parser("status", help="show the WANs' state")
    showing.add_argument("--json", action="store_true", help="the status document as JSON")
    showing.add_argument("--status-file", help="the status file to read")
    showing.add_argument("--config", help="read the status file's path from this configuration")
    checking = commands.add_parser("check-config", help="check a configuration file")
    checking.add_argument("path")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
