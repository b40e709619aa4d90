"""Hypothesis strategies for ``ip rule`` entries: valid ``config`` entries, records, garbage.

Entries are built from their parts (address integers, masks, sorted port pairs), so
every one is valid by construction and the properties test the engine, not the filter.
"""

from dataclasses import replace

from hypothesis import strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.linux import pbr_rule as engine

U32 = 4294967295
PARAMS = {"protocol": "211", "state": "merged"}
# The table names the recorded fixtures' rt_tables.d defines (rules_rt_tables.conf).
TABLE_NAMES = ("isp_a", "isp_b", "main", "default", "local")
FOREIGN_PROTOCOL_IDS = st.sampled_from((3, 4, 16, 0))     # boot (tailscale), static (wg-quick), dhcp, none


def prefixes(family):
    bits = 32 if family == "ipv4" else 128
    return st.builds(lambda number, length: "%s/%d" % (_address(number, family), length),
                     st.integers(0, 2 ** bits - 1), st.integers(1, bits))


def _address(number, family):
    if family == "ipv4":
        return ".".join(str((number >> shift) & 255) for shift in (24, 16, 8, 0))
    groups = ["%x" % ((number >> shift) & 0xFFFF) for shift in range(112, -16, -16)]
    return ":".join(groups)


def ranges(maximum, minimum=0):
    return st.tuples(st.integers(minimum, maximum), st.integers(minimum, maximum)).map(sorted).map(
        lambda pair: str(pair[0]) if pair[0] == pair[1] else "%d-%d" % tuple(pair))


MARKS = st.tuples(st.integers(0, U32), st.integers(0, U32)).map(
    lambda drawn: {"fwmark": hex(drawn[0] & drawn[1]), "fwmask": hex(drawn[1])})


interface_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-_", min_size=1, max_size=15).filter(
    lambda name: name not in (".", ".."))


def _optional_fields(family):
    return {
        "from": prefixes(family), "to": prefixes(family),
        "tos": st.integers(0, 63).map(lambda dscp: hex(dscp << 2)),
        "iif": interface_names, "oif": interface_names,
        "ipproto": st.sampled_from(("tcp", "udp", "6", "47", "gre", "132")),
        "sport": ranges(65534, 1), "dport": ranges(65534, 1), "uidrange": ranges(U32),
        "invert": st.just(True),
    }


def _actions(family):
    lookup = st.fixed_dictionaries({"table": st.one_of(st.sampled_from(TABLE_NAMES), st.integers(1, U32))}, optional={
        "suppress_prefixlength": st.integers(0, 32 if family == "ipv4" else 128),
        "suppress_ifgroup": st.integers(0, 1000).map(str),
    })
    return st.one_of(
        lookup,
        st.just({"l3mdev": True}),
        st.integers(1, 2 ** 20).map(lambda distance: {"goto": distance}),      # added to the priority
        st.sampled_from(("blackhole", "unreachable", "prohibit", "nop")).map(lambda action: {"action": action}),
    )


# Built once: strategies made inside a composite are rebuilt (slowly) on every draw.
OPTIONAL_FIELDS = dict((family, _optional_fields(family)) for family in ("ipv4", "ipv6"))
ACTIONS = dict((family, _actions(family)) for family in ("ipv4", "ipv6"))
PRIORITIES = st.integers(0, U32 - 1)
FAMILIES = st.sampled_from(("ipv4", "ipv6"))


@st.composite
def rule_configs(draw, priority=None, family=None):
    """A valid ``config`` entry (a dict as a user writes it)."""
    family = family or draw(FAMILIES)
    priority = draw(PRIORITIES) if priority is None else priority
    entry = {"priority": priority, "family": family}
    for name, values in OPTIONAL_FIELDS[family].items():
        if draw(st.booleans()):
            entry[name] = draw(values)
    if draw(st.booleans()):
        entry.update(draw(MARKS))
    action = draw(ACTIONS[family])
    if "goto" in action:
        action = {"goto": min(priority + action["goto"], U32)}
    entry.update(action)
    return entry


@st.composite
def rule_records(draw, facts, owned=None):
    """Normalised records; foreign ones carry another protocol."""
    record = engine.normalise(draw(rule_configs()), PARAMS, facts)
    if draw(st.booleans()) if owned is None else owned:
        return record
    return replace(record, protocol=int(draw(FOREIGN_PROTOCOL_IDS)), owned=False)


def rule_lists(facts, owned=None, max_size=6):
    """Records whose owned keys are unique, as on a device this module manages."""
    return st.lists(rule_records(facts, owned), max_size=max_size).map(_unique_owned_keys)


def _unique_owned_keys(records):
    owned_keys, kept = set(), []
    for record in records:
        if record.owned:
            if record.key in owned_keys:
                continue
            owned_keys.add(record.key)
        kept.append(record)
    return kept


# Text a user might paste into any field: hypothesis finds the values that are accidentally valid.
garbage_text = st.text(min_size=1, max_size=30)
# Text no field accepts: a space and a '/' fit no name, number, range or prefix.
invalid_text = st.builds(lambda head, tail: "q%s /%s" % (head, tail), st.text(max_size=5), st.text(max_size=5))
