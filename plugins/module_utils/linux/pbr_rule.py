# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine for ``ip rule`` / ``ip -6 rule``: the policy routing rules of one Linux host.

A rule is identified by its family and its priority (``ip rule`` has no other name for
it); a rule is owned when its ``protocol`` is the module's tag (``linux.ownership``). Rules
of any other protocol (tailscale, wg-quick, docker, the kernel's own) are parsed, shown
and kept, never changed. The engine interface is ``core.engine``.

Every field is declared once, in ``RULE_FIELDS``: its option, kind, docs, ``ip`` keyword
and where ``ip -json rule show`` keeps it. The option spec, the ``Rule`` record, the
parser, the renderer and ``to_config`` all read that table; what the table cannot say
(a field whose value needs the host's name files, the family of an entry, the action
and its table) is a small function below, once.

Two kernel facts shape the plan (``revise_plan``, ``render``; tests/integration/test_pbr_rule.py shows
both on the real kernel, ``test_replacing_a_rule_by_one_without_its_prefix_works`` and
``test_a_run_converges_from_two_owned_rules_at_one_priority``):
- adding a rule fails with "File exists" when a rule at the same priority has the same
  action, table, interfaces, mark ... and the new rule's ``from``/``to``/``tos`` are unset
  or equal to the old one's (``rule_exists`` compares those only when the new rule has
  them). Such a replacement cannot be made before it is broken: the old rule goes first.
- deleting a rule deletes the first rule in the list that has every attribute the
  delete names. Two owned rules at one priority (a run interrupted between the add and
  the delete of a replacement) are therefore removed first to last, then the wanted one
  is added again, so no delete can hit the rule that should stay.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
from collections import namedtuple
from dataclasses import make_dataclass, replace

from ansible_collections.multiwan.pbr.plugins.module_utils.core.addresses import IPV4, IPV6, dump_prefix, family_of, prefix
from ansible_collections.multiwan.pbr.plugins.module_utils.core.commands import Command, batch_word
from ansible_collections.multiwan.pbr.plugins.module_utils.core.engine import Engine
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import (
    BOOLEAN, INTERFACE, MAX_U32, PORT_RANGE, TEXT, UID_RANGE, Field, Kind, choice, given_values, hex_integer,
    integer, options_spec, read_values)
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import ADD, DELETE, REPLACE, Op
from ansible_collections.multiwan.pbr.plugins.module_utils.linux import rt_tables
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.ownership import is_owned, protocol_tag

FULL_MASK = MAX_U32
ACTIONS = ("lookup", "goto", "blackhole", "unreachable", "prohibit", "nop")
FAMILY_OPTION = {IPV4: "-4", IPV6: "-6"}
MAX_PREFIXLEN = {IPV4: 32, IPV6: 128}
# Shown by name; IANA fixed them and every /etc/protocols agrees. Other numbers show as numbers.
IP_PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp", 132: "sctp"}
# Placed before the additions when rendered: the deletions of a priority that holds two owned rules.
BEFORE_ADDITIONS = "before additions"

SHOW_COMMANDS = {"rules4": ["-4", "rule", "show"], "rules6": ["-6", "rule", "show"]}
# The name files ip reads (tables, protocols, DS fields, device groups), read in the same dump.
FILES = dict(rt_tables.RT_TABLES_FILES, **rt_tables.RT_PROTOS_FILES)
FILES.update(rt_tables.RT_DSFIELD_FILES, **rt_tables.GROUP_FILES)
DIRECTORIES = dict(rt_tables.RT_TABLES_DIRECTORIES, **rt_tables.RT_PROTOS_DIRECTORIES)


class Table(int):
    """A table id that knows the name ``ip`` shows for it; compares as the id.

    The name travels with the id, so a record whose table changes can never show the
    old table's name (issue 11, defect 3: ``merged`` rendered the old name).
    """

    def __new__(cls, number, name=None):
        table = super(Table, cls).__new__(cls, number)
        table.name = name
        return table

    def __repr__(self):
        return "Table(%d, %r)" % (int(self), self.name)

    def __reduce__(self):
        return (Table, (int(self), self.name))

    @property
    def shown(self):
        return self.name or str(int(self))


# ---------------------------------------------------------------------------
# Kinds of value that only rules have


def _selector_prefix(value, field):
    network = prefix(value, field)
    # ip shows a /0 selector as "all": no selector at all
    return None if network.endswith("/0") else network


def ip_protocol_number(value, field):
    """``tcp`` or ``6`` -> 6; other names through the host's /etc/protocols, as ip reads them."""
    text = str(value).strip()
    if text.isdigit() or text.lower().startswith("0x"):
        return _IP_PROTOCOL_NUMBER.normalise(text, field)
    try:
        return socket.getprotobyname(text)
    except (OSError, ValueError):       # ValueError: a NUL in the name
        raise InvalidInput(field, value, "is not an IP protocol number or a name in /etc/protocols")


def _ip_protocol_name(number):
    return IP_PROTOCOL_NAMES.get(number, str(number))


_IP_PROTOCOL_NUMBER = integer(0, 255)
PRIORITY = integer(0, MAX_U32)
SELECTOR_PREFIX = Kind("str", _selector_prefix)
MARK = hex_integer(0, MAX_U32)
IP_PROTOCOL = Kind("str", ip_protocol_number, show=_ip_protocol_name)
# Names resolve through the host's files (``facts``): the kind only checks the text.
NAME_OR_NUMBER = TEXT


def _flag(keyword):
    return lambda value: [keyword] if value else []


def _range_read(single, first, last):
    def read(entry):
        if single and single in entry:
            return "%s" % entry[single]
        return "%s-%s" % (entry[first], entry[last]) if first in entry else None
    return read


RULE_FIELDS = (
    Field("priority", PRIORITY, ("The rule's priority (C(ip rule ... priority)), 0..4294967295.",
                                 "Together with O(config[].family) it identifies the rule. Rules of other owners at "
                                 "the same priority are left alone."),
          keyword="priority", required=True),
    Field("family", choice(IPV4, IPV6), ("The address family of the rule.",
                                         "Defaults to the family of O(config[].from) and O(config[].to), and to "
                                         "V(ipv4) when neither is given. An entry that mixes IPv4 and IPv6 is "
                                         "refused.")),
    Field("invert", BOOLEAN, ("Invert the selectors (C(not)); the rule then matches the packets the selectors do "
                              "not match.",), keyword="not", default=False, device_default=False,
          read=lambda entry: "not" in entry, render=_flag("not")),
    Field("from", SELECTOR_PREFIX, ("Source prefix (C(from)). Host bits are dropped, so V(192.0.2.7/24) is "
                                    "V(192.0.2.0/24). V(all) or a C(/0) means any source.",),
          keyword="from", attribute="src", read=lambda entry: dump_prefix(entry.get("src"), entry.get("srclen"))),
    Field("to", SELECTOR_PREFIX, ("Destination prefix (C(to)), as for O(config[].from).",),
          keyword="to", attribute="dst", read=lambda entry: dump_prefix(entry.get("dst"), entry.get("dstlen"))),
    Field("tos", NAME_OR_NUMBER, ("The DS field byte to match (C(tos)), a number (V(0x10), V(16)) or a name from "
                                  "C(rt_dsfield) (V(EF)). The ECN bits (0x03) must be zero.",
                                  "IPv4 rules match only the legacy TOS bits (0x1e) on kernels before DSCP rules; "
                                  "the kernel refuses others with C(Invalid tos)."), keyword="tos"),
    Field("dscp", integer(0, 63), ("The DSCP to match, 0..63; the same byte as O(config[].tos) shifted left by two "
                                   "(V(46) is C(tos 0xb8)). Returned as O(config[].tos).",)),
    Field("fwmark", MARK, ("Firewall mark to match (C(fwmark)), decimal or 0x-hex, 0..0xffffffff.",),
          keyword="fwmark"),
    Field("fwmask", MARK, ("Mask for O(config[].fwmark). Defaults to V(0xffffffff). A mark with bits outside its "
                           "mask is refused.",), keyword="fwmask"),
    Field("iif", INTERFACE, ("Incoming interface name (C(iif)), 1-15 characters. The interface need not exist "
                             "yet.",), keyword="iif"),
    Field("oif", INTERFACE, ("Outgoing interface name (C(oif)), for sockets bound to a device.",), keyword="oif"),
    Field("ipproto", IP_PROTOCOL, ("IP protocol to match (C(ipproto)), a name from C(/etc/protocols) (V(tcp)) or a "
                                   "number 0..255.",), keyword="ipproto"),
    Field("sport", PORT_RANGE, ("Source port (C(sport)), 1..65534 or a range V(first-last) of those (the kernel "
                                "takes no port 0 or 65535); a reversed range is refused.",),
          keyword="sport", read=_range_read("sport", "sport_start", "sport_end")),
    Field("dport", PORT_RANGE, ("Destination port (C(dport)), as for O(config[].sport).",),
          keyword="dport", read=_range_read("dport", "dport_start", "dport_end")),
    Field("uidrange", UID_RANGE, ("Range of socket owner uids (C(uidrange)), V(first-last) or one uid.",),
          keyword="uidrange", read=_range_read(None, "uid_start", "uid_end")),
    Field("l3mdev", BOOLEAN, ("Look up the table of the VRF device the packet came from or goes to (C(l3mdev)); "
                              "no O(config[].table).",), keyword="l3mdev", default=False, device_default=False,
          read=lambda entry: "l3mdev" in entry, render=_flag("l3mdev")),
    Field("action", choice(*ACTIONS), ("What the rule does. Defaults to V(lookup) when O(config[].table) or "
                                       "O(config[].l3mdev) is given, and to V(goto) when O(config[].goto) is given.",
                                       "V(lookup) looks up O(config[].table); V(goto) jumps to the rule at "
                                       "O(config[].goto); V(blackhole), V(unreachable) and V(prohibit) drop the "
                                       "packet; V(nop) does nothing.")),
    Field("table", NAME_OR_NUMBER, ("The table to look up (C(lookup)), an id 1..4294967295 or a name from "
                                    "C(rt_tables) or C(rt_tables.d/*.conf) on the target (V(main), V(isp_a)). Table "
                                    "0 is refused.", "With O(state=rendered) a name stays a name in the commands."),
          keyword="lookup"),
    Field("goto", PRIORITY, ("The priority to jump to (C(goto)); it must be after this rule's. A target without a "
                             "rule is allowed (the kernel shows it C(unresolved)).",), keyword="goto"),
    Field("suppress_prefixlength", integer(0, 128), ("Ignore a lookup result whose prefix length is this or shorter "
                                                     "(C(suppress_prefixlength)); V(0) ignores default routes.",),
          keyword="suppress_prefixlength", read=lambda entry: entry.get("suppress_prefixlen")),
    Field("suppress_ifgroup", NAME_OR_NUMBER, ("Ignore a lookup result through a device of this group "
                                               "(C(suppress_ifgroup)), a number or a name from "
                                               "C(/etc/iproute2/group).",), keyword="suppress_ifgroup"),
)
FIELD = dict((field.option, field) for field in RULE_FIELDS)
# Fields whose value the kind alone makes canonical; the others need the host's names or the entry's family.
PLAIN_FIELDS = tuple(FIELD[name] for name in (
    "invert", "from", "to", "fwmark", "fwmask", "iif", "oif", "ipproto", "sport", "dport", "uidrange", "l3mdev"))
SELECTOR_NAMES = tuple(field.name for field in PLAIN_FIELDS) + ("tos",)
# ip rule show's order of selectors, which ip rule add takes too.
_SHOWN_SELECTORS = ("invert", "src", "dst", "tos", "fwmark", "iif", "oif", "l3mdev", "uidrange", "ipproto", "sport",
                    "dport")

CONFIG_SPEC = dict(
    type="list", elements="dict", options=options_spec(RULE_FIELDS),
    mutually_exclusive=[("tos", "dscp"), ("table", "goto")],
    required_by={"fwmask": "fwmark"},
    # lookup needs a table unless l3mdev gives it; a flag with a default cannot say so here
    required_if=[("action", "goto", ("goto",))],
)
# Each action field belongs to one action.
ACTION_OF_FIELD = {"table": "lookup", "goto": "goto"}


def _key(rule):
    if rule.duplicate:
        return (rule.family, rule.priority, rule.duplicate)
    return (rule.family, rule.priority)


# One attribute per stored field, then what the device adds: the tag, ownership, and the
# place among owned rules at the same priority (an interrupted replacement leaves two: 1, 2 ...).
Rule = make_dataclass(
    "Rule", [(field.name, object, None) for field in RULE_FIELDS if field.option != "dscp"]
    + [("protocol", object, None), ("owned", bool, True), ("duplicate", int, 0)],
    frozen=True, namespace={"key": property(_key), "__doc__": "One rule, normalised (see RULE_FIELDS)."})

Facts = namedtuple("Facts", "tables protocols dsfields groups")


# ---------------------------------------------------------------------------
# The engine interface


def parse_facts(dump, params):
    """The names ``ip`` resolves on this host: tables, protocols, DS fields, device groups."""
    return Facts(rt_tables.table_names(dump), rt_tables.protocol_names(dump),
                 rt_tables.dsfield_names(dump), rt_tables.group_names(dump))


def normalise(item, params, facts):
    """A ``config`` entry into a ``Rule``; ``InvalidInput`` names the field and the value."""
    priority = _required_priority(item.get("priority"))
    field_name = _field_namer(priority)
    values = given_values(PLAIN_FIELDS, item, field_name)
    family = _entry_family(item, field_name)
    values.update(
        family=family, priority=priority, tos=_tos(item, field_name, facts),
        invert=bool(values.get("invert")), l3mdev=bool(values.get("l3mdev")),
        protocol=protocol_id(params, facts), owned=True,
    )
    values.update(_user_mark(item, values, field_name))
    values.update(_user_action(item, field_name, family, priority, facts, values["l3mdev"],
                               deleting=params.get("state") == "deleted"))
    return Rule(**values)


def parse(dump, params, facts):
    """Both families of ``ip -json rule show`` into ``Rule`` records, in device order."""
    tag = protocol_id(params, facts)
    records = []
    for family, key in ((IPV4, "rules4"), (IPV6, "rules6")):
        records.extend(parse_rule(entry, family, facts, tag) for entry in dump.get(key) or [])
    return _numbered_duplicates(records)


def parse_rule(entry, family, facts, tag):
    """One object of ``ip -json rule show``."""
    values = read_values(PLAIN_FIELDS, entry)
    protocol = facts.protocols.id_of(entry.get("protocol", 0), "protocol")
    values.update(
        family=family, priority=int(entry.get("priority", 0)),
        tos=facts.dsfields.id_of(entry["tos"], "tos") if "tos" in entry else None,
        suppress_prefixlength=entry.get("suppress_prefixlen"),
        suppress_ifgroup=_optional(entry.get("suppress_ifgroup"), facts.groups.id_of, "suppress_ifgroup"),
        protocol=protocol, owned=is_owned(protocol, tag),
    )
    if values["fwmark"] is not None and values["fwmask"] is None:
        values["fwmask"] = FULL_MASK            # ip omits fwmask when it is 0xffffffff
    values.update(_dump_action(entry, facts))
    return Rule(**values)


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
    no-change run over 10,000 rules should not build 10,000 copies to compare.
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


def revise_plan(ops, wanted, current, params):
    """The generic plan, with every priority that holds two owned rules rebuilt from scratch.

    Such a pair is what a run leaves that stopped between a replacement's add and its
    delete; every later run failed with "File exists" (issue 11, defect 5). The rules of
    the priority are deleted first to last (each delete then hits the rule it names), and
    the rule that should stay is added again; nothing else in the plan changes.
    """
    groups = _owned_groups_with_leftovers(current)
    if not groups:
        return ops
    outcome = dict((op.record.key, op) for op in ops if op.record.key in groups)
    kept = [op for op in ops if op.record.key[:2] not in groups]
    rebuilt = []
    for base_key, members in groups.items():
        rebuilt += [Op(DELETE, member, position=BEFORE_ADDITIONS) for member in members]
        staying = _staying_rule(outcome.get(base_key), members[0])
        if staying is not None:
            rebuilt.append(Op(ADD, replace(staying, duplicate=0), position=BEFORE_ADDITIONS))
    return rebuilt + kept


def render(ops, params):
    """``ip -4|-6 rule add|del`` commands: the additions (IPv4, then IPv6), then the deletions.

    A ``replace`` adds the new rule beside the old one (same priority) and deletes the old
    one after every addition: make-before-break, and few batches for the runner. Where the
    kernel would take the new rule for the old one ("File exists"), the old one is deleted
    right before the new one is added.
    """
    additions, deletions = [], []
    for op in ops:
        if op.position == BEFORE_ADDITIONS:
            additions.append(command("del" if op.verb == DELETE else "add", op.record))
        elif op.verb == ADD:
            additions.append(command("add", op.record))
        elif op.verb == REPLACE and kernel_takes_for_existing(op.record, op.old):
            additions += [command("del", op.old), command("add", op.record)]
        elif op.verb == REPLACE:
            additions.append(command("add", op.record))
            deletions.append(command("del", op.old))
        elif op.verb == DELETE:
            deletions.append(command("del", op.record))
    return _by_family(additions) + _by_family(deletions)


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
    for field in PLAIN_FIELDS:
        value = getattr(rule, field.name)
        if value is not None and value is not False:
            config[field.option] = _config_value(field, value)
    if rule.fwmark is not None and rule.fwmask == FULL_MASK:
        del config["fwmask"]
    optional = (("tos", _hex(rule.tos)), ("action", rule.action),
                ("table", None if rule.table is None else _table_config(rule.table)), ("goto", rule.goto),
                ("suppress_prefixlength", rule.suppress_prefixlength),
                ("suppress_ifgroup", _text(rule.suppress_ifgroup)))
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


def command(verb, rule):
    """``ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup isp_a protocol 211``."""
    words = ["rule", verb, "priority", str(rule.priority)]
    return Command("ip", (FAMILY_OPTION[rule.family],), words + _selector_words(rule, for_show=False)
                   + _action_words(rule) + ["protocol", str(rule.protocol)])


def show_words(rule):
    """The words after ``<priority>:`` in ``ip rule show``."""
    words = _selector_words(rule, for_show=True) + _action_words(rule)
    return words + (["proto", _OFFLINE_PROTOCOLS.show(rule.protocol)] if rule.protocol else [])


def kernel_takes_for_existing(new, old):
    """Whether adding ``new`` beside ``old`` fails with "File exists" (``rule_exists``): every field
    compared exactly is equal, and ``new``'s prefixes and tos are unset or ``old``'s own."""
    # Only fields rule_exists certainly compares; any other difference counts as none (a break-before-make
    # replacement is always safe, a make-before-break one that the kernel refuses is not).
    exact = ("action", "table", "iif", "oif", "fwmark", "fwmask", "suppress_ifgroup", "suppress_prefixlength",
             "l3mdev", "uidrange", "ipproto", "sport", "dport")
    if any(getattr(new, name) != getattr(old, name) for name in exact):
        return False
    return all(getattr(new, name) in (None, getattr(old, name)) for name in ("src", "dst", "tos"))


def _selector_words(rule, for_show):
    words = []
    for name in _SHOWN_SELECTORS:
        value = getattr(rule, name)
        if name == "src" and value is None and for_show:
            words += ["from", "all"]
        elif name == "tos":
            words += _pair("tos", _hex(value))
        elif name == "fwmark":
            words += _mark_word(rule)
        elif value is not None:
            words += _FIELD_BY_NAME[name].words(value)
    return words


_FIELD_BY_NAME = dict((field.name, field) for field in RULE_FIELDS)


def _mark_word(rule):
    if rule.fwmark is None:
        return []
    mask = "" if rule.fwmask == FULL_MASK else "/%s" % _hex(rule.fwmask)
    return ["fwmark", "%s%s" % (_hex(rule.fwmark), mask)]


def _action_words(rule):
    if rule.action == "lookup":
        words = _pair("lookup", None if rule.table is None else _table_word(rule.table))
        words += _pair("suppress_prefixlength", _text(rule.suppress_prefixlength))
        return words + _pair("suppress_ifgroup", _text(rule.suppress_ifgroup))
    if rule.action == "goto":
        return ["goto", str(rule.goto)]
    return [rule.action]


def _table_word(table):
    return table.shown if isinstance(table, Table) else str(table)


def _by_family(commands):
    return ([command for command in commands if command.options == ("-4",)]
            + [command for command in commands if command.options == ("-6",)])


def _pair(keyword, value):
    return [] if value is None else [keyword, value]


# ---------------------------------------------------------------------------
# Normalising user input (each helper raises InvalidInput naming the field)

# Without a device (state=rendered) only the names iproute2 knows without files resolve.
OFFLINE_TABLES = rt_tables.parse_rt_tables([])
_OFFLINE_PROTOCOLS = rt_tables.parse_rt_protos([])
OFFLINE_GROUPS = rt_tables.TableNames([(0, "default")], kind="group")
OFFLINE_DSFIELDS = rt_tables.TableNames([], max_id=255, kind="dsfield")


def protocol_id(params, facts):
    """The ownership tag as a number (``linux.ownership``); a name only resolves with the device's rt_protos."""
    return protocol_tag(params.get("protocol"), facts.protocols if facts else None)


def _required_priority(value):
    if value is None:
        raise InvalidInput("priority", value, "is required")
    return PRIORITY.normalise(value, "priority")


def _field_namer(priority):
    return lambda name: "config[priority=%s].%s" % (priority, name)


def _entry_family(item, field_name):
    """``family`` as given, else the family of the prefixes (``::/0`` too), else IPv4; a mix is refused."""
    given = item.get("family")
    if given is not None:
        given = FIELD["family"].normalise(given, field_name("family"))
    found = [(option, _prefix_family(item.get(option), field_name(option))) for option in ("from", "to")]
    families = set(family for option, family in found if family)
    if len(families) > 1:
        raise InvalidInput(field_name("to"), item.get("to"),
                           "mixes IPv4 and IPv6 with from=%r in one rule" % item.get("from"))
    if given and families and families != set([given]):
        option = [option for option, family in found if family and family != given][0]
        raise InvalidInput(field_name(option), item.get(option), "is not an %s address (family=%s)" % (given, given))
    return given or (families.pop() if families else IPV4)


def _prefix_family(value, field):
    """The family of a selector's prefix, also of a /0 that the selector itself drops."""
    if value is None or str(value).strip().lower() in ("all", "default", "any"):
        return None
    return family_of(prefix(value, field))


def _tos(item, field_name, facts):
    """``tos`` (a byte, or an rt_dsfield name) or ``dscp`` (0..63, the top six bits)."""
    if item.get("dscp") is not None:
        return FIELD["dscp"].normalise(item["dscp"], field_name("dscp")) << 2
    if item.get("tos") is None:
        return None
    tos = (facts.dsfields if facts else OFFLINE_DSFIELDS).id_of(item["tos"], field_name("tos"))
    if tos & 3:
        raise InvalidInput(field_name("tos"), item["tos"], "sets the ECN bits (0x03); a rule matches the DS field only")
    return tos


def _user_mark(item, values, field_name):
    mark, mask = values.get("fwmark"), values.get("fwmask")
    if mark is None:
        if mask is not None:
            raise InvalidInput(field_name("fwmask"), item.get("fwmask"), "needs fwmark")
        return dict(fwmark=None, fwmask=None)
    mask = FULL_MASK if mask is None else mask
    if mark & ~mask:
        raise InvalidInput(field_name("fwmark"), item.get("fwmark"), "has bits outside fwmask %s" % _hex(mask))
    return dict(fwmark=mark, fwmask=mask)


def _user_action(item, field_name, family, priority, facts, l3mdev, deleting):
    action = item.get("action") or _implied_action(item, l3mdev, deleting)
    if action not in ACTIONS + ((None,) if deleting else ()):
        raise InvalidInput(field_name("action"), action, "must be one of %s" % ", ".join(ACTIONS))
    _refuse_given(item, field_name, action, [name for name, owner in ACTION_OF_FIELD.items() if owner != action])
    if action != "lookup":
        _refuse_given(item, field_name, action, ["suppress_prefixlength", "suppress_ifgroup"])
    return dict(
        action=action,
        table=_user_table(item, field_name, action, l3mdev, facts),
        goto=_goto(item, field_name, priority) if action == "goto" else None,
        suppress_prefixlength=_suppress_prefixlength(item, field_name, family),
        suppress_ifgroup=_suppress_ifgroup(item, field_name, facts))


def _implied_action(item, l3mdev, deleting):
    if item.get("table") is not None or l3mdev:
        return "lookup"
    if item.get("goto") is not None:
        return "goto"
    if deleting:        # state=deleted needs only what identifies the rule
        return None
    raise InvalidInput("config[priority=%s]" % item.get("priority"), None, "needs table, goto, l3mdev or action")


def _refuse_given(item, field_name, action, names):
    for name in sorted(names):
        if item.get(name) is not None:
            raise InvalidInput(field_name(name), item[name], "does not go with action=%s" % action)


def _user_table(item, field_name, action, l3mdev, facts):
    if action != "lookup":
        return None
    given = item.get("table")
    if l3mdev:
        if given is not None:
            raise InvalidInput(field_name("table"), given, "does not go with l3mdev (the device gives the table)")
        return None
    if given is None:
        raise InvalidInput(field_name("table"), None, "is required for action=lookup")
    table = _resolve(facts.tables if facts else OFFLINE_TABLES, given, field_name("table"), keep_unknown=not facts)
    if table == 0:
        # the kernel would invent a fresh table id for table 0 ("unspec")
        raise InvalidInput(field_name("table"), given, "is unspec (0); a rule needs a real table")
    return table


def _goto(item, field_name, priority):
    target = FIELD["goto"].normalise(item.get("goto"), field_name("goto"))
    if target <= priority:
        raise InvalidInput(field_name("goto"), item.get("goto"), "must be a priority after this rule's (%d); "
                           "the kernel refuses backward gotos" % priority)
    return target


def _suppress_prefixlength(item, field_name, family):
    value = item.get("suppress_prefixlength")
    if value is None:
        return None
    return integer(0, MAX_PREFIXLEN[family]).normalise(value, field_name("suppress_prefixlength"))


def _suppress_ifgroup(item, field_name, facts):
    value = item.get("suppress_ifgroup")
    if value is None:
        return None
    groups = facts.groups if facts else OFFLINE_GROUPS
    return _resolve(groups, value, field_name("suppress_ifgroup"), keep_unknown=not facts)


def _resolve(names, value, field, keep_unknown):
    """A name or number as an id (a ``Table`` for tables); with ``keep_unknown`` (rendering
    offline) an unknown name stays text, for the target to resolve when the command runs.
    Only a name iproute2 would take as one word gets that far (``core.commands``)."""
    text = TEXT.normalise(value, field).strip()
    if keep_unknown and not _is_number(text) and text not in names.id_by_name:
        return batch_word(text, field)
    number = names.id_of(value, field)
    return Table(number, names.name_of(number)) if names.kind == "table" else number


def _is_number(text):
    try:
        int(text, 0)
        return True
    except ValueError:
        return False


def _optional(value, convert, field):
    return None if value is None else convert(value, field)


def _first_given(*values):
    return next((value for value in values if value is not None), None)


def _hex(number):
    return None if number is None else "0x%x" % number


def _text(value):
    return None if value is None else str(value)


def _config_value(field, value):
    if field.kind is MARK:
        return _hex(value)
    if field.kind in (PORT_RANGE, UID_RANGE, IP_PROTOCOL):
        return field.kind.show(value)
    return value


def _table_config(table):
    return int(table) if isinstance(table, int) else table


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


def _owned_groups_with_leftovers(current):
    """``{(family, priority): [owned rules there, in device order]}`` for priorities that hold two or more."""
    groups = {}
    for record in current:
        if record.owned:
            groups.setdefault(record.key[:2], []).append(record)
    return dict((key, members) for key, members in groups.items() if len(members) > 1)


def _staying_rule(op, first):
    """What the plan wanted at a priority with leftovers: its target, or the first rule when it had no op."""
    if op is None:
        return first
    return None if op.verb == DELETE else op.record


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
    parse_running_config=parse_running_config, revise_plan=revise_plan, config_fields=RULE_FIELDS)
