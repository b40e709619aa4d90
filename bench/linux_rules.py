"""Part 1: N ``ip rule``s with ``pbr_rule`` in one task, against a hand-written ``ip -batch`` file,
an ``ansible.builtin.command`` loop, and (for the no-change run) one ``ip -json rule show``."""

from common import PYTHON, Row, median, module_env, run_timed, subnet
from iproute2_case import Case, measure

PROTOCOL = "211"            # pbr_rule's default ownership tag: the floor writes the same rules


def _table(index):
    return 101 + index % 4


def module_args(size):
    return {"state": "merged",
            "config": [{"priority": 10000 + index, "from": subnet(index), "table": str(_table(index))}
                       for index in range(size)]}


def batch_lines(size):
    return ["rule add priority %d from %s lookup %d protocol %s" % (10000 + index, subnet(index), _table(index), PROTOCOL)
            for index in range(size)]


def command_argvs(size):
    return [["ip"] + line.split() for line in batch_lines(size)]


CASE = Case(part="1 ip rule", module="pbr_rule", noun="rules", module_args=module_args, batch_lines=batch_lines,
            command_argvs=command_argvs, dump_argv=["ip", "-json", "rule", "show"])


def run(settings):
    sizes, loop_size = ((20,), 3) if settings.quick else ((100, 1000, 10000), 100)
    rows, notes = measure(CASE, sizes, loop_size, settings)
    return rows + [fixed_cost(settings)], notes


def fixed_cost(settings):
    """What any Ansible module process pays before it does anything: the interpreter and AnsibleModule's import.
    A reference for the no-change goal, which compares a whole module process with one ``ip`` process."""
    argv = [PYTHON, "-c", "from ansible.module_utils.basic import AnsibleModule"]
    samples = [run_timed(argv, env=module_env())[0] for dummy in range(max(settings.runs, 3))]
    return Row(CASE.part, "reference", "python + `import AnsibleModule` (fixed cost of any module process)",
               median(samples), samples=samples)
