"""Print the four menus the role touches as JSON, read with plain librouteros (not the collection's runner).

``ids`` holds each menu's ``.id``s in print order (a dotted key is awkward in Jinja).

Usage: python read_state.py <port>  (user admin, empty password, 127.0.0.1)
"""
import json
import sys

import librouteros

PATHS = ("/ip/firewall/mangle", "/routing/rule", "/routing/table", "/ip/route")


def main(port):
    api = librouteros.connect("127.0.0.1", "admin", "", port=port)
    try:
        state = dict((path, list(api.path(*path.strip("/").split("/")))) for path in PATHS)
    finally:
        api.close()
    state["ids"] = dict((path, [row[".id"] for row in rows]) for path, rows in list(state.items()))
    json.dump(state, sys.stdout)


if __name__ == "__main__":
    main(int(sys.argv[1]))
