# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit of RouterOS policy routing: print rows in, findings out.

The pollution this looks for (seed 000): a ``mark-connection`` in ``chain=output`` marks
the router's own connections, conntrack hands the mark to RELATED and NAT-helper packets
and to system traffic, and a ``mark-routing`` keyed on that connection mark then sends
WireGuard, DNS and gateway probes out of the wrong WAN. The clean way is a
``/routing rule dst-address=... table=X`` plus a default route in table X; when mangle in
output is unavoidable, ``action=return`` exclusions come first.

Failover (issue 14): a route with ``check-gateway`` probes its gateway, its *monitor target*
(the recursive-route pattern: tests/routeros_sim/README.md, Route activity). A rule that sends a
target into the table whose route to it is that very route makes the probe follow what it
measures; and a ``lookup-only-in-table`` rule whose table has no *active* default (print's
``active`` flag) drops what the table's other routes do not cover, for as long as that lasts.

Every check is a pure function over the rows of one ``print`` per menu (``dump`` is
``{path: [row]}`` as the runner returns it: strings, or values cast by librouteros).
A finding names the menu, the entry's position (its number in ``print``, 0-based, as the
console numbers it) and ``.id``, and says in one line what is wrong and why it matters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import dataclasses
import ipaddress

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput

MANGLE, RULES, TABLES, ROUTES = "/ip/firewall/mangle", "/routing/rule", "/routing/table", "/ip/route"
PATHS = (MANGLE, RULES, TABLES, ROUTES)
ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)

# Finding codes, their severity, and what they mean (docs/routeros_dst_routing.md explains each).
CODES = {
    "output-connmark-unguarded": ERROR,
    "output-connmark-exclusions-incomplete": WARNING,
    "output-routemark-from-output-connmark": ERROR,
    "output-routemark-from-output-connmark-excluded": WARNING,
    "missing-table": ERROR,
    "table-not-in-fib": ERROR,
    "table-without-default-route": WARNING,
    "lookup-may-fall-back-to-main": WARNING,
    "only-in-table-falls-back-to-main": WARNING,
    "only-in-table-rule-missing": WARNING,
    "shadowed-rule": WARNING,
    "monitor-target-routed-through-itself": ERROR,
    "monitor-target-routed-through-itself-may-fall-back": WARNING,
    "only-in-table-without-active-default": WARNING,
}
# RouterOS's own tables: `main` always, `local` as a rule table from 7.22.
BUILTIN_TABLES = ("main", "local")
TERMINAL_MANGLE_ACTIONS = ("return", "accept")
TERMINAL_RULE_ACTIONS = ("drop", "unreachable", "lookup-only-in-table")
# What seed 000 says must be excluded before marking in output, and how to tell.
EXCLUSION_KINDS = (
    ("LAN and gateway addresses", ("dst-address", "dst-address-list", "dst-address-type")),
    ("tunnel interfaces", ("out-interface", "out-interface-list")),
    ("DNS", ("dst-port", "port")),
)
RULE_MATCHERS = ("src-address", "dst-address", "routing-mark", "interface", "chain")
_TRUE_WORDS = ("true", "yes")
_DEFAULT_DESTINATIONS = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


@dataclasses.dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    path: str
    position: object        # int, or None for a finding about something missing
    id: object
    explanation: str

    def as_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One print row with where it was: ``position`` in the menu's print, its ``.id``."""

    path: str
    position: int
    id: str
    row: dict

    def get(self, keyword):
        """The value as text, ``None`` when not printed (librouteros may have cast it)."""
        value = self.row.get(keyword)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    @property
    def enabled(self):
        return (self.get("disabled") or "false").lower() not in _TRUE_WORDS

    def finding(self, code, explanation):
        return Finding(CODES[code], code, self.path, self.position, self.id, explanation)


Device = collections.namedtuple("Device", "mangle rules tables routes")


def audit(dump, only_in_table=()):
    """Every finding for the four menus in ``dump``, errors first, then by menu and position.

    ``only_in_table``: ``[{dst_address, table}]`` the user wants looked up with
    ``lookup-only-in-table`` (never falling back to ``main``); ``table`` may be ``None``.
    """
    device = read_device(dump)
    findings = (output_pollution(device) + missing_tables(device) + tables_without_default(device)
                + lookups_that_fall_back(device) + unmet_only_in_table(device, only_in_table)
                + shadowed_rules(device) + monitor_loops(device) + strict_rules_without_active_default(device))
    return sorted(findings, key=_finding_order)


def read_device(dump):
    entries = dict((path, [Entry(path, index, str(row.get(".id", "")), row)
                           for index, row in enumerate(dump.get(path) or [])]) for path in PATHS)
    tables = dict((entry.get("name"), entry) for entry in entries[TABLES])
    return Device(entries[MANGLE], entries[RULES], tables, entries[ROUTES])


def summary(findings, dump):
    """Readable lines: a count, then one line per finding (the role prints these)."""
    counts = collections.Counter(finding.severity for finding in findings)
    sizes = ", ".join("%d %s" % (len(dump.get(path) or []), label) for path, label in (
        (MANGLE, "mangle rules"), (RULES, "routing rules"), (TABLES, "routing tables"), (ROUTES, "routes")))
    head = "%d errors, %d warnings, %d notes in %s" % (counts[ERROR], counts[WARNING], counts[INFO], sizes)
    if not findings:
        head += ": nothing to report"
    return [head] + ["%-7s %s %s: %s" % (finding.severity.upper(), _location(finding), finding.code, finding.explanation)
                     for finding in findings]


def _location(finding):
    if finding.position is None:
        return finding.path
    return "%s #%d (%s)" % (finding.path, finding.position, finding.id)


def counts(findings):
    tally = collections.Counter(finding.severity for finding in findings)
    return dict((severity, tally[severity]) for severity in SEVERITIES)


def _finding_order(finding):
    position = -1 if finding.position is None else finding.position
    return SEVERITIES.index(finding.severity), PATHS.index(finding.path), position, finding.code


def expectations(items):
    """``only_in_table`` entries checked and normalised; ``InvalidInput`` names the bad one."""
    checked = []
    for index, item in enumerate(items or ()):
        field = "only_in_table[%d].dst_address" % index
        destination = _network(item.get("dst_address"))
        if destination is None:
            raise InvalidInput(field, item.get("dst_address"), "is not an IP address or prefix")
        checked.append({"dst_address": str(destination), "table": item.get("table") or None})
    return checked


# ---------------------------------------------------------------------------
# Mangle in chain=output


def output_pollution(device):
    """``mark-connection`` and ``mark-routing`` reached from ``chain=output``, and what guards them."""
    enabled = [entry for entry in device.mangle if entry.enabled]
    jumps = _jumps_from_output(enabled)
    output_marks = set(entry.get("new-connection-mark") for entry in enabled
                       if _reached_from_output(entry, jumps) and entry.get("action") == "mark-connection")
    findings = []
    for entry in enabled:
        if not _reached_from_output(entry, jumps):
            continue
        exclusions = exclusions_before(entry, enabled, jumps)
        if entry.get("action") == "mark-connection":
            findings.extend(_connmark_findings(entry, exclusions))
        elif entry.get("action") == "mark-routing" and entry.get("connection-mark") in output_marks:
            findings.append(_routemark_finding(entry, exclusions))
    return findings


def _jumps_from_output(enabled):
    """``{user chain: first jump rule in chain=output that enters it}``; one level deep."""
    jumps = {}
    for entry in enabled:
        if entry.get("chain") == "output" and entry.get("action") == "jump" and entry.get("jump-target"):
            jumps.setdefault(entry.get("jump-target"), entry)
    return jumps


def _reached_from_output(entry, jumps):
    return entry.get("chain") == "output" or entry.get("chain") in jumps


def exclusions_before(entry, enabled, jumps):
    """The ``return``/``accept`` rules a packet meets before ``entry``.

    In a user chain a ``return`` before the rule also skips it; so do the exclusions in
    ``chain=output`` before the jump into that chain.
    """
    found = [other for other in enabled if other.position < entry.position and _is_exclusion(other, entry.get("chain"))]
    jump = jumps.get(entry.get("chain"))
    if jump is not None:
        found += [other for other in enabled if other.position < jump.position and _is_exclusion(other, "output")]
    return found


def _is_exclusion(entry, chain):
    return entry.get("chain") == chain and entry.get("action") in TERMINAL_MANGLE_ACTIONS


def missing_exclusion_kinds(exclusions):
    """The kinds of seed 000's exclusions that no rule in ``exclusions`` provides."""
    if any(_matches_everything(entry) for entry in exclusions):
        return []
    return [kind for kind, keywords in EXCLUSION_KINDS
            if not any(_positive(entry, keyword) for entry in exclusions for keyword in keywords)]


def _matches_everything(entry):
    ignored = (".id", "chain", "action", "passthrough", "disabled", "log", "log-prefix", "comment",
               "bytes", "packets", "dynamic", "invalid")
    return not [keyword for keyword, value in entry.row.items() if keyword not in ignored and value not in (None, "")]


def _positive(entry, keyword):
    """A matcher that selects traffic (``!x`` selects everything but x: not an exclusion of x)."""
    value = entry.get(keyword)
    return bool(value) and not value.startswith("!")


def _connmark_findings(entry, exclusions):
    mark = entry.get("new-connection-mark")
    if not exclusions:
        return [entry.finding("output-connmark-unguarded",
                              "mark-connection new-connection-mark=%s in chain=%s with no action=return/accept "
                              "exclusions before it: conntrack spreads the mark to RELATED, NAT and system "
                              "traffic (WireGuard, DNS, gateway probes); use /routing rule dst-address=... "
                              "table=<wan> instead, or put exclusions first" % (mark, entry.get("chain")))]
    missing = missing_exclusion_kinds(exclusions)
    if missing:
        return [entry.finding("output-connmark-exclusions-incomplete",
                              "mark-connection new-connection-mark=%s in chain=%s: the exclusions before it "
                              "(%s) cover no %s" % (mark, entry.get("chain"), _ids(exclusions), " and no ".join(missing)))]
    return []


def _routemark_finding(entry, exclusions):
    mark, table = entry.get("connection-mark"), entry.get("new-routing-mark")
    if not exclusions:
        return entry.finding("output-routemark-from-output-connmark",
                             "mark-routing new-routing-mark=%s keyed on connection-mark=%s, which chain=output "
                             "sets: every packet that inherited the mark (RELATED, NAT, system traffic) is "
                             "routed by table %s" % (table, mark, table))
    return entry.finding("output-routemark-from-output-connmark-excluded",
                         "mark-routing new-routing-mark=%s keyed on connection-mark=%s set in chain=output; the "
                         "exclusions before it (%s) narrow the damage, but RELATED packets of marked "
                         "connections still inherit it" % (table, mark, _ids(exclusions)))


def _ids(entries):
    return ", ".join("#%d" % entry.position for entry in entries)


# ---------------------------------------------------------------------------
# Tables: exist, fib, default route


def table_references(device):
    """``(entry, keyword, table name)`` for every enabled reference to a routing table."""
    references = []
    for entry in device.mangle:
        if entry.enabled and entry.get("action") == "mark-routing" and entry.get("new-routing-mark"):
            references.append((entry, "new-routing-mark", entry.get("new-routing-mark")))
    for entry in device.mangle + device.rules:
        if entry.enabled and entry.get("routing-mark"):
            references.append((entry, "routing-mark", entry.get("routing-mark").lstrip("!")))
    for entry in device.rules:
        if entry.enabled and entry.get("action") in ("lookup", "lookup-only-in-table"):
            references.append((entry, "table", entry.get("table") or "main"))
    return references


def missing_tables(device):
    findings = []
    for entry, keyword, name in table_references(device):
        table = device.tables.get(name)
        if _is_builtin_name(name, table):
            continue
        if table is None:
            findings.append(entry.finding("missing-table", "%s=%s names no table in /routing/table%s: RouterOS "
                                          "cannot route by it" % (keyword, name, _dangling(name))))
        elif not table.enabled or table.get("fib") is None or table.get("fib") == "false":
            findings.append(entry.finding("table-not-in-fib", "%s=%s: the table is %s, so its routes never reach "
                                          "the FIB and the traffic silently uses main"
                                          % (keyword, name, "disabled" if not table.enabled else "without fib")))
    return findings


def _is_builtin_name(name, table):
    return _is_builtin(table) if table is not None else name in BUILTIN_TABLES


def _is_builtin(table):
    return (table.get("dynamic") or "").lower() in _TRUE_WORDS


def _dangling(name):
    return " (a *id: the table it named was removed)" if name.startswith("*") else ""


def default_route_tables(device):
    """Names of the tables that hold an enabled default route."""
    names = set()
    for entry in device.routes:
        if entry.enabled and _network(entry.get("dst-address") or "0.0.0.0/0") in _DEFAULT_DESTINATIONS:
            names.add(entry.get("routing-table") or "main")
    return names


def tables_without_default(device):
    with_default = default_route_tables(device)
    return [table.finding("table-without-default-route",
                          "table %s has no enabled default route: lookups for destinations its routes do not "
                          "cover fail (lookup-only-in-table) or fall through to main (lookup)" % name)
            for name, table in sorted(device.tables.items(), key=lambda item: item[1].position)
            if table.enabled and not _is_builtin(table) and name not in with_default]


# ---------------------------------------------------------------------------
# Routing rules: silent fallback to main, shadowing


def lookups_that_fall_back(device):
    with_default = default_route_tables(device)
    return [entry.finding("lookup-may-fall-back-to-main",
                          "action=lookup table=%s, and the table has no default route: traffic its routes do not "
                          "cover falls through to later rules and main; add a default route or use "
                          "action=lookup-only-in-table" % entry.get("table"))
            for entry in device.rules
            if entry.enabled and (entry.get("action") or "lookup") == "lookup"
            and (entry.get("table") or "main") not in BUILTIN_TABLES
            and entry.get("table") in device.tables and entry.get("table") not in with_default]


def unmet_only_in_table(device, wanted):
    """Each wanted ``{dst_address, table}``: its rule must use ``lookup-only-in-table``."""
    findings = []
    for item in wanted or ():
        destination = _network(item["dst_address"])
        matching = [entry for entry in device.rules if entry.enabled and entry.get("dst-address")
                    and _network(entry.get("dst-address")) == destination
                    and item.get("table") in (None, entry.get("table"))]
        if not matching:
            findings.append(Finding(CODES["only-in-table-rule-missing"], "only-in-table-rule-missing", RULES, None, None,
                                    "no enabled rule has dst-address=%s%s, so that traffic is routed by main"
                                    % (destination, _in_table(item))))
        findings.extend(entry.finding("only-in-table-falls-back-to-main",
                                      "dst-address=%s should never fall back to main, but the rule uses action=%s "
                                      "table=%s: when the table cannot route it, main does" %
                                      (destination, entry.get("action") or "lookup", entry.get("table")))
                        for entry in matching[:1] if (entry.get("action") or "lookup") == "lookup")
    return findings


def _in_table(item):
    return " table=%s" % item["table"] if item.get("table") else ""


def shadowed_rules(device):
    """Rules no packet can reach: an earlier rule matches all they match and always decides."""
    enabled = [entry for entry in device.rules if entry.enabled]
    with_default = default_route_tables(device)
    findings = []
    for index, entry in enumerate(enabled):
        shadow = next((earlier for earlier in enabled[:index]
                       if _always_decides(earlier, with_default) and _covers(earlier, entry)), None)
        if shadow is not None:
            findings.append(entry.finding("shadowed-rule", "never used: rule #%d (%s) before it matches everything "
                                          "it matches and always decides (action=%s table=%s)"
                                          % (shadow.position, shadow.id, shadow.get("action") or "lookup",
                                             shadow.get("table") or "main")))
    return findings


def _always_decides(entry, with_default):
    """Terminal: drop/unreachable/only-in-table always; lookup when its table has a default route."""
    if entry.get("min-prefix") is not None:
        return False        # min-prefix hides routes, so the lookup can fail and fall through
    action = entry.get("action") or "lookup"
    return action in TERMINAL_RULE_ACTIONS or action == "lookup" and (entry.get("table") or "main") in with_default


def _covers(earlier, later):
    for keyword in RULE_MATCHERS:
        wide, narrow = earlier.get(keyword), later.get(keyword)
        if wide is None:
            continue
        if narrow is None:
            return False
        if keyword.endswith("-address"):
            if not _contains(wide, narrow):
                return False
        elif wide != narrow:
            return False
    return True


def _contains(wide, narrow):
    wide, narrow = _network(wide), _network(narrow)
    return wide is not None and narrow is not None and wide.version == narrow.version and narrow.subnet_of(wide)


def _network(text):
    """The prefix, host bits cleared; ``None`` for anything else (a range, a name, nothing)."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Failover: monitor targets, and strict rules while a table's default is down


def monitor_targets(device):
    """``(route entry, target address, table)`` for each IP gateway of an enabled route with ``check-gateway``."""
    targets = []
    for entry in device.routes:
        if not entry.enabled or entry.get("check-gateway") in (None, "none"):
            continue
        for hop in (entry.get("gateway") or "").split(","):
            address = _address(hop.split("@")[0])
            if address is not None and "%" not in hop:
                targets.append((entry, address, entry.get("routing-table") or "main"))
    return targets


def monitor_loops(device):
    """A rule sends a monitor target into the table whose route to it goes through the target itself."""
    findings = []
    for route, target, table in monitor_targets(device):
        rule = _first_rule_for(device, target)
        if rule is None or (rule.get("table") or "main") != table or not _routed_through_itself(device, target, table):
            continue
        strict = rule.get("action") == "lookup-only-in-table"
        code = "monitor-target-routed-through-itself" + ("" if strict else "-may-fall-back")
        effect = ("once it stops answering the probe cannot leave, so the route never comes back" if strict else
                  "while the route is down the probe leaves by main, another path, and can bring it back too soon")
        findings.append(rule.finding(code, "sends monitor target %s (check-gateway=%s of route #%d, %s) into table %s, "
                                     "whose route to it is that route: the probe follows what it measures; %s. Add a "
                                     "host route to %s via the WAN's gateway in table %s"
                                     % (target, route.get("check-gateway"), route.position, route.id, table, effect,
                                        target, table)))
    return findings


def _first_rule_for(device, address):
    """The first enabled rule a packet of the router's own to ``address`` meets, matching it by destination only."""
    for entry in device.rules:
        if not entry.enabled or _is_builtin_rule(entry) or any(
                entry.get(keyword) for keyword in ("src-address", "routing-mark", "interface")):
            continue
        destination = _network(entry.get("dst-address") or "0.0.0.0/0")
        if destination is not None and destination.version == address.version and address in destination:
            return entry if (entry.get("action") or "lookup") in ("lookup", "lookup-only-in-table") else None
    return None


def _routed_through_itself(device, target, table):
    """Whether every most specific enabled route to ``target`` in ``table`` has ``target`` as a gateway."""
    candidates = [(destination.prefixlen, entry) for entry, destination in _enabled_routes(device, table)
                  if destination.version == target.version and target in destination]
    if not candidates:
        return False
    longest = max(length for length, _entry in candidates)
    return all(target in _gateway_addresses(entry) for length, entry in candidates if length == longest)


def _is_builtin_rule(entry):
    """RouterOS 7.22's own rules (``default=true``: tests/routeros_sim/README.md, ``builtin_rules``)."""
    return (entry.get("default") or "").lower() in _TRUE_WORDS


def _enabled_routes(device, table):
    for entry in device.routes:
        destination = _network(entry.get("dst-address") or "0.0.0.0/0")
        if entry.enabled and destination is not None and (entry.get("routing-table") or "main") == table:
            yield entry, destination


def _gateway_addresses(entry):
    return set(_address(hop.split("@")[0].split("%")[0]) for hop in (entry.get("gateway") or "").split(","))


def strict_rules_without_active_default(device):
    """``lookup-only-in-table`` rules whose table has no default route RouterOS prints active right now."""
    findings = []
    for entry in device.rules:
        table = entry.get("table") or "main"
        if not entry.enabled or entry.get("action") != "lookup-only-in-table" or table in BUILTIN_TABLES:
            continue
        defaults = [route for route, destination in _enabled_routes(device, table) if destination in _DEFAULT_DESTINATIONS]
        if any((route.get("active") or "").lower() in _TRUE_WORDS for route in defaults):
            continue
        state = ("its default routes (%s) are inactive: their gateways or monitor targets do not answer"
                 % _ids(defaults) if defaults else "it has no enabled default route")
        findings.append(entry.finding("only-in-table-without-active-default",
                                      "action=lookup-only-in-table table=%s, and %s: what the table's other routes do "
                                      "not cover is unreachable now, never routed by another table, until a default "
                                      "is active again" % (table, state)))
    return findings


def _address(text):
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None
