"""One API session: login, then commands turned into reply sentences.

``Session.handle(words)`` is pure protocol logic over a ``RouterState``: it takes one received
sentence and returns the sentences to send back, and whether the connection must close after
them. Sockets, latency and dropped connections belong to ``server.py``.
"""

import hashlib
import os
from dataclasses import dataclass, field

from . import query, traps

# Print arguments that change only console formatting; accepted and ignored over the API.
_PRINT_FORMATTING = frozenset({
    "detail", "brief", "terse", "as-value", "without-paging", "show-ids", "value-list",
    "append", "comments", "follow", "follow-only", "from", "interval", "stats", "stats-detail",
    "all", "chain", "dynamic", "static", "oid", "timestamp", "group-by"})
WRITE_VERBS = frozenset({"add", "set", "unset", "remove", "move", "enable", "disable", "comment"})
_ORDERED_LAST = "*FFFFFFFF"


@dataclass
class Request:
    """A parsed sentence: ``/path/verb``, attribute words, query words (in order), tag."""

    command: str
    attributes: dict = field(default_factory=dict)
    queries: list = field(default_factory=list)
    tag: str = None

    @property
    def path(self):
        return self.command.rpartition("/")[0]

    @property
    def verb(self):
        return self.command.rpartition("/")[2]


@dataclass
class Reply:
    sentences: list
    close: bool = False


def parse_request(words):
    """Split a sentence into command, ``=k=v`` attributes, ``?`` queries and ``.tag``."""
    request = Request(words[0])
    for word in words[1:]:
        if word.startswith("="):
            name, _separator, value = word[1:].partition("=")
            request.attributes[name] = value
        elif word.startswith("?"):
            request.queries.append(word)
        elif word.startswith(".tag="):
            request.tag = word[len(".tag="):] or None
    return request


def fatal(reason):
    """``!fatal`` carries a bare reason word (no ``=``), then the router closes the connection."""
    return Reply([["!fatal", reason]], close=True)


class Session:
    """Protocol state of one connection. ``on_command(request)`` observes every command after
    login (the simulator counts prints and writes with it); if it returns a ``Trap``, the command
    is refused with it instead of running (fault injection)."""

    def __init__(self, state, username, password, on_command=lambda request: None):
        self.state = state
        self.username = username
        self.password = password
        self.on_command = on_command
        self.logged_in = False
        self._challenge = None

    def handle(self, words):
        request = parse_request(words)
        reply = self._dispatch(request)
        if request.tag is not None:
            for sentence in reply.sentences:
                if sentence[0] != "!fatal":
                    sentence.insert(1, f".tag={request.tag}")
        return reply

    def _dispatch(self, request):
        if request.command == "/login":
            return self._login(request.attributes)
        if not self.logged_in:
            if self.state.behaviour.fatal_before_login:
                return fatal("not logged in")
            return _trap(traps.Trap("not logged in"))
        if request.command == "/quit":
            return fatal("session terminated on request")
        if request.command == "/cancel":
            return Reply([["!done"]])      # commands run to completion, so nothing is running
        injected = self.on_command(request)
        if injected is not None:
            return _trap(injected)
        try:
            with self.state.lock:
                return self._run(request)
        except traps.Trap as trap:
            return _trap(trap)

    # -- login -------------------------------------------------------------------------------

    def _login(self, attributes):
        methods = self.state.behaviour.login_methods
        if "response" in attributes:
            return self._check_response(attributes)
        if "password" in attributes and "plain" in methods:
            valid = (attributes.get("name") == self.username
                     and attributes["password"] == self.password)
            return self._login_result(valid)
        if "challenge" in methods:
            self._challenge = os.urandom(16)
            return Reply([["!done", f"=ret={self._challenge.hex()}"]])
        return self._login_result(False)

    def _check_response(self, attributes):
        """Pre-6.43: response = ``00`` + hex(md5(``\\0`` + password + challenge))."""
        if self._challenge is None:
            return self._login_result(False)
        digest = hashlib.md5(b"\x00" + self.password.encode() + self._challenge).hexdigest()
        self._challenge = None
        valid = attributes.get("name") == self.username and attributes["response"] == "00" + digest
        return self._login_result(valid)

    def _login_result(self, valid):
        self.logged_in = self.logged_in or valid
        return Reply([["!done"]]) if valid else _trap(traps.invalid_login())

    # -- commands ----------------------------------------------------------------------------

    def _run(self, request):
        if not request.command.startswith("/") or not self.state.has_menu(request.path):
            raise traps.no_such_command_prefix()
        menu = self.state.menu(request.path)
        verb = "print" if request.verb == "getall" else request.verb
        if verb not in menu.spec.commands:
            raise traps.no_such_command()
        if verb == "print":
            return self._print(menu, request)
        if verb == "add":
            return Reply([["!done", f"=ret={menu.add(request.attributes)}"]])
        if verb in ("reset-counters", "reset-counters-all"):
            return Reply([["!done"]])
        getattr(menu, verb)(request.attributes)
        return Reply([["!done"]])

    def _print(self, menu, request):
        attributes = request.attributes
        for name in attributes:
            if name not in _PRINT_FORMATTING and name not in (".proplist", "count-only"):
                raise traps.unknown_parameter(name)
        query.validate(request.queries)
        rows = self._with_nextid(menu, menu.rows())
        selected = [row for row in rows
                    if query.matches(request.queries, row, menu.query_normaliser)]
        if "count-only" in attributes:
            return Reply([["!done", f"=ret={len(selected)}"]])
        proplist = self._proplist(attributes)
        sentences = [["!re"] + [f"={key}={value}" for key, value in row.items()
                                if proplist is None or key in proplist] for row in selected]
        if not sentences and self.state.emits_empty:
            sentences.append(["!empty"])
        return Reply(sentences + [["!done"]])

    def _proplist(self, attributes):
        if ".proplist" not in attributes:
            return None
        names = {name for name in attributes[".proplist"].split(",") if name}
        if self.state.behaviour.proplist_keeps_id:
            names.add(".id")
        return names

    def _with_nextid(self, menu, rows):
        if not (menu.spec.ordered and self.state.behaviour.show_nextid):
            return rows
        following = [row[".id"] for row in rows[1:]] + [_ORDERED_LAST]
        return [dict(row, **{".nextid": next_id}) for row, next_id in zip(rows, following)]


def _trap(trap):
    return Reply([["!trap"] + trap.words(), ["!done"]])
