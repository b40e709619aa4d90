"""Word length encodings and sentence framing of the simulator."""

import io

import pytest

from routeros_sim import protocol

# (length, encoded prefix) at both ends of every form (API doc, "API words").
BOUNDARIES = [
    (0, b"\x00"), (0x7F, b"\x7f"),
    (0x80, b"\x80\x80"), (0x3FFF, b"\xbf\xff"),
    (0x4000, b"\xc0\x40\x00"), (0x1FFFFF, b"\xdf\xff\xff"),
    (0x200000, b"\xe0\x20\x00\x00"), (0xFFFFFFF, b"\xef\xff\xff\xff"),
]


@pytest.mark.parametrize("length, encoded", BOUNDARIES)
def test_lengths_encode_in_the_shortest_form_and_decode_back(length, encoded):
    assert protocol.encode_length(length) == encoded
    assert protocol.decode_length(encoded) == length


def test_five_byte_form_is_read_but_never_written_unless_asked():
    encoded = protocol.encode_length(0x10000000, allow_five_bytes=True)
    assert encoded == b"\xf0\x10\x00\x00\x00"
    assert protocol.decode_length(encoded) == 0x10000000
    with pytest.raises(protocol.ProtocolError):
        protocol.encode_length(0x10000000)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_reader_accepts_every_form_even_when_not_minimal(size):
    data = protocol.encode_length_as(5, size) + b"hello" + b"\x00"
    assert protocol.SentenceReader(io.BytesIO(data).read).read_sentence() == ["hello"]


@pytest.mark.parametrize("first_byte", [0xF8, 0xFF])
def test_reserved_control_bytes_are_a_protocol_error(first_byte):
    with pytest.raises(protocol.ProtocolError):
        protocol.SentenceReader(io.BytesIO(bytes([first_byte, 0, 0, 0, 0])).read).read_word()


def test_empty_sentences_are_skipped_and_words_survive_any_bytes():
    words = ["/ip/route/add", "=comment=caf\udce9=é=x", "=a=" + "b" * 0x4000]
    data = b"\x00\x00" + protocol.encode_sentence(words)
    assert protocol.SentenceReader(io.BytesIO(data).read).read_sentence() == words


def test_a_connection_closed_mid_word_is_reported():
    reader = protocol.SentenceReader(io.BytesIO(b"\x05he").read)
    with pytest.raises(protocol.ConnectionClosedError):
        reader.read_sentence()


def test_oversized_words_are_refused_before_reading_them():
    reader = protocol.SentenceReader(io.BytesIO(b"\xe0\x20\x00\x00").read, max_word_bytes=1024)
    with pytest.raises(protocol.ProtocolError):
        reader.read_word()
