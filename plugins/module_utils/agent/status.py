# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status file the agent writes and ``multiwan-pbr status`` reads.

The agent writes it atomically (a temporary file in the same directory, then ``rename``), on every
change and every ``PERIOD`` seconds, so a reader never sees half a document. Shape::

    {"version": 1, "pid": 812, "updated": "2026-11-22T10:00:07.123Z", "period": 5.0,
     "wans": [{"name": "wan2", "device": "wan2", "state": "down", "since": "2026-11-22T10:00:05.020Z",
               "reason": "probes", "detail": "ipv4: fewer than 1 of 2 targets answered 5 rounds in a row",
               "loss": 100.0, "latency_ms": null, "transitions": 1,
               "families": [{"family": "ipv4", "state": "down", "since": ..., "reason": "probes",
                             "detail": ..., "loss": 100.0, "latency_ms": null, "transitions": 1,
                             "down_rounds": 5, "probes": {"sent": 480, "answered": 310,
                                                          "last_error": "203.0.113.10: Network is unreachable"},
                             "targets": [{"address": "198.18.2.2", "loss": 100.0, "latency_ms": null}],
                             "addresses": ["100.64.2.2/24"], "gateway": "100.64.2.1",
                             "gateway_state": "reachable"}]}]}

A WAN is ``up`` when every family of it is up; ``loss`` (percent, over the window) and ``latency_ms``
(median RTT) are its worst family's, a family's loss the mean of its targets'; ``since`` is when it
entered its state; for a down WAN ``reason`` and ``detail`` say why it is down now. ``last_error`` (the
last socket error of a prober) appears only when there was one. Times are UTC ISO 8601.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import os
import tempfile
import time

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import tracker

VERSION = 1
PERIOD = 5.0                    # seconds between writes when nothing changes
STALE_AFTER = 3 * PERIOD        # a file older than this means the agent is not running


def family_status(settings, health, targets=(), counters=None, facts=None, to_wall=lambda moment: moment):
    """One WAN family's entry.

    ``targets`` are the probed addresses in the tracker's order, ``counters`` the prober's
    ``{"sent": n, "answered": n}``, ``facts`` its ``uplinks.WanFacts``; ``to_wall`` turns the tracker's
    monotonic times into epoch seconds.
    """
    stats = [tracker.target_stats(window) for window in health.windows]
    entry = {"family": settings.family, "state": health.state, "since": iso(to_wall(health.since)),
             "reason": health.reason, "detail": health.detail,
             "loss": _rounded(sum(loss for loss, _latency in stats) / len(stats)) if stats else None,
             "latency_ms": _median_latency(health.windows), "transitions": health.transitions}
    if settings.probes:
        entry["down_rounds"] = settings.probes.down_rounds
        entry["probes"] = dict(counters or {"sent": 0, "answered": 0})
        entry["targets"] = [{"address": address, "loss": _rounded(loss), "latency_ms": _rounded(latency)}
                            for address, (loss, latency) in zip(targets, stats)]
    if facts is not None:
        entry.update(addresses=list(facts.addresses), gateway=facts.gateway, gateway_state=facts.gateway_state)
    return entry


def wan_status(name, device, families):
    """One WAN's entry from its families' entries (see the module docstring for the rules)."""
    down = [entry for entry in families if entry["state"] == tracker.DOWN]
    deciding = min(down, key=lambda entry: entry["since"]) if down else max(families, key=lambda entry: entry["since"])
    detail = deciding["detail"]
    if len(families) > 1:
        detail = "%s: %s" % (deciding["family"], detail)
    losses = [entry["loss"] for entry in families if entry["loss"] is not None]
    latencies = [entry["latency_ms"] for entry in families if entry["latency_ms"] is not None]
    return {"name": name, "device": device, "state": tracker.DOWN if down else tracker.UP,
            "since": deciding["since"], "reason": deciding["reason"], "detail": detail,
            "loss": max(losses) if losses else None, "latency_ms": max(latencies) if latencies else None,
            "transitions": sum(entry["transitions"] for entry in families), "families": families}


def document(wans, now_wall, pid=None):
    """The whole file."""
    return {"version": VERSION, "pid": os.getpid() if pid is None else pid, "updated": iso(now_wall),
            "period": PERIOD, "wans": wans}


def write_atomically(path, content):
    """Write ``content`` (a JSON-able document) to ``path`` so readers see the old file or the new one."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".status.", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(content, stream, indent=1, sort_keys=True)
            stream.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def read(path):
    with open(path) as handle:
        return json.load(handle)


def render_table(content, now_wall=None):
    """The status as a readable table: one line per WAN, one more per family for multi-family WANs."""
    now_wall = time.time() if now_wall is None else now_wall
    rows = [("WAN", "STATE", "SINCE", "LOSS", "LATENCY", "REASON")]
    for wan in content["wans"]:
        rows.append(_row(wan["name"], wan, now_wall))
        if len(wan["families"]) > 1:
            rows.extend(_row("  " + entry["family"], entry, now_wall) for entry in wan["families"])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    age = now_wall - parse_iso(content["updated"])
    header = "multiwan-pbr agent pid %s, status written %s ago" % (content.get("pid"), _ago(age))
    if age > STALE_AFTER:
        header += " -- STALE: the agent is not writing its status; is multiwan-pbr running?"
    return "\n".join([header, ""] + [line.rstrip() for line in lines]) + "\n"


def is_stale(content, now_wall=None):
    now_wall = time.time() if now_wall is None else now_wall
    return now_wall - parse_iso(content["updated"]) > STALE_AFTER


def iso(epoch):
    """Epoch seconds as UTC ISO 8601 with milliseconds."""
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % int((epoch - whole) * 1000)


def parse_iso(text):
    """The inverse of ``iso``."""
    whole, fraction = text.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(fraction) / 1000.0


# -- helpers


def _row(label, entry, now_wall):
    since = parse_iso(entry["since"])
    loss = "-" if entry["loss"] is None else "%.0f%%" % entry["loss"]
    latency = "-" if entry["latency_ms"] is None else "%.1f ms" % entry["latency_ms"]
    when = "%s (%s ago)" % (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)), _ago(now_wall - since))
    return (label, entry["state"], when, loss, latency, "%s: %s" % (entry["reason"], entry["detail"]))


def _ago(seconds):
    seconds = max(0, int(seconds))
    if seconds < 120:
        return "%d s" % seconds
    if seconds < 7200:
        return "%d min" % (seconds // 60)
    if seconds < 172800:
        return "%d h" % (seconds // 3600)
    return "%d d" % (seconds // 86400)


def _median_latency(windows):
    answered = sorted(rtt for window in windows for rtt in window if rtt is not None)
    return _rounded(answered[len(answered) // 2] * 1000.0) if answered else None


def _rounded(value):
    return None if value is None else round(value, 1)


def module_result(path, now_wall=None):
    """What ``multiwan.pbr.wan_status`` returns for the status file at ``path`` (missing: not running)."""
    try:
        content = read(path)
    except (OSError, ValueError) as error:
        return {"running": False, "stale": True, "wans": [], "down": [], "missing": "%s: %s" % (path, error)}
    stale = is_stale(content, now_wall)
    wans = content.get("wans") or []
    return {"running": not stale, "stale": stale, "updated": content.get("updated"), "wans": wans,
            "down": [wan["name"] for wan in wans if wan.get("state") != "up"]}


def failure_of(result, fail_when_stale, fail_when_down):
    """The failure message ``wan_status`` gives for ``result`` under its options, or None."""
    if fail_when_stale and result["stale"]:
        return result.get("missing") or "the agent's status was last written %s: is multiwan-pbr-agent running?" \
            % result.get("updated")
    if fail_when_down and result["down"]:
        return "WAN(s) down: %s" % ", ".join(result["down"])
    return None
