"""Hypothesis strategies for nft_connmark settings: valid ones, and garbage for each field."""

import string

from hypothesis import strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.linux.nft_connmark import default_mark, free_marks

# built from alphabets, not from_regex: several times faster, and the suite has a time budget
WAN_NAMES = st.builds(str.__add__, st.sampled_from(string.ascii_letters),
                      st.text(string.ascii_letters + string.digits + "_", max_size=11))
DEVICE_NAMES = st.builds(str.__add__, st.sampled_from(string.ascii_letters + string.digits + "_"),
                         st.text(string.ascii_letters + string.digits + "_.@+-", max_size=14))
PREFIXES = st.one_of(
    st.tuples(st.integers(0, 2 ** 32 - 1), st.integers(8, 32)).map(
        lambda pair: "%d.%d.%d.%d/%d" % (pair[0] >> 24, pair[0] >> 16 & 255, pair[0] >> 8 & 255, pair[0] & 255, pair[1])),
    st.tuples(st.integers(0, 2 ** 128 - 1), st.integers(16, 128)).map(
        lambda pair: "%x:%x:%x:%x:%x:%x:%x:%x/%d" % (tuple(pair[0] >> (112 - 16 * i) & 0xFFFF for i in range(8)) + (pair[1],))),
)


@st.composite
def masks(draw):
    """A mask with room for at least a few WANs: a run of 2..8 bits somewhere in 32 bits."""
    width = draw(st.integers(2, 8))
    shift = draw(st.integers(0, 32 - width))
    return ((1 << width) - 1) << shift


@st.composite
def settings(draw):
    """Valid module settings: distinct names and devices, marks explicit or derived from the name, never
    colliding (a WAN whose derived mark is taken gets a free one spelt out, as the refusal asks)."""
    mask = draw(masks())
    count = draw(st.integers(1, 3))       # a 2-bit mask holds 3 marks
    names = draw(st.lists(WAN_NAMES, min_size=count, max_size=count, unique=True))
    devices = draw(st.lists(DEVICE_NAMES, min_size=count + 2, max_size=count + 2, unique=True))
    wans, used = [], set()
    for index, name in enumerate(names):
        wan = {"name": name, "device": devices[index], "masquerade": draw(st.booleans())}
        mark = default_mark(name, mask)
        if mark in used or draw(st.booleans()):
            wan["mark"] = mark = hex(mark) if mark not in used else free_marks(used, mask, count=1)[0]
            mark = int(mark, 16)
        used.add(mark)
        wans.append(wan)
    return {
        "table": draw(st.sampled_from(["multiwan_pbr", "pbr2", "T_x"])),
        "mask": draw(st.sampled_from([hex(mask), str(mask)])),
        "wans": draw(st.permutations(wans)),
        "exclude": {"devices": devices[count:count + draw(st.integers(0, 2))],
                    "destinations": draw(st.lists(PREFIXES, max_size=4))},
    }


GARBAGE = st.text(max_size=20)
