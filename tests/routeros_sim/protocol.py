"""The RouterOS API framing: length-prefixed words grouped into sentences.

A word is its length (1 to 5 bytes, most significant byte first) followed by that many bytes;
a sentence is words ended by a zero-length word. Words are bytes on the wire; the simulator
decodes them as UTF-8 with ``surrogateescape`` so that any byte string survives a round trip.
"""

WORD_CODEC = ("utf-8", "surrogateescape")

# Upper bound (exclusive) of each encoding and the marker bits that identify it.
_ONE_BYTE_LIMIT = 0x80
_TWO_BYTE_LIMIT = 0x4000
_THREE_BYTE_LIMIT = 0x200000
_FOUR_BYTE_LIMIT = 0x10000000
_FIVE_BYTE_MARKER = 0xF0
# First bytes from 0xF8 up are reserved control bytes (API doc, "API words").
_FIRST_CONTROL_BYTE = 0xF8


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid API word or sentence."""


class ConnectionClosedError(ProtocolError):
    """The peer closed the connection, possibly in the middle of a word."""


def encode_length(length, *, allow_five_bytes=False):
    """Encode a word length in the shortest form.

    The 5-byte form (``0xF0`` + 4 bytes) is only produced when asked for: librouteros and
    RouterOS's own documentation ("only four-byte length is supported") reject it, so the
    server never sends it.
    """
    if length < 0:
        raise ValueError(f"negative word length {length}")
    if length < _ONE_BYTE_LIMIT:
        return length.to_bytes(1, "big")
    if length < _TWO_BYTE_LIMIT:
        return (length | 0x8000).to_bytes(2, "big")
    if length < _THREE_BYTE_LIMIT:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < _FOUR_BYTE_LIMIT:
        return (length | 0xE0000000).to_bytes(4, "big")
    if allow_five_bytes and length <= 0xFFFFFFFF:
        return bytes([_FIVE_BYTE_MARKER]) + length.to_bytes(4, "big")
    raise ProtocolError(f"word length {length} needs the 5-byte form")


def encode_length_as(length, size):
    """Encode a length with exactly ``size`` bytes (1..5), even when a shorter form exists.

    Used by tests to check that a reader accepts every form, non-minimal ones included.
    """
    markers = {1: 0, 2: 0x8000, 3: 0xC00000, 4: 0xE0000000}
    if size == 5:
        return bytes([_FIVE_BYTE_MARKER]) + length.to_bytes(4, "big")
    if length >= (_ONE_BYTE_LIMIT, _TWO_BYTE_LIMIT, _THREE_BYTE_LIMIT, _FOUR_BYTE_LIMIT)[size - 1]:
        raise ValueError(f"length {length} does not fit in {size} bytes")
    return (length | markers[size]).to_bytes(size, "big")


def length_prefix_size(first_byte):
    """How many bytes the length prefix occupies, judged by its first byte."""
    if first_byte < 0x80:
        return 1
    if first_byte < 0xC0:
        return 2
    if first_byte < 0xE0:
        return 3
    if first_byte < 0xF0:
        return 4
    if first_byte < _FIRST_CONTROL_BYTE:
        return 5
    raise ProtocolError(f"reserved control byte 0x{first_byte:02X} in a length prefix")


def decode_length(prefix):
    """Decode a complete length prefix (1 to 5 bytes) into the word length."""
    size = length_prefix_size(prefix[0])
    if len(prefix) != size:
        raise ProtocolError(f"length prefix of {len(prefix)} bytes, expected {size}")
    if size == 5:
        return int.from_bytes(prefix[1:], "big")
    masks = {1: 0x7F, 2: 0x3FFF, 3: 0x1FFFFF, 4: 0xFFFFFFF}
    return int.from_bytes(prefix, "big") & masks[size]


def encode_word(word):
    """Encode one word (``str`` or ``bytes``) with its length prefix (at most 4 bytes)."""
    data = word if isinstance(word, bytes) else word.encode(*WORD_CODEC)
    return encode_length(len(data)) + data


def encode_sentence(words):
    """Encode a sentence: every word, then the zero-length word."""
    return b"".join(encode_word(word) for word in words) + b"\x00"


class SentenceReader:
    """Reads sentences from a byte source such as ``socket.recv``.

    ``max_word_bytes`` bounds the memory one word may take; a longer word is a protocol error,
    not an allocation.
    """

    def __init__(self, recv, max_word_bytes=64 * 1024 * 1024):
        self._recv = recv
        self._max_word_bytes = max_word_bytes

    def read_sentence(self):
        """Return the next non-empty sentence as a list of ``str`` words.

        Empty sentences (a lone zero byte) are skipped, as RouterOS ignores them.
        """
        while True:
            words = list(iter(self.read_word, None))
            if words:
                return words

    def read_word(self):
        """Return the next word, or ``None`` for the zero-length word that ends a sentence."""
        first = self._read_exactly(1)
        size = length_prefix_size(first[0])
        length = decode_length(first + self._read_exactly(size - 1))
        if length == 0:
            return None
        if length > self._max_word_bytes:
            raise ProtocolError(f"word of {length} bytes exceeds the limit of {self._max_word_bytes}")
        return self._read_exactly(length).decode(*WORD_CODEC)

    def _read_exactly(self, count):
        data = bytearray()
        while len(data) < count:
            chunk = self._recv(min(count - len(data), 1 << 20))
            if not chunk:
                raise ConnectionClosedError("connection closed by peer")
            data += chunk
        return bytes(data)
