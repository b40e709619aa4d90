# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for ``ip rule`` / ``ip -6 rule``: the policy routing rules of one Linux host.

A rule is identified by its family and its priority (``ip rule`` has no other name for
it); a rule is owned when its ``protocol`` equals the module's tag. Rules of any other
protocol (tailscale, wg-quick, docker, the kernel's own) are parsed, shown and kept,
never changed. The engine interface is described in ``resource.py``.

Both boundaries normalise into the same ``Rule``: a user's ``config`` entry
(``normalise``) and a line of ``ip -json rule show`` (``parse``). Prefixes become
networks, marks and ports become integers, tables and protocols become numeric ids,
so comparing two rules is comparing two records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import socket
from collections import namedtuple
from dataclasses import dataclass, field as dataclass_field, replace

from ansible_collections.multiwan.pbr.plugins.module_utils.linux import rt_tables
from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import IPV4, IPV6, dump_prefix, family_of, prefix
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import Command
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import INTERFACE
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import is_owned, protocol_tag
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD, DELETE, REPLACE

MAX_U32 = 4294967295
FULL_MASK = 0xFFFFFFFF
ACTIONS = ("lookup", "goto", "blackhole", "unreachable", "prohibit", "nop")
FAMILY_OPTION = {IPV4: "-4", IPV6: "-6"}
MAX_PREFIXLEN = {IPV4: 32, IPV6: 128}
BUILTIN_TABLE_NAMES = {253: "default", 254: "main", 255: "local"}
# Shown by name; IANA fixed them and every /etc/protocols agrees. Other numbers show as numbers.
IP_PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp", 132: "sctp"}
_PORT_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_NUMBER = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*$")

SHOW_COMMANDS = {"rules4": ["-4", "rule", "show"], "rules6": ["-6", "rule", "show"]}
# The name files ip reads (tables, protocols, DS fields, device groups), read in the same dump.
FILES = dict(rt_tables.RT_TABLES_FILES, **rt_tables.RT_PROTOS_FILES)
FILES.update(rt_tables.RT_DSFIELD_FILES, **rt_tables.GROUP_FILES)
DIRECTORIES = dict(rt_tables.RT_TABLES_DIRECTORIES, **rt_tables.RT_PROTOS_DIRECTORIES)

# The ``config`` option of the module's argument_spec ("from" is a Python keyword, hence the literal).
CONFIG_OPTIONS = {
    "priority": dict(type="int", required=True),
    "family": dict(type="str", choices=[IPV4, IPV6]),
    "invert": dict(type="bool", default=False),
    "from": dict(type="str"),
    "to": dict(type="str"),
    "tos": dict(type="str"),
    "dscp": dict(type="int"),
    "fwmark": dict(type="str"),
    "fwmask": dict(type="str"),
    "iif": dict(type="str"),
    "oif": dict(type="str"),
    "ipproto": dict(type="str"),
    "sport": dict(type="str"),
    "dport": dict(type="str"),
    "uidrange": dict(type="str"),
    "l3mdev": dict(type="bool", default=False),
    "action": dict(type="str", choices=list(ACTIONS)),
    "table": dict(type="str"),
    "goto": dict(type="int"),
    "suppress_prefixlength": dict(type="int"),
    "suppress_ifgroup": dict(type="str"),
}
CONFIG_SPEC = dict(
    type="list", elements="dict", options=CONFIG_OPTIONS,
    mutually_exclusive=[("tos", "dscp"), ("table", "goto")],
    required_by={"fwmask": "fwmark"},
    # lookup needs a table unless l3mdev gives it; a flag with a default cannot say so here
    required_if=[("action", "goto", ("goto",))],
)
# Each action field belongs to one action.
ACTION_OF_FIELD = {"table": "lookup", "goto": "goto"}


@dataclass(frozen=True)
class Rule:
    """One rule, normalised. Absent selectors are ``None`` (``False`` for flags).

    ``table`` is a numeric id, or a name kept as given when rendering offline.
    ``sport``/``dport``/``uidrange`` are ``(first, last)``; ``fwmask`` is set whenever
    ``fwmark`` is (0xffffffff when ``ip`` shows none).
    """

    family: str
    priority: int
    invert: bool
    src: object
    dst: object
    tos: object
    fwmark: object
    fwmask: object
    iif: object
    oif: object
    ipproto: object
    sport: object
    dport: object
    uidrange: object
    l3mdev: bool
    action: str
    table: object
    goto: object
    suppress_prefixlength: object
    suppress_ifgroup: object
    protocol: object
    owned: bool
    # The kernel holds two owned rules at one priority after a make-before-break add that
    # was not followed by its delete (an interrupted run): the later ones count 1, 2 ...
    # so that a plan can tell them apart and remove them.
    duplicate: int = 0
    # The name ip shows for ``table`` (rt_tables), for commands and diffs a reader knows; not compared.
    table_name: object = dataclass_field(default=None, compare=False)

    @property
    def key(self):
        if self.duplicate:
            return (self.family, self.priority, self.duplicate)
        return (self.family, self.priority)


Facts = namedtuple("Facts", "tables protocols dsfields groups")


# ---------------------------------------------------------------------------
# The engine interface


def parse_facts(dump, params):
    """The names ``ip`` resolves on this host: tables, protocols, DS fields, device groups."""
    return Facts(rt_tables.table_names(dump), rt_tables.protocol_names(dump),
                 rt_tables.dsfield_names(dump), rt_tables.group_names(dump))


def normalise(item, params, facts):
    """A ``config`` entry into a ``Rule``; ``InvalidInput`` names the field and the value."""
    priority = _u32(item.get("priority"), "priority")
    field = _field_namer(priority)
    family = _entry_family(item, field)
    values = dict(
        family=family, priority=priority, invert=bool(item.get("invert")),
        src=_given(item, "from", field, _selector_prefix, family),
        dst=_given(item, "to", field, _selector_prefix, family),
        tos=_tos(item, field, family, facts),
        iif=_given(item, "iif", field, _ifname), oif=_given(item, "oif", field, _ifname),
        ipproto=_given(item, "ipproto", field, ip_protocol_number),
        sport=_given(item, "sport", field, port_range),
        dport=_given(item, "dport", field, port_range),
        uidrange=_given(item, "uidrange", field, uid_range),
        l3mdev=bool(item.get("l3mdev")),
        protocol=protocol_id(params, facts), owned=True,
    )
    values.update(_user_mark(item, field))
    values.update(_user_action(item, field, family, priority, facts, values["l3mdev"],
                               deleting=params.get("state") == "deleted"))
    return Rule(table_name=_table_name(values["table"], facts), **values)


def parse(dump, params, facts):
    """Both families of ``ip -json rule show`` into ``Rule`` records, in device order."""
    tag = protocol_id(params, facts)
    records = []
    for family, key in ((IPV4, "rules4"), (IPV6, "rules6")):
        records.extend(parse_rule(entry, family, facts, tag) for entry in dump.get(key) or [])
    return _numbered_duplicates(records)


def parse_rule(entry, family, facts, tag):
    """One object of ``ip -json rule show``."""
    protocol = facts.protocols.id_of(entry.get("protocol", 0), "protocol")
    mark = entry.get("fwmark")
    values = dict(
        family=family, priority=int(entry.get("priority", 0)), invert="not" in entry,
        src=_dump_prefix(entry.get("src"), entry.get("srclen")),
        dst=_dump_prefix(entry.get("dst"), entry.get("dstlen")),
        tos=facts.dsfields.id_of(entry["tos"], "tos") if "tos" in entry else None,
        # ip omits fwmask when it is 0xffffffff
        fwmark=None if mark is None else int(mark, 0),
        fwmask=None if mark is None else int(entry.get("fwmask", "0xffffffff"), 0),
        iif=entry.get("iif"), oif=entry.get("oif"),
        ipproto=_optional(entry.get("ipproto"), "ipproto", ip_protocol_number),
        sport=_dump_range(entry, "sport", "sport_start", "sport_end"),
        dport=_dump_range(entry, "dport", "dport_start", "dport_end"),
        uidrange=_dump_range(entry, None, "uid_start", "uid_end"),
        l3mdev="l3mdev" in entry,
        suppress_prefixlength=entry.get("suppress_prefixlen"),
        suppress_ifgroup=_optional(entry.get("suppress_ifgroup"), "suppress_ifgroup", facts.groups.id_of),
        protocol=protocol, owned=is_owned(protocol, tag),
    )
    values.update(_dump_action(entry, facts))
    return Rule(table_name=_table_name(values["table"], facts), **values)


def parse_running_config(text, params):
    """``state=parsed``: a saved ``{"rules4": [...], "rules6": [...]}`` (plus any rt_* texts)."""
    try:
        dump = json.loads(text)
    except ValueError as error:
        raise InvalidInput("running_config", text[:60], "is not JSON: %s" % error)
    if not isinstance(dump, dict):
        raise InvalidInput("running_config", text[:60], "is not a JSON object with rules4/rules6")
    return dump


def merge(current, wanted):
    """What ``merged`` leaves: selectors given in ``wanted`` win, the action is ``wanted``'s.

    Suppressors stay only when the merged rule still looks a table up; ``l3mdev`` goes
    when ``wanted`` names a table (the kernel refuses both together). ``current`` itself
    comes back when nothing changes: the plan runs this for every wanted rule, and a
    no-change run over 10,000 rules should not build 10,000 copies to compare (nor, when the
    two are already equal, look at them field by field).
    """
    if wanted == current:
        return current
    merged = dict((name, getattr(wanted, name)) for name in SELECTOR_NAMES
                  if getattr(wanted, name) not in (None, False))
    merged.update(action=wanted.action, table=wanted.table, goto=wanted.goto)
    if wanted.table is not None:
        merged["l3mdev"] = False
    kept_suppressors = wanted.action == "lookup"
    for name in ("suppress_prefixlength", "suppress_ifgroup"):
        merged[name] = _first_given(getattr(wanted, name), getattr(current, name) if kept_suppressors else None)
    if all(getattr(current, name) == value for name, value in merged.items()):
        return current
    return replace(current, **merged)


def render(ops, params):
    """``ip -4|-6 rule add|del`` lines: every addition first, then every deletion.

    A ``replace`` is the new rule added beside the old one (same priority) and the old
    one deleted after every addition: make-before-break, and at most one batch per
    family and verb for the runner.
    """
    additions = [op.record for op in ops if op.verb in (ADD, REPLACE)]
    deletions = [op.old if op.verb == REPLACE else op.record for op in ops if op.verb in (DELETE, REPLACE)]
    return ([command_line("add", rule) for rule in _by_family(additions)]
            + [command_line("del", rule) for rule in _by_family(deletions)])


def render_state(records, params):
    """Rules as ``ip rule show`` prints them, IPv4 then IPv6 (each after a comment line)."""
    lines, family = [], None
    for rule in records:
        if rule.family != family:
            family = rule.family
            lines.append("# ip %s rule show" % FAMILY_OPTION[family])
        lines.append("%d:\t%s" % (rule.priority, " ".join(show_words(rule))))
    return "\n".join(lines) + ("\n" if lines else "")


def to_config(rule):
    """A ``Rule`` in ``config`` shape, only the fields it has; ``normalise`` reads it back."""
    config = dict(priority=rule.priority, family=rule.family)
    optional = (
        ("invert", rule.invert or None), ("from", rule.src), ("to", rule.dst),
        ("tos", _hex(rule.tos)), ("fwmark", _hex(rule.fwmark)),
        ("fwmask", _hex(rule.fwmask) if rule.fwmask != FULL_MASK else None),
        ("iif", rule.iif), ("oif", rule.oif), ("ipproto", _ip_protocol_name(rule.ipproto)),
        ("sport", _range_text(rule.sport)), ("dport", _range_text(rule.dport)),
        ("uidrange", _range_text(rule.uidrange, always_pair=True)), ("l3mdev", rule.l3mdev or None),
        ("action", rule.action), ("table", rule.table), ("goto", rule.goto),
        ("suppress_prefixlength", rule.suppress_prefixlength), ("suppress_ifgroup", _text(rule.suppress_ifgroup)),
    )
    config.update((name, value) for name, value in optional if value is not None)
    return config


def sort_key(rule):
    return (rule.family == IPV6, rule.priority, not rule.owned, _ShownAs(rule))


class _ShownAs(object):
    """Orders rules that tie on family, priority and owner by their ``ip rule show`` words.

    The words are built only for such a tie (rules sharing a priority), not for every
    rule of every sort: results sort 10,000 rules more than once.
    """

    __slots__ = ("rule",)

    def __init__(self, rule):
        self.rule = rule

    def __eq__(self, other):
        return show_words(self.rule) == show_words(other.rule)

    def __lt__(self, other):
        return show_words(self.rule) < show_words(other.rule)

    __hash__ = None


# ---------------------------------------------------------------------------
# Rendering


def command_line(verb, rule):
    """``ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup 100 protocol 211``."""
    words = ["rule", verb, "priority", str(rule.priority)]
    return Command("ip", (FAMILY_OPTION[rule.family],), words + selector_words(rule, for_show=False)
                   + action_words(rule) + ["protocol", str(rule.protocol)])


def show_words(rule):
    """The words after ``<priority>:`` in ``ip rule show``."""
    words = selector_words(rule, for_show=True) + action_words(rule)
    return words + (["proto", OFFLINE_PROTOCOLS.show(rule.protocol)] if rule.protocol else [])


def selector_words(rule, for_show):
    words = ["not"] if rule.invert else []
    if rule.src is not None or for_show:
        words += ["from", rule.src or "all"]
    words += _pair("to", rule.dst) + _pair("tos", _hex(rule.tos))
    if rule.fwmark is not None:
        mask = "" if rule.fwmask == FULL_MASK else "/%s" % _hex(rule.fwmask)
        words += ["fwmark", "%s%s" % (_hex(rule.fwmark), mask)]
    words += _pair("iif", rule.iif) + _pair("oif", rule.oif) + (["l3mdev"] if rule.l3mdev else [])
    words += _pair("uidrange", _range_text(rule.uidrange, always_pair=True))
    words += _pair("ipproto", _ip_protocol_name(rule.ipproto))
    return words + _pair("sport", _range_text(rule.sport)) + _pair("dport", _range_text(rule.dport))


def action_words(rule):
    if rule.action == "lookup":
        words = _pair("lookup", rule.table_name or _table_text(rule.table))
        words += _pair("suppress_prefixlength", _text(rule.suppress_prefixlength))
        return words + _pair("suppress_ifgroup", _text(rule.suppress_ifgroup))
    if rule.action == "goto":
        return ["goto", str(rule.goto)]
    return [rule.action]


def _table_name(table, facts):
    return facts.tables.name_of(table) if facts and isinstance(table, int) else None


def _by_family(rules):
    return [rule for rule in rules if rule.family == IPV4] + [rule for rule in rules if rule.family == IPV6]


def _pair(keyword, value):
    return [] if value is None else [keyword, value]


def _table_text(table):
    if table is None:       # l3mdev: the table comes from the device
        return None
    return BUILTIN_TABLE_NAMES.get(table, str(table))


def _ip_protocol_name(number):
    return None if number is None else IP_PROTOCOL_NAMES.get(number, str(number))


# ---------------------------------------------------------------------------
# Normalising user input (each helper raises InvalidInput naming the field)

# Without a device (state=rendered) only the names iproute2 knows without files resolve.
OFFLINE_TABLES = rt_tables.parse_rt_tables([])
OFFLINE_PROTOCOLS = rt_tables.parse_rt_protos([])
OFFLINE_GROUPS = rt_tables.TableNames([(0, "default")], kind="group")
OFFLINE_DSFIELDS = rt_tables.TableNames([], max_id=255, kind="dsfield")
SELECTOR_NAMES = ("invert", "src", "dst", "tos", "fwmark", "fwmask", "iif", "oif", "ipproto",
                  "sport", "dport", "uidrange", "l3mdev")


def protocol_id(params, facts):
    """The ownership tag as a number (``linux.ownership``); a name only resolves with the device's rt_protos."""
    return protocol_tag(params.get("protocol"), facts.protocols if facts else None)


def _field_namer(priority):
    return lambda name: "config[priority=%s].%s" % (priority, name)


def _entry_family(item, field):
    """``family`` as given, else the family of the addresses, else IPv4; a mix is refused."""
    given = item.get("family")
    if given not in (None, IPV4, IPV6):
        raise InvalidInput(field("family"), given, "must be ipv4 or ipv6")
    found = [(name, _given(item, name, field, _address_family)) for name in ("from", "to")]
    families = set(family for name, family in found if family)
    if len(families) > 1:
        raise InvalidInput(field("to"), item.get("to"), "mixes IPv4 and IPv6 with from=%r in one rule" % item.get("from"))
    if given and families and families != set([given]):
        name = [name for name, family in found if family and family != given][0]
        raise InvalidInput(field(name), item.get(name), "is not an %s address (family=%s)" % (given, given))
    return given or (families.pop() if families else IPV4)


def _address_family(value, field):
    if str(value).strip().lower() in ("all", "default", "any"):
        return None
    return family_of(prefix(value, field))


def _selector_prefix(value, field, family):
    network = prefix(value, field, family)
    # ip shows a /0 selector as "all": no selector at all
    return None if network.endswith("/0") else network


def _tos(item, field, family, facts):
    """``tos`` (a byte, or an rt_dsfield name) or ``dscp`` (0..63, the top six bits)."""
    if item.get("dscp") is not None:
        dscp = _integer(item["dscp"], field("dscp"), 63)
        return dscp << 2
    if item.get("tos") is None:
        return None
    tos = (facts.dsfields if facts else OFFLINE_DSFIELDS).id_of(item["tos"], field("tos"))
    if tos & 3:
        raise InvalidInput(field("tos"), item["tos"], "sets the ECN bits (0x03); a rule matches the DS field only")
    return tos


def _user_mark(item, field):
    mark, mask = item.get("fwmark"), item.get("fwmask")
    if mark is None:
        if mask is not None:
            raise InvalidInput(field("fwmask"), mask, "needs fwmark")
        return dict(fwmark=None, fwmask=None)
    mark_value = _integer(mark, field("fwmark"), MAX_U32)
    mask_value = FULL_MASK if mask is None else _integer(mask, field("fwmask"), MAX_U32)
    if mark_value & ~mask_value:
        raise InvalidInput(field("fwmark"), mark, "has bits outside fwmask %s" % _hex(mask_value))
    return dict(fwmark=mark_value, fwmask=mask_value)


def _user_action(item, field, family, priority, facts, l3mdev, deleting):
    action = item.get("action") or _implied_action(item, l3mdev, deleting)
    if action not in ACTIONS + ((None,) if deleting else ()):
        raise InvalidInput(field("action"), action, "must be one of %s" % ", ".join(ACTIONS))
    _refuse_given(item, field, action, [name for name, owner in ACTION_OF_FIELD.items() if owner != action])
    if action != "lookup":
        _refuse_given(item, field, action, ["suppress_prefixlength", "suppress_ifgroup"])
    groups = facts.groups if facts else OFFLINE_GROUPS
    return dict(
        action=action,
        table=_user_table(item, field, action, l3mdev, facts),
        goto=_goto(item, field, priority) if action == "goto" else None,
        suppress_prefixlength=_given(item, "suppress_prefixlength", field, _integer, MAX_PREFIXLEN[family]),
        suppress_ifgroup=_given(item, "suppress_ifgroup", field, _resolve_group, groups, not facts))


def _implied_action(item, l3mdev, deleting):
    if item.get("table") is not None or l3mdev:
        return "lookup"
    if item.get("goto") is not None:
        return "goto"
    if deleting:        # state=deleted needs only what identifies the rule
        return None
    raise InvalidInput("config[priority=%s]" % item.get("priority"), None, "needs table, goto, l3mdev or action")


def _refuse_given(item, field, action, names):
    for name in sorted(names):
        if item.get(name) is not None:
            raise InvalidInput(field(name), item[name], "does not go with action=%s" % action)


def _user_table(item, field, action, l3mdev, facts):
    if action != "lookup":
        return None
    given = item.get("table")
    if l3mdev:
        if given is not None:
            raise InvalidInput(field("table"), given, "does not go with l3mdev (the device gives the table)")
        return None
    if given is None:
        raise InvalidInput(field("table"), None, "is required for action=lookup")
    table = _resolve(facts.tables if facts else OFFLINE_TABLES, given, field("table"), keep_unknown=not facts)
    if table == 0:
        # the kernel would invent a fresh table id for table 0 ("unspec")
        raise InvalidInput(field("table"), given, "is unspec (0); a rule needs a real table")
    return table


def _goto(item, field, priority):
    target = _u32(item.get("goto"), field("goto"))
    if target <= priority:
        raise InvalidInput(field("goto"), item.get("goto"), "must be a priority after this rule's (%d); "
                           "the kernel refuses backward gotos" % priority)
    return target


def _resolve(names, value, field, keep_unknown):
    """A name or number as an id; with ``keep_unknown`` (rendering offline) an unknown name stays text."""
    if keep_unknown and not _NUMBER.match(str(value)) and str(value) not in names.id_by_name:
        return str(value)       # the target resolves it when the line runs
    return names.id_of(value, field)


def _resolve_group(value, field, groups, keep_unknown):
    return _resolve(groups, value, field, keep_unknown)


def _ifname(value, field):
    return INTERFACE.normalise(value, field)


def ip_protocol_number(value, field):
    """``tcp`` or ``6`` -> 6; other names through the host's /etc/protocols, as ip reads them."""
    text = str(value).strip()
    if _NUMBER.match(text):
        return _integer(text, field, 255)
    try:
        return socket.getprotobyname(text)
    except (OSError, ValueError):       # ValueError: a NUL in the name
        raise InvalidInput(field, value, "is not an IP protocol number or a name in /etc/protocols")


def port_range(value, field):
    """``"443"`` -> (443, 443); ``"1000-2000"`` -> (1000, 2000)."""
    return _range(value, field, 65535)


def uid_range(value, field):
    return _range(value, field, MAX_U32)


def _range(value, field, maximum):
    match = _PORT_RANGE.match(str(value))
    if not match:
        raise InvalidInput(field, value, "is not a number or a range first-last")
    first = _integer(match.group(1), field, maximum)
    last = first if match.group(2) is None else _integer(match.group(2), field, maximum)
    if last < first:
        raise InvalidInput(field, value, "is a reversed range (%d > %d)" % (first, last))
    return (first, last)


def _u32(value, field):
    if value is None:
        raise InvalidInput(field, value, "is required")
    return _integer(value, field, MAX_U32)


def _integer(value, field, maximum):
    """An integer 0..maximum from an int or a decimal/0x-hex string."""
    if isinstance(value, bool):
        raise InvalidInput(field, value, "is not a number")
    if isinstance(value, int):
        number = value
    elif _NUMBER.match(str(value)):
        number = int(str(value).strip(), 0)
    else:
        raise InvalidInput(field, value, "is not a number (decimal or 0x-hex)")
    if not 0 <= number <= maximum:
        raise InvalidInput(field, value, "is out of range 0..%d" % maximum)
    return number


def _optional(value, field, convert):
    return None if value is None else convert(value, field)


def _given(item, name, field, convert, *args):
    """``convert(item[name], field(name), *args)``, or ``None`` when the entry leaves ``name`` out;
    the field's name is made only for a value that is there (most selectors are not)."""
    value = item.get(name)
    return None if value is None else convert(value, field(name), *args)


def _first_given(*values):
    return next((value for value in values if value is not None), None)


def _hex(number):
    return None if number is None else "0x%x" % number


def _text(value):
    return None if value is None else str(value)


def _range_text(pair, always_pair=False):
    if pair is None:
        return None
    first, last = pair
    return str(first) if first == last and not always_pair else "%d-%d" % pair


# ---------------------------------------------------------------------------
# Reading ip -json


def _numbered_duplicates(records):
    """Owned rules after the first at the same family and priority get ``duplicate`` 1, 2 ..."""
    seen = {}
    numbered = []
    for record in records:
        if record.owned:
            count = seen.get(record.key, 0)
            seen[record.key] = count + 1
            record = replace(record, duplicate=count) if count else record
        numbered.append(record)
    return numbered


def _dump_prefix(address, length):
    network = dump_prefix(address, length)
    return None if network is None or network.endswith("/0") else network


def _dump_range(entry, single, first, last):
    if single and single in entry:
        return (int(entry[single]), int(entry[single]))
    if first in entry:
        return (int(entry[first]), int(entry[last]))
    return None


def _dump_action(entry, facts):
    if "goto" in entry:
        return dict(action="goto", table=None, goto=int(entry["goto"]))
    if "nop" in entry:
        return dict(action="nop", table=None, goto=None)
    if "action" in entry:
        return dict(action=entry["action"], table=None, goto=None)
    table = entry.get("table")
    # a name ip printed but the files do not hold (a saved dump for state=parsed) stays a name
    return dict(action="lookup", goto=None,
                table=None if table is None else _resolve(facts.tables, table, "table", keep_unknown=True))


ENGINE = Engine(
    name="pbr_rule", config_spec=CONFIG_SPEC, normalise=normalise, parse=parse, merge=merge, render=render,
    render_state=render_state, to_config=to_config, parse_facts=parse_facts, sort_key=sort_key,
    parse_running_config=parse_running_config)
