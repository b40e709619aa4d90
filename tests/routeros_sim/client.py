"""A minimal raw API client for tests that need what librouteros never sends or accepts:
tags, non-minimal length encodings, ``!empty``, ``!fatal``, pipelining.
"""

import socket

from . import protocol


class RawClient:
    """Speaks sentences over one TCP (optionally TLS-wrapped) connection."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0, wrap=None):
        sock = socket.create_connection((host, port), timeout=timeout)
        self.sock = wrap(sock) if wrap else sock
        self._reader = protocol.SentenceReader(self.sock.recv)

    def send(self, *words):
        """Send one sentence."""
        self.sock.sendall(protocol.encode_sentence(words))

    def send_many(self, *sentences):
        """Send several sentences in one write, so they arrive together (pipelining)."""
        self.sock.sendall(b"".join(protocol.encode_sentence(words) for words in sentences))

    def send_bytes(self, data):
        """Send bytes as they are (hand-made encodings)."""
        self.sock.sendall(data)

    def read_sentence(self):
        return self._reader.read_sentence()

    def read_reply(self):
        """Sentences up to and including ``!done`` (or a ``!fatal``)."""
        sentences = []
        while True:
            sentence = self.read_sentence()
            sentences.append(sentence)
            if sentence[0] in ("!done", "!fatal"):
                return sentences

    def call(self, *words):
        self.send(*words)
        return self.read_reply()

    def login(self, username="admin", password=""):
        reply = self.call("/login", f"=name={username}", f"=password={password}")
        if reply[0][0] != "!done":
            raise AssertionError(f"login failed: {reply}")
        return reply

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def attributes(sentence):
    """The ``=k=v`` words of a reply sentence as a dict (values stay strings)."""
    return dict(word[1:].split("=", 1) for word in sentence[1:] if word.startswith("="))
