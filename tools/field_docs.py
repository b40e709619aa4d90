"""Print, check or write a module's ``config`` suboptions in its DOCUMENTATION, from its engine's field table.

    .venv/bin/python tools/field_docs.py pbr_table            # print the YAML block
    .venv/bin/python tools/field_docs.py pbr_table --check    # exit 1 when the module's text differs
    .venv/bin/python tools/field_docs.py pbr_table --write    # rewrite the block in plugins/modules/pbr_table.py

The module's engine (what the module imports as ``engine``) declares each option of a ``config``
entry once, in ``CONFIG_FIELDS`` (``core.fields``). ``fields.documentation`` makes the suboptions
from it; this tool writes them as YAML into the module's DOCUMENTATION (which has to stay a literal
string: ansible-doc and ansible-test read it without running the module). The unit test of each
converted module holds the two equal, so the docs cannot drift from the table.
"""

import argparse
import importlib
import json
import os
import sys
import textwrap

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))    # the checkout as ansible_collections.multiwan.pbr

from ansible_collections.multiwan.pbr.plugins.module_utils.core import fields  # noqa: E402

WIDTH = 120
SUBOPTIONS_LINE = "    suboptions:\n"      # of option ``config``, two levels into ``options``
KEY_ORDER = ("description", "type", "elements", "required", "choices", "default", "suboptions")


def main(argv=None):
    options = _parse(argv)
    path = os.path.join(ROOT, "plugins", "modules", options.module + ".py")
    module = importlib.import_module("ansible_collections.multiwan.pbr.plugins.modules." + options.module)
    wanted = fields.documentation(module.engine.CONFIG_FIELDS)
    block = suboptions_yaml(wanted, indent=6)
    with open(path) as handle:
        source = handle.read()
    updated = with_block(source, block)
    check_round_trip(updated, wanted)
    if options.check:
        if updated != source:
            print("%s: DOCUMENTATION differs from %s.CONFIG_FIELDS; run tools/field_docs.py %s --write"
                  % (os.path.relpath(path, ROOT), module.engine.__name__, options.module), file=sys.stderr)
            return 1
        return 0
    if options.write:
        with open(path, "w") as handle:
            handle.write(updated)
        return 0
    sys.stdout.write(block)
    return 0


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="the module's name, e.g. pbr_table")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when the module's DOCUMENTATION differs")
    mode.add_argument("--write", action="store_true", help="rewrite the block in the module file")
    return parser.parse_args(argv)


def suboptions_yaml(documentation, indent):
    """``documentation`` (``{option: {description, type, ...}}``) as YAML lines at ``indent``."""
    lines = []
    for option, entry in documentation.items():
        lines.append(" " * indent + option + ":\n")
        lines += _entry_lines(entry, indent + 2)
    return "".join(lines)


def _entry_lines(entry, indent):
    pad = " " * indent
    lines = []
    for key in sorted(entry, key=KEY_ORDER.index):
        value = entry[key]
        if key == "description":
            lines.append(pad + "description:\n")
            for text in value:
                lines += _wrapped(pad + "  - ", pad + "    ", _scalar(text))
        elif key == "suboptions":
            lines.append(pad + "suboptions:\n")
            lines.append(suboptions_yaml(value, indent + 2))
        elif isinstance(value, list):
            lines.append("%s%s: [%s]\n" % (pad, key, ", ".join(_scalar(item) for item in value)))
        else:
            lines.append("%s%s: %s\n" % (pad, key, _scalar(value)))
    return lines


def _scalar(value):
    """``value`` as a YAML scalar: plain when YAML reads it back as exactly that, else double-quoted."""
    plain = json.dumps(value) if isinstance(value, bool) else str(value)
    try:
        if yaml.safe_load("key: " + plain) == {"key": value} and "\n" not in plain:
            return plain
    except yaml.YAMLError:
        pass
    return json.dumps(value)


def _wrapped(first, rest, text):
    """``text`` folded at ``WIDTH`` columns; a YAML scalar folds its line breaks back into spaces."""
    wrapped = textwrap.wrap(text, width=WIDTH, initial_indent=first, subsequent_indent=rest,
                            break_long_words=False, break_on_hyphens=False)
    return [line + "\n" for line in wrapped]


def with_block(source, block):
    """``source`` with the lines after ``config``'s ``suboptions:`` (to the next less-indented line) replaced."""
    start = source.index(SUBOPTIONS_LINE) + len(SUBOPTIONS_LINE)
    end = start
    for line in source[start:].splitlines(True):
        if line.strip() and len(line) - len(line.lstrip()) <= 4:
            break
        end += len(line)
    return source[:start] + block + source[end:]


def check_round_trip(source, wanted):
    """The written YAML must read back as ``wanted``: a wrap that changed a value would be a silent drift."""
    documentation = source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0]
    read_back = yaml.safe_load(documentation)["options"]["config"]["suboptions"]
    if read_back != wanted:
        raise SystemExit("field_docs: the generated YAML does not read back as the field table's documentation")


if __name__ == "__main__":
    sys.exit(main())
