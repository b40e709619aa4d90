"""Wire-level conformance: encodings, replies, tags, login flows and faults, over raw sockets."""

import hashlib
import time

import pytest

from routeros_sim import Behaviour, Simulator, protocol
from routeros_sim.client import RawClient, attributes

pytestmark = pytest.mark.routeros


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_every_length_encoding_is_accepted_in_requests(sim, raw, size):
    word = b"=name=wan2"
    sentence = protocol.encode_word("/routing/table/add")
    sentence += protocol.encode_length_as(len(word), size) + word + b"\x00"
    raw.send_bytes(sentence)
    assert raw.read_reply() == [["!done", "=ret=*1"]]
    assert sim.state.menu("/routing/table").find_by_name("wan2") is not None


@pytest.mark.parametrize("length", [0x7F - 12, 0x3FFF - 12, 0x1FFFFF - 12, 0x200000])
def test_long_words_round_trip_with_the_form_their_length_needs(api, length):
    comment = "c" * length
    rules = api.path("routing", "rule")
    rule_id = rules.add(comment=comment)
    (row,) = [row for row in rules if row[".id"] == rule_id]
    assert row["comment"] == comment


def test_replies_never_use_the_five_byte_form_or_reserved_bytes(raw):
    raw.call("/routing/rule/add", "=comment=" + "x" * 0x200000)
    raw.send("/routing/rule/print")
    data = b""
    while not data.endswith(b"\x05!done\x00"):
        data += raw.sock.recv(1 << 20)
    first_bytes = []
    position = 0
    while position < len(data):
        first_bytes.append(data[position])
        size = protocol.length_prefix_size(data[position])
        position += size + protocol.decode_length(data[position:position + size])
    assert max(first_bytes) == 0xE0          # the 2 MiB comment needs the 4-byte form
    assert all(byte < 0xF0 for byte in first_bytes)


def test_empty_sentences_are_ignored(raw):
    raw.send_bytes(b"\x00\x00")
    assert raw.call("/system/identity/print") == [["!re", "=name=MikroTik"], ["!done"]]


def test_tags_are_echoed_on_every_reply_and_pipelined_commands_interleave(raw):
    raw.send("/routing/table/add", "=name=a", ".tag=1")
    raw.send("/routing/table/print", ".tag=2", "?name=a")
    raw.send("/routing/table/add", "=name=a", ".tag=3")
    replies = [raw.read_sentence() for _reply_number in range(5)]
    assert replies[0] == ["!done", ".tag=1", "=ret=*1"]
    assert replies[1][:2] == ["!re", ".tag=2"] and replies[2] == ["!done", ".tag=2"]
    assert replies[3][:2] == ["!trap", ".tag=3"] and replies[4] == ["!done", ".tag=3"]
    assert attributes(replies[3]) == {"category": "4",
                                      "message": "failure: already have routing table with such name"}


def test_untagged_commands_get_untagged_replies(raw):
    assert all(not word.startswith(".tag") for sentence in raw.call("/routing/table/print")
               for word in sentence)


def test_traps_carry_category_and_message_then_done(raw):
    reply = raw.call("/ip/route/add", "=gateway=192.0.2.1", "=routing-table=nosuch")
    assert reply == [["!trap", "=category=1", "=message=input does not match any value of routing-table"],
                     ["!done"]]
    assert raw.call("/routing/rule/remove", "=.id=*9") == [["!trap", "=message=no such item (4)"], ["!done"]]


def test_unknown_menus_and_commands_are_trapped(raw):
    assert raw.call("/no/such/print")[0] == ["!trap", "=category=0", "=message=no such command prefix"]
    assert raw.call("/ip/route/move", "=numbers=*1")[0] == ["!trap", "=category=0",
                                                            "=message=no such command"]


def test_empty_print_sends_empty_from_7_18_and_not_before():
    for version, expected in (("7.22.2", [["!empty"], ["!done"]]), ("7.17", [["!done"]])):
        with Simulator(version=version) as sim, RawClient(sim.port) as client:
            client.login()
            assert client.call("/routing/rule/print") == expected


def test_count_only_returns_the_number_in_done(raw):
    raw.call("/routing/table/add", "=name=a")
    assert raw.call("/routing/table/print", "=count-only=") == [["!done", "=ret=2"]]
    assert raw.call("/routing/table/print", "=count-only=", "?dynamic=no") == [["!done", "=ret=1"]]


def test_command_before_login_is_fatal(sim):
    with RawClient(sim.port) as client:
        assert client.call("/ip/route/print") == [["!fatal", "not logged in"]]
        with pytest.raises(protocol.ConnectionClosedError):
            client.read_sentence()


def test_command_before_login_can_be_a_trap_instead():
    with Simulator(behaviour=Behaviour(fatal_before_login=False)) as sim, RawClient(sim.port) as client:
        assert client.call("/ip/route/print") == [["!trap", "=message=not logged in"], ["!done"]]


def test_quit_ends_the_session_with_fatal(raw):
    assert raw.call("/quit") == [["!fatal", "session terminated on request"]]


def test_wrong_password_is_trapped_and_the_session_stays_usable(sim):
    with RawClient(sim.port) as client:
        assert client.call("/login", "=name=admin", "=password=bad") == [
            ["!trap", "=message=invalid user name or password (6)"], ["!done"]]
        client.login()
        assert client.call("/system/identity/print")[0] == ["!re", "=name=MikroTik"]


def test_challenge_response_login():
    with Simulator(password="s3cret") as sim, RawClient(sim.port) as client:
        (challenge_reply,) = client.call("/login")
        challenge = bytes.fromhex(attributes(challenge_reply)["ret"])
        assert len(challenge) == 16
        digest = hashlib.md5(b"\x00" + b"s3cret" + challenge).hexdigest()
        assert client.call("/login", "=name=admin", f"=response=00{digest}") == [["!done"]]
        assert client.call("/system/identity/print")[0][0] == "!re"


def test_a_legacy_router_answers_a_plain_login_with_a_challenge():
    with Simulator(behaviour=Behaviour(login_methods=("challenge",))) as sim, \
            RawClient(sim.port) as client:
        (reply,) = client.call("/login", "=name=admin", "=password=")
        assert reply[0] == "!done" and len(attributes(reply)["ret"]) == 32


def test_cancel_is_acknowledged(raw):
    assert raw.call("/cancel", ".tag=9") == [["!done", ".tag=9"]]


def test_drop_after_reply_closes_after_the_nth_sentence(sim):
    sim.arm_drop(3)
    with RawClient(sim.port) as client:
        client.login()                                        # sentence 1
        client.call("/routing/table/add", "=name=a")          # 2
        assert client.call("/routing/table/add", "=name=b") == [["!done", "=ret=*2"]]   # 3
        with pytest.raises(protocol.ConnectionClosedError):
            client.read_sentence()
    with RawClient(sim.port) as client:                       # the drop happens once
        client.login()
        assert client.call("/routing/table/print", "=count-only=") == [["!done", "=ret=3"]]


def test_drop_before_reply_applies_the_command_but_loses_its_reply(sim):
    sim.arm_drop(2, mode="before-reply")
    with RawClient(sim.port) as client:
        client.login()
        client.send("/routing/table/add", "=name=a")
        with pytest.raises(protocol.ConnectionClosedError):
            client.read_sentence()
    assert sim.state.menu("/routing/table").find_by_name("a") is not None


def test_drop_with_fatal_sends_a_fatal_reason():
    with Simulator(drop_after=2, drop_mode="fatal") as sim, RawClient(sim.port) as client:
        client.login()
        assert client.call("/system/identity/print") == [["!re", "=name=MikroTik"], ["!done"]]
        assert client.read_sentence() == ["!fatal", "connection dropped by the simulator"]


def test_latency_is_per_command_and_pipelined_commands_overlap():
    with Simulator(latency=0.1) as sim, RawClient(sim.port) as client:
        client.login()
        started = time.monotonic()
        for index in range(10):
            client.send("/routing/table/add", f"=name=t{index}", f".tag={index}")
        for _reply_number in range(10):
            client.read_sentence()
        pipelined = time.monotonic() - started
        started = time.monotonic()
        client.call("/system/identity/print")
        client.call("/system/identity/print")
        sequential = time.monotonic() - started
    assert 0.1 <= pipelined < 0.5
    assert sequential >= 0.2


def test_a_reserved_control_byte_closes_the_connection(raw):
    raw.send_bytes(b"\xf8")
    with pytest.raises(protocol.ConnectionClosedError):
        raw.read_sentence()


def test_counters_see_prints_and_writes_per_path(sim, raw):
    sim.reset_counters()
    raw.call("/routing/rule/print")
    raw.call("/routing/rule/print", "?disabled=no")
    raw.call("/routing/table/add", "=name=a")
    raw.call("/routing/table/set", "=.id=*1", "=comment=x")
    assert sim.print_counts == {"/routing/rule": 2}
    assert sim.write_count == 2
    assert sim.sentences_received == 4
    assert sim.commands[1].queries == ("?disabled=no",)
