"""Pipelined tagged commands under ``Behaviour.execution_order``: what a naive writer gets wrong.

A writer that sends a command naming something an earlier, still unanswered command creates
(a table, an id) is correct only if RouterOS runs pipelined commands in arrival order, which
no source confirms. One that waits for the prerequisite's reply is correct in every order.
"""

import librouteros
import pytest

from routeros_sim import Behaviour, Simulator
from routeros_sim.behaviours import every_value
from routeros_sim.client import RawClient, attributes

pytestmark = pytest.mark.routeros

ROUTE_VIA_NEW_TABLE = ("/ip/route/add", "=gateway=ether1", "=routing-table=wan2")


def started(order, seed=0):
    return Simulator(behaviour=Behaviour(execution_order=order, execution_seed=seed))


def replies_by_tag(client, count):
    """Read until ``count`` tags have their ``!done``: ``{tag: [sentence]}`` and the tag order
    of every sentence as it arrived."""
    replies, arrival = {}, []
    while sum(1 for sentences in replies.values() if sentences[-1][0] == "!done") < count:
        sentence = client.read_sentence()
        tag = next(word[len(".tag="):] for word in sentence if word.startswith(".tag="))
        replies.setdefault(tag, []).append(sentence)
        arrival.append(tag)
    return replies, arrival


def tagged(commands):
    return [tuple(words) + (f".tag={tag}",) for tag, words in enumerate(commands, start=1)]


def pipelined(client, *commands):
    """Send every command with tags 1, 2, … in one write, before reading any reply."""
    client.send_many(*tagged(commands))
    return replies_by_tag(client, len(commands))[0]


def trap_message(sentences):
    return next((attributes(s)["message"] for s in sentences if s[0] == "!trap"), None)


def test_a_route_pipelined_behind_the_add_of_its_table_fails_when_run_first():
    with started("reversed") as sim, RawClient(sim.port) as client:
        client.login()
        replies = pipelined(client, ("/routing/table/add", "=name=wan2", "=fib="), ROUTE_VIA_NEW_TABLE)
        assert trap_message(replies["2"]) == "input does not match any value of routing-table"
        assert replies["1"] == [["!done", ".tag=1", "=ret=*1"]]
        assert sim.state.menu("/ip/route").rows() == []
        assert [command.path for command in sim.commands] == ["/ip/route", "/routing/table"]


@every_value("execution_order")
def test_waiting_for_the_table_before_the_route_works_in_every_order(behaviour):
    with Simulator(behaviour=behaviour) as sim, RawClient(sim.port) as client:
        client.login()
        assert trap_message(pipelined(client, ("/routing/table/add", "=name=wan2", "=fib="))["1"]) is None
        assert trap_message(pipelined(client, ROUTE_VIA_NEW_TABLE)["1"]) is None
        (route,) = sim.state.menu("/ip/route").rows()
        assert route["routing-table"] == "wan2" and route["active"] == "true"


def test_a_move_naming_the_id_an_unanswered_add_will_return_is_refused_when_run_first():
    with started("reversed") as sim, RawClient(sim.port) as client:
        client.login()
        sim.state.menu("/routing/rule").add({"dst-address": "10.0.0.0/8", "comment": "foreign"})
        # A naive writer predicts the id ("*2") instead of reading the add's =ret=.
        replies = pipelined(client, ("/routing/rule/add", "=dst-address=192.0.2.0/24", "=comment=owned"),
                            ("/routing/rule/move", "=numbers=*2", "=destination=*1"))
        assert trap_message(replies["2"]) == "no such item (4)"
        assert [row.get("comment") for row in sim.state.menu("/routing/rule").rows()] == ["foreign", "owned"]


@every_value("execution_order")
def test_a_move_sent_after_the_add_answered_places_the_rule_in_every_order(behaviour):
    with Simulator(behaviour=behaviour) as sim, RawClient(sim.port) as client:
        client.login()
        foreign = sim.state.menu("/routing/rule").add({"dst-address": "10.0.0.0/8", "comment": "foreign"})
        added = pipelined(client, ("/routing/rule/add", "=dst-address=192.0.2.0/24", "=comment=owned"))
        new_id = attributes(added["1"][-1])["ret"]
        assert trap_message(pipelined(client, ("/routing/rule/move", f"=numbers={new_id}",
                                               f"=destination={foreign}"))["1"]) is None
        assert [row.get("comment") for row in sim.state.menu("/routing/rule").rows()] == ["owned", "foreign"]


def test_shuffled_runs_a_seeded_permutation_and_interleaves_replies():
    with started("shuffled", seed=7) as sim, RawClient(sim.port) as client:
        client.login()
        for number in range(3):
            sim.state.menu("/routing/table").add({"name": f"t{number}"})
        commands = [("/routing/rule/add", f"=comment={number}") for number in range(12)]
        commands += [("/routing/table/print",)] * 3
        client.send_many(*tagged(commands))
        replies, arrival = replies_by_tag(client, len(commands))
        comments = [int(row["comment"]) for row in sim.state.menu("/routing/rule").rows()]
        assert sorted(comments) == list(range(12)) and comments != list(range(12))
        assert all(replies[str(tag)][-1][0] == "!done" for tag in range(1, 16))
        prints = [tag for tag in arrival if int(tag) > 12]
        assert prints != sorted(prints)            # rows of the three prints are interleaved
    with started("shuffled", seed=7) as again, RawClient(again.port) as client:
        client.login()
        for number in range(3):
            again.state.menu("/routing/table").add({"name": f"t{number}"})
        client.send_many(*tagged(commands))
        replies_by_tag(client, len(commands))
        assert [int(row["comment"]) for row in again.state.menu("/routing/rule").rows()] == comments


@every_value("execution_order")
def test_untagged_commands_and_a_waiting_client_are_never_reordered(behaviour):
    with Simulator(behaviour=behaviour) as sim:
        api = librouteros.connect("127.0.0.1", "admin", "", port=sim.port, timeout=5)
        try:
            tables = api.path("routing", "table")
            tables.add(name="wan2", fib="")
            api.path("ip", "route").add(gateway="ether1", **{"routing-table": "wan2"})
            api.path("routing", "rule").add(table="wan2", comment="a")
            api.path("routing", "rule").add(table="wan2", comment="b")
        finally:
            api.close()
        assert [row["comment"] for row in sim.state.menu("/routing/rule").rows()] == ["a", "b"]


def test_an_untagged_command_ends_a_batch_and_runs_after_it():
    with started("reversed") as sim, RawClient(sim.port) as client:
        client.login()
        client.send_many(("/routing/rule/add", "=comment=first", ".tag=1"),
                         ("/routing/rule/add", "=comment=second", ".tag=2"),
                         ("/routing/rule/add", "=comment=third"))
        for _sentence_number in range(3):
            client.read_sentence()
        assert [row["comment"] for row in sim.state.menu("/routing/rule").rows()] == ["second", "first", "third"]


def test_a_drop_inside_a_batch_loses_the_commands_not_yet_run():
    with started("reversed") as sim, RawClient(sim.port) as client:
        client.login()
        sim.arm_drop(2, mode="after-reply")          # the second sentence from now
        client.send_many(*tagged([("/routing/rule/add", f"=comment={name}")
                                  for name in ("first", "second", "third")]))
        assert client.read_sentence() == ["!done", ".tag=2", "=ret=*1"]
        with pytest.raises(Exception):
            client.read_sentence()
        assert [row["comment"] for row in sim.state.menu("/routing/rule").rows()] == ["second"]
