"""Write a module's DOCUMENTATION ``config`` suboptions from its engine's field table.

    .venv/bin/python tools/field_docs.py pbr_rule [...]     rewrite plugins/modules/<name>.py in place
    .venv/bin/python tools/field_docs.py --check pbr_rule   exit 1 when the file differs from the table

Each field is declared once (``core.fields``); ansible-doc reads DOCUMENTATION as a literal,
so the literal is generated from the table, and a unit test runs ``--check`` for every module.
"""

import argparse
import importlib
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))
from ansible_collections.multiwan.pbr.plugins.module_utils.core.fields import documentation  # noqa: E402

MODULES = "ansible_collections.multiwan.pbr.plugins.modules."
# The suboptions block of ``config``: six spaces in, up to the next key at four spaces or less.
_SUBOPTIONS = re.compile(r"(\n  config:\n(?:    .*\n)*?    suboptions:\n)((?:      .*\n|\n)*)")


class _Dumper(yaml.SafeDumper):
    """Block style, keys in table order, long descriptions folded at 120 columns."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_Dumper, self).increase_indent(flow, False)


class _Flow(list):
    """A list written on one line, as ``choices: [a, b]``."""


_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=True))


def _with_flow_choices(options):
    for entry in options.values():
        if "choices" in entry:
            entry["choices"] = _Flow(entry["choices"])
        _with_flow_choices(entry.get("suboptions", {}))
    return options


def suboptions_text(fields):
    text = yaml.dump(_with_flow_choices(documentation(fields)), Dumper=_Dumper, sort_keys=False, width=106,
                     default_flow_style=False)
    return "".join("      " + line if line.strip() else line for line in text.splitlines(True))


def rewritten(source, fields):
    match = _SUBOPTIONS.search(source)
    if not match:
        raise SystemExit("no `config: ... suboptions:` block found")
    return source[:match.start(2)] + suboptions_text(fields) + source[match.end(2):]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("modules", nargs="+")
    args = parser.parse_args(argv)
    stale = []
    for name in args.modules:
        fields = importlib.import_module(MODULES + name).engine.ENGINE.config_fields
        path = os.path.join(ROOT, "plugins", "modules", name + ".py")
        with open(path) as handle:
            source = handle.read()
        wanted = rewritten(source, fields)
        if wanted != source:
            stale.append(path)
            if not args.check:
                with open(path, "w") as handle:
                    handle.write(wanted)
    if args.check and stale:
        print("DOCUMENTATION differs from the field table: %s (run tools/field_docs.py)" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
