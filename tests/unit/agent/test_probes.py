"""Echo packets as pure functions: built, checksummed and parsed without a socket."""

import socket
import struct

from ansible_collections.multiwan.pbr.plugins.module_utils.agent import probes


def test_an_ipv4_echo_request_carries_a_valid_checksum():
    packet = probes.echo_request("ipv4", 0x1234, 7)
    kind, code, _checksum, identifier, sequence = struct.unpack_from("!BBHHH", packet)
    assert (kind, code, identifier, sequence) == (8, 0, 0x1234, 7) and packet.endswith(probes.PAYLOAD)
    assert probes.checksum(packet) == 0          # a correct checksum sums to zero


def test_an_ipv6_echo_request_leaves_the_checksum_to_the_kernel():
    packet = probes.echo_request("ipv6", 1, 2)
    assert struct.unpack_from("!BBHHH", packet) == (128, 0, 0, 1, 2)


def test_checksum_of_odd_length_data_pads_with_zero():
    assert probes.checksum(b"\x01") == probes.checksum(b"\x01\x00") == 0xFEFF


def _ipv4_reply(identifier, sequence, header_words=5):
    icmp = struct.pack("!BBHHH", 0, 0, 0, identifier, sequence) + probes.PAYLOAD
    header = bytes([0x40 | header_words]) + b"\0" * (header_words * 4 - 1)
    return header + icmp


def test_parse_an_ipv4_reply_after_its_ip_header():
    assert probes.parse_echo_reply("ipv4", _ipv4_reply(0x1234, 9)) == (0x1234, 9)
    assert probes.parse_echo_reply("ipv4", _ipv4_reply(5, 6, header_words=6)) == (5, 6)     # with IP options


def test_parse_refuses_what_is_not_an_echo_reply():
    request = b"\x45" + b"\0" * 19 + probes.echo_request("ipv4", 1, 1)
    assert probes.parse_echo_reply("ipv4", request) is None
    assert probes.parse_echo_reply("ipv4", b"\x45" * 10) is None
    assert probes.parse_echo_reply("ipv6", probes.echo_request("ipv6", 1, 1)) is None
    assert probes.parse_echo_reply("ipv6", struct.pack("!BBHHH", 129, 0, 0, 3, 4)) == (3, 4)
    assert probes.parse_echo_reply("ipv6", b"\x81\x00") is None


def test_socket_option_numbers_are_linux_ones():
    assert probes.SO_MARK == getattr(socket, "SO_MARK", 36) == 36
    assert probes.SO_BINDTODEVICE == 25
