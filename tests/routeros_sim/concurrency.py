"""Commands pending at once on one connection, run in an order other than arrival.

The API doc (section "Tags") says a client may "run several commands simultaneously, without
waiting for the previous one to complete", told apart by ``.tag``; its example shows the
replies of several tagged commands interleaved. It says nothing about the order in which
configuration changes sent that way take effect. With ``Behaviour.execution_order`` other than
``"arrival"``, the server gathers the sentences that arrive while earlier ones are still
unanswered and runs them in another order; a client that waits for a reply before sending the
next command is never affected, because nothing it has not sent yet can be in the batch.

Only commands with a tag are gathered: an untagged command (its replies could not be told
apart), a repeated tag, ``/login``, ``/quit`` and ``/cancel`` end a batch and run after it.
"""

import select
import socket
import ssl

# Commands that never run concurrently with others.
_SERIAL_COMMANDS = ("/login", "/quit", "/cancel")


def tag_of(words):
    """The ``.tag`` of a sentence, or ``None`` when it has none (or an empty one)."""
    return next((word[len(".tag="):] or None for word in words if word.startswith(".tag=")), None)


def may_run_concurrently(words, tags_pending):
    """Whether a command can run alongside the ones whose tags are ``tags_pending``."""
    tag = tag_of(words)
    return tag is not None and tag not in tags_pending and words[0] not in _SERIAL_COMMANDS


def more_pending(connection, window):
    """Whether another sentence starts arriving within ``window`` seconds.

    The acknowledgement goes out at once: a client with Nagle's algorithm on (librouteros, the
    raw test client) holds its next small sentence until the previous one is acknowledged, and
    a delayed acknowledgement (40 ms on Linux) would make every batch one sentence long.
    """
    if isinstance(connection, ssl.SSLSocket) and connection.pending():
        return True
    if hasattr(socket, "TCP_QUICKACK"):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    readable, _writable, _failed = select.select([connection], [], [], window)
    return bool(readable)


def execution_order(count, order, rng):
    """Indexes of ``count`` pending commands in the order they run."""
    indexes = list(range(count))
    if order == "reversed":
        return indexes[::-1]
    if order == "shuffled":
        rng.shuffle(indexes)
    return indexes


def interleave(replies, order, rng):
    """Merge the replies (each a list of sentences, in execution order) sentence by sentence,
    keeping each reply's own order: round robin when ``"reversed"``, at random when
    ``"shuffled"``. Returns ``[(reply index, sentence)]``."""
    remaining = [list(reply) for reply in replies]
    merged = []
    turn = 0
    while any(remaining):
        candidates = [index for index, sentences in enumerate(remaining) if sentences]
        if order == "shuffled":
            index = rng.choice(candidates)
        else:
            index = next((c for c in candidates if c >= turn), candidates[0])
            turn = index + 1
        merged.append((index, remaining[index].pop(0)))
    return merged
