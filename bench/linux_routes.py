"""Part 2: N routes across 4 tables with ``pbr_table`` in one task, against a hand-written ``ip -batch``
file, an ``ansible.builtin.command`` loop, and (no change) one ``ip -json route show table all``.

The routes go via a gateway on a veth pair inside the bench's own namespace (the ``dummy`` link
type is not available on these machines)."""

from common import subnet
from iproute2_case import Case, measure

PROTOCOL = "211"            # pbr_table's default ownership tag
TABLES = (101, 102, 103, 104)
DEVICE, GATEWAY, ADDRESS = "bench0", "198.51.100.1", "198.51.100.2/24"


def _table(index):
    return TABLES[index % len(TABLES)]


def prepare(netns):
    netns.ip("link", "add", DEVICE, "type", "veth", "peer", "name", "bench0peer")
    netns.ip("addr", "add", ADDRESS, "dev", DEVICE)
    for device in (DEVICE, "bench0peer"):
        netns.ip("link", "set", device, "up")


def module_args(size):
    routes = {table: [] for table in TABLES}
    for index in range(size):
        routes[_table(index)].append({"dst": subnet(index), "via": GATEWAY, "dev": DEVICE})
    return {"state": "merged",
            "config": [{"name": "bench%d" % table, "id": table, "routes": routes[table]} for table in TABLES]}


def batch_lines(size):
    return ["route add %s via %s dev %s table %d proto %s" % (subnet(index), GATEWAY, DEVICE, _table(index), PROTOCOL)
            for index in range(size)]


def command_argvs(size):
    return [["ip"] + line.split() for line in batch_lines(size)]


CASE = Case(part="2 ip route", module="pbr_table", noun="routes", module_args=module_args, batch_lines=batch_lines,
            command_argvs=command_argvs, dump_argv=["ip", "-json", "route", "show", "table", "all"], prepare=prepare)


def run(settings):
    # the smoke run leaves playbooks and the loop to part 1's: a playbook costs seconds however small
    if settings.quick:
        return measure(CASE, (20,), None, settings, playbooks=False)
    return measure(CASE, (100, 10000), 100, settings)
