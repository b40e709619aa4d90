"""``netlink.RtNetlink`` live in a namespace: the first dump, then events as they happen, and overruns.

``inside.py netlink`` prints the dump once it is complete and then each record as JSON; the test makes
the changes with ``ip`` (and on the peer's end of the veth) and reads what the socket saw.
"""

import pytest

from support.netns import Netns, sh

from .inside import Inside

pytestmark = pytest.mark.netns


@pytest.fixture
def pair():
    with Netns("mwnr") as router, Netns("mwnp") as peer:
        sh("ip", "link", "add", "wan1", "netns", router.name, "type", "veth", "peer", "name", "cust1", "netns", peer.name)
        router.ip("link", "set", "wan1", "up")
        peer.ip("link", "set", "cust1", "up")
        router.ip("addr", "add", "100.64.1.2/24", "dev", "wan1")
        peer.ip("addr", "add", "100.64.1.1/24", "dev", "cust1")
        yield router, peer


def until(inside, kind, timeout=10, **fields):
    """Read records until one of ``kind`` with ``fields``; return it."""
    lines = inside.read_until(lambda line: line.get("kind") == kind
                              and all(line.get(name) == value for name, value in fields.items()), timeout)
    return lines[-1]


def test_dump_then_live_events(pair):
    router, peer = pair
    with Inside(router, "netlink", {"seconds": 30}) as inside:
        dumped = inside.read(10)["ready"]
        kinds = [line["kind"] for line in dumped]
        assert kinds.count("DumpDone") == 4 and {"Link", "Address", "Route"} <= set(kinds)
        assert [line for line in dumped if line["kind"] == "Address" and line["address"] == "100.64.1.2"]

        peer.ip("link", "set", "cust1", "down")
        lost = until(inside, "Link", name="wan1", flags=4099)
        assert (lost["operstate"], lost["deleted"]) == ("down", False)
        peer.ip("link", "set", "cust1", "up")
        until(inside, "Link", name="wan1", operstate="up")

        router.ip("addr", "add", "100.64.1.3/24", "dev", "wan1")
        assert until(inside, "Address", address="100.64.1.3")["deleted"] is False
        router.ip("addr", "del", "100.64.1.3/24", "dev", "wan1")
        assert until(inside, "Address", address="100.64.1.3")["deleted"] is True

        router.ip("route", "add", "default", "via", "100.64.1.1", "dev", "wan1", "proto", "dhcp")
        route = until(inside, "Route", dst_len=0, protocol=16)
        assert route["nexthops"][0][0] == "100.64.1.1" and route["table"] == 254

        router.run("ping", "-c1", "-W1", "100.64.1.99", check=False)
        failed = until(inside, "Neighbour", address="100.64.1.99", state=0x20, timeout=15)
        assert failed["family"] == "ipv4"

        peer.ip("link", "del", "cust1")         # the veth pair goes, wan1 with it
        assert until(inside, "Link", name="wan1", deleted=True)


def test_an_overrun_is_reported_and_followed_by_a_new_dump(pair):
    router, _peer = pair
    # The reader outlives the test (the test kills it), so that quiet means quiet. With a buffer this small a dump
    # can stall: it goes on only when a read leaves the buffer at most half full, and events that arrive meanwhile
    # (here IPv6 DAD finishing on wan1) can keep it above that. The agent starts a stalled dump again
    # (loop.DUMP_STALLED); the reader does the same, sooner.
    with Inside(router, "netlink", {"seconds": 600, "tiny_buffer": True, "stall": 2}) as inside:
        inside.read(10)
        batch = "".join("route add 198.18.%d.%d/32 dev wan1\n" % (n // 250, n % 250) for n in range(2000))
        router.run("ip", "-batch", "-", input=batch)
        until(inside, "Overrun")
        lines = []
        while True:             # everything until the socket has been quiet for 5 s
            try:
                lines.append(inside.read(5))
            except AssertionError:
                assert inside.process.poll() is None, "the reader exited: %s" % lines[-20:]
                break
        # after the last overrun or restart: a whole new dump (link, addr, neigh, route), with every route in it
        after = lines[max([-1] + [n for n, line in enumerate(lines) if line.get("kind") in ("Overrun", "Restarted")]) + 1:]
        assert [line["kind"] for line in after].count("DumpDone") == 4
        dumped = set(line["dst"] for line in after if line.get("kind") == "Route" and line["dst"])
        assert {"198.18.0.0", "198.18.7.249"} <= dumped
