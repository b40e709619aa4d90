"""``make bench``: every part, side by side in one process, medians and ratios; writes bench/results/<date>.md.

    python bench/run.py                     # all parts, 3 runs each (about 30 minutes)
    python bench/run.py --parts 1,3         # some parts
    python bench/run.py --quick --no-write  # tiny sizes, one run: a smoke run

Parts: 1 ip rule (pbr_rule), 2 ip route (pbr_table), 3 RouterOS (ros_routing_rule vs api_modify),
4 nftables data path (nft_connmark), 5 playbooks/site.yml against the podman lab, 6 failover (faults on the
lab, 10 % loss, the agent's CPU and memory), 7 from a renumbered WAN's new lease to new flows through its new
gateway (the failover agent), 8 fleet scale (one site.yml run against 1, 5 and 20 light lab routers, with and
without pipelining, against a one-task playbook over the same connection). A run writes bench/results/<date>.md, or appends to it when an earlier run of the
day wrote it. Needs root (network namespaces, podman); run it through ``make bench`` so the collection is linked.
"""

import argparse
import importlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (after the path above)

PARTS = {"1": "linux_rules", "2": "linux_routes", "3": "routeros", "4": "datapath", "5": "lab_site", "6": "failover",
         "7": "renumber", "8": "fleet"}
RESULTS = os.path.join(common.ROOT, "bench", "results")


def main(argv=None):
    options = _parse(argv)
    settings = common.Settings(runs=1 if options.quick else options.runs, quick=options.quick)
    rows, notes, durations, failures = [], [], [], []
    for part in options.parts.split(","):
        started = time.perf_counter()
        try:
            part_rows, part_notes = importlib.import_module(PARTS[part]).run(settings)
        except Exception as error:      # one broken part must not lose the others' numbers
            failures.append((part, "%s: %s" % (type(error).__name__, error)))
            print("part %s failed: %s" % failures[-1], file=sys.stderr, flush=True)
            continue
        finally:
            durations.append((part, time.perf_counter() - started))
        rows += part_rows
        notes += part_notes
        print(common.table(part_rows), flush=True)
    path = os.path.join(RESULTS, time.strftime("%Y-%m-%d", time.gmtime()) + ".md")
    later = not options.no_write and os.path.exists(path)
    report = render_report(rows, notes, durations, failures, settings, later_run=options.parts if later else None)
    print("\n" + report)
    if not options.no_write:
        # a later run of the same day goes below the earlier ones: their numbers stay
        with open(path, "a" if later else "w") as handle:
            handle.write("\n" + report if later else report)
        print("%s: %s" % ("appended to" if later else "written", os.path.relpath(path, common.ROOT)))
    missed = [row for row in rows if row.met is False]
    if failures:
        return 2
    return 1 if options.strict and missed else 0


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(sorted(PARTS)), help="comma-separated part numbers (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="samples per measurement; medians are reported")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one run (the smoke test)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/results/<date>.md")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    return parser.parse_args(argv)


def render_report(rows, notes, durations, failures, settings, later_run=None):
    """The results file: machine, table, notes, goals with the profiles of misses, every sample.
    ``later_run`` (the parts, e.g. "6"): the report of a later run of the day, appended to the day's file."""
    title = "# multiwan.pbr benchmarks, %s" % time.strftime("%Y-%m-%d", time.gmtime())
    if later_run:
        title += ", a later run (%s UTC, part(s) %s)" % (time.strftime("%H:%M", time.gmtime()), later_run)
    lines = [title, "",
             "Produced by `make bench` (`bench/run.py`, %d run(s) per measurement, medians). Ratios are the "
             "measured cost over the baseline's (below 1 is faster); `docs/benchmarks.md` says what each row "
             "measures." % settings.runs, "", "## Machine", ""]
    lines += ["- %s: %s" % (what, value) for what, value in common.machine()]
    lines += ["", "## Results", "", common.table(rows), ""]
    if failures:
        lines += ["Parts that did not run to the end (no rows):", ""]
        lines += ["- part %s: %s" % failure for failure in failures] + [""]
    noted = [row for row in rows if row.note]
    if noted:
        lines += ["Notes:", ""] + ["- %s / %s: %s" % (row.case, row.subject, row.note) for row in noted] + [""]
    lines += _goal_lines(rows)
    for title, profile in notes:
        lines += ["### %s" % title, "", "```"] + profile + ["```", ""]
    lines += ["## Samples", "", "Every sample, in seconds (CPU microseconds per packet for the data path), in run order:", ""]
    lines += ["- %s %s, %s: %s" % (row.part, row.case, row.subject, _samples(row)) for row in rows if row.samples]
    lines += ["", "Wall time per part: " + ", ".join("part %s %.0f s" % item for item in durations), ""]
    return "\n".join(lines)


def _goal_lines(rows):
    met = [row for row in rows if row.met]
    missed = [row for row in rows if row.met is False]
    lines = ["## Goals", "", "%d met, %d missed." % (len(met), len(missed)), ""]
    for verdict, group in (("met", met), ("missed", missed)):
        lines += ["- %s: %s %s, %s (%s, goal %s)" % (
            verdict, row.part, row.case, row.subject, _measured(row), row.goal_text) for row in group]
    return lines + [""]


def _measured(row):
    return common.value_text(row.value, row.unit) if row.limit is not None else common.ratio_text(row.ratio)


def _samples(row):
    return ", ".join(_sample(value, row.unit) for value in row.samples)


def _sample(value, unit):
    return "%.0f" % value if unit == "pps" else "%.3f" % value


if __name__ == "__main__":
    sys.exit(main())
