"""rt_tables parsing: the names ``ip`` resolves, from the files ``ip`` reads."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.linux.rt_tables import (
    parse_rt_protos, parse_rt_tables, table_names)

# Debian's /etc/iproute2/rt_tables, as shipped by iproute2 6.1
DEBIAN_RT_TABLES = """#
# reserved values
#
255\tlocal
254\tmain
253\tdefault
0\tunspec
#
# local
#
#1\tinr.ruhep
"""


def test_builtin_names_need_no_file():
    names = parse_rt_tables([None])
    assert [names.id_of(name, "table") for name in ("local", "main", "default", "unspec")] == [255, 254, 253, 0]
    assert names.name_of(254) == "main"


def test_drop_in_names_resolve_and_comments_do_not():
    names = parse_rt_tables([DEBIAN_RT_TABLES, "100 isp_a # first ISP\n0x65\tisp_b\n"])
    assert names.id_of("isp_a", "table") == 100
    assert names.id_of("isp_b", "table") == 101
    assert names.name_of(101) == "isp_b"
    with pytest.raises(InvalidInput):
        names.id_of("inr.ruhep", "table")


def test_a_later_file_wins():
    names = parse_rt_tables(["100 old\n", "100 new\n"])
    assert names.name_of(100) == "new"
    assert names.show(100) == "new" and names.show(7) == "7"


def test_numbers_pass_through_in_decimal_and_hex():
    names = parse_rt_tables([])
    assert names.id_of("4294967295", "table") == 4294967295
    assert names.id_of(42, "table") == 42
    assert names.id_of("0x10", "table") == 16


def test_unknown_name_and_out_of_range_name_field_and_value():
    names = parse_rt_tables([DEBIAN_RT_TABLES])
    with pytest.raises(InvalidInput) as unknown:
        names.id_of("isp_z", "config[0].table")
    assert (unknown.value.field, unknown.value.value) == ("config[0].table", "isp_z")
    assert "rt_tables.d" in str(unknown.value)
    with pytest.raises(InvalidInput) as too_big:
        names.id_of("4294967296", "table")
    assert too_big.value.value == "4294967296"


def test_table_names_reads_a_runner_dump_in_order():
    dump = {"rt_tables": DEBIAN_RT_TABLES, "rt_tables_usr": None,
            "rt_tables_d": {"b.conf": "200 second\n", "a.conf": "200 first\n100 isp_a\n"},
            "rt_tables_d_usr": {}}
    names = table_names(dump)
    assert names.id_of("isp_a", "t") == 100
    assert names.name_of(200) == "second"


def test_protocol_names_are_bytes():
    protos = parse_rt_protos(["211 multiwan\n"])
    assert protos.id_of("boot", "protocol") == 3
    assert protos.id_of("multiwan", "protocol") == 211
    with pytest.raises(InvalidInput):
        protos.id_of("256", "protocol")


NAMES = st.builds(lambda first, rest: first + rest, st.sampled_from("abcz_"), st.text("az09_.-", max_size=14))


@given(st.lists(st.tuples(st.integers(0, 4294967295), NAMES), max_size=8))
def test_written_lines_read_back(pairs):
    text = "".join("%d %s\n" % pair for pair in pairs)
    names = parse_rt_tables([text])
    last_id_of_name = dict((name, number) for number, name in pairs)
    last_name_of_id = dict(pairs)
    for number, name in pairs:
        assert names.id_of(name, "table") == last_id_of_name[name]
        assert names.name_of(number) == last_name_of_id[number]


@given(st.text(max_size=40))
def test_garbage_never_crashes_the_parser(text):
    parse_rt_tables([text])
