# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner for RouterOS: one librouteros session, one ``print`` per menu, pipelined writes.

``dump()`` prints each menu once and returns ``{path: [row]}`` with values exactly as
the API sent them (strings; librouteros' casting of ``"yes"`` or ``"123"`` is skipped
on purpose). ``apply(lines)`` executes RouterOS CLI lines, the same lines the module
reports as ``commands``: each becomes API sentences (``records.api_sentences``)
sent with a ``.tag`` each, a window at a time, before any reply is read, so 1,000 changes
cost a handful of round trips instead of 1,000. A ``[find comment=...]`` names an entry
added earlier in the same run; the runner reads the replies in flight first, so the
``=ret=`` of that ``add`` gives its ``.id``.

Every failure becomes the collection's error types: ``DeviceError`` for connecting,
logging in and reading; ``ApplyFailed`` naming the line and RouterOS's ``!trap`` message,
or the line in flight when the connection dropped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import itertools
import socket
import ssl

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import (
    STATE_OPTIONS, STATE_REQUIRED_IF, Library, run_module)
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.records import Find, api_sentences

try:
    import librouteros
    from librouteros.exceptions import LibRouterosError, TrapError
    HAS_LIBROUTEROS, LIBROUTEROS_IMPORT_ERROR = True, None
except ImportError as import_error:
    HAS_LIBROUTEROS, LIBROUTEROS_IMPORT_ERROR = False, import_error

    class LibRouterosError(Exception):
        """Stands in for librouteros' base error so the except clauses below still read."""

    TrapError = LibRouterosError

# Sentences in flight before the replies are read. A window's replies (30-100 bytes
# each) must fit the socket buffers, or router and client would both wait to write.
WINDOW = 256
PLAIN_PORT, TLS_PORT = 8728, 8729

# The options of the multiwan.pbr.routeros_api doc fragment, exactly.
CONNECTION_OPTIONS = dict(
    hostname=dict(type="str"),
    username=dict(type="str", default="admin"),
    password=dict(type="str", default="", no_log=True),
    port=dict(type="int"),
    tls=dict(type="bool", default=False, aliases=["ssl"]),
    validate_certs=dict(type="bool", default=True),
    validate_cert_hostname=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=10),
    encoding=dict(type="str", default="ASCII"),
)
# ``rendered`` and ``parsed`` need no router, so no hostname; every other state does.
REQUIRED_IF = STATE_REQUIRED_IF + [("state", state, ("hostname",))
                                   for state in ("merged", "replaced", "overridden", "deleted", "gathered")]
LIBRARIES = (Library("netaddr", addresses.HAS_NETADDR, addresses.NETADDR_IMPORT_ERROR),
             Library("librouteros", HAS_LIBROUTEROS, LIBROUTEROS_IMPORT_ERROR, offline=False))


def resource_argument_spec(**extra_options):
    """The argument_spec of a RouterOS resource module: connection, ``config``, states.
    ``config`` is a plain list of dicts here; the core checks its entries against the engine's
    ``config_spec`` (see ``config_entries``)."""
    return dict(CONNECTION_OPTIONS, **dict(STATE_OPTIONS, **extra_options))


def run_routeros_module(argument_spec, engine, paths):
    """Everything a RouterOS resource module does: the shared shell with this transport's runner."""
    run_module(argument_spec, engine, lambda module, params: RouterOsApi(params, paths),
               libraries=LIBRARIES, required_if=REQUIRED_IF)


@contextlib.contextmanager
def session(params, paths):
    """A runner for ``paths`` outside the resource shell (the audit), closed after."""
    runner = RouterOsApi(params, paths)
    try:
        yield runner
    finally:
        runner.close()


class RouterOsApi(object):
    """Reads and writes the menus ``paths`` of one router; connects on first use."""

    # Every write is answered (!done or !trap, by tag) before the run ends, so the core
    # takes its prediction as ``after`` instead of printing each path a second time.
    reads_back = False

    def __init__(self, params, paths):
        self.params = params
        self.paths = tuple(paths)
        self.port = params.get("port") or (TLS_PORT if params.get("tls") else PLAIN_PORT)
        self.address = "%s:%s" % (params["hostname"], self.port)
        self.round_trips = 0
        self._api = None
        self._lost = None
        self._tags = itertools.count(1)

    # -- the runner interface ------------------------------------------------------------

    def dump(self):
        return dict((path, self._print(path)) for path in self.paths)

    def apply(self, lines):
        """Run every line, pipelined; ``ApplyFailed`` names the first line RouterOS refused."""
        api = self._connected()
        added, in_flight = {}, []
        for line in (command.text for command in lines):
            for command, words, target in api_sentences(line):
                if _needs_ids(words, target, added):
                    self._settle(api, in_flight, added)
                sentence = _sentence(command, words, target, added, line)
                in_flight.append(self._send(api, sentence, line))
                if len(in_flight) >= WINDOW:
                    self._settle(api, in_flight, added)
        self._settle(api, in_flight, added)

    def close(self):
        if self._api is not None:
            with contextlib.suppress(Exception):
                self._api.close()
            self._api = None

    # -- connecting ----------------------------------------------------------------------

    def _connected(self):
        if self._lost:
            raise DeviceError("the connection to %s was lost (%s); nothing more was read or written, "
                              "run again to converge" % (self.address, self._lost))
        if self._api is None:
            self._api = self._connect()
        return self._api

    def _connect(self):
        params = self.params
        options = dict(port=self.port, timeout=params.get("timeout") or 10,
                       encoding=params.get("encoding") or "ASCII")
        if params.get("tls"):
            options["ssl_wrapper"] = tls_wrapper(params)
        try:
            return librouteros.connect(params["hostname"], params.get("username") or "admin",
                                       params.get("password") or "", **options)
        except TrapError as error:
            raise DeviceError("cannot log in to %s as %s: %s" % (self.address, params.get("username"), error))
        except ssl.SSLError as error:
            raise DeviceError("TLS with %s failed: %s%s" % (self.address, error, _port_hint(params, self.port)))
        except (OSError, ValueError, LibRouterosError) as error:
            raise DeviceError("cannot talk to the RouterOS API at %s: %s%s"
                              % (self.address, _describe(error), _port_hint(params, self.port)))

    # -- reading -------------------------------------------------------------------------

    def _print(self, path):
        api = self._connected()
        command = path + "/print"
        try:
            reply = self._exchange(api, [self._send(api, [command], command)])[0]
        except ApplyFailed as failure:
            raise DeviceError("%s on %s failed: %s" % (command, self.address, failure.device_message))
        if reply["traps"]:
            raise DeviceError("%s on %s failed: %s" % (command, self.address, "; ".join(reply["traps"])))
        return reply["rows"]

    # -- the pipeline --------------------------------------------------------------------

    def _send(self, api, sentence, line):
        tag = str(next(self._tags))
        try:
            api.protocol.writeSentence(sentence[0], *(sentence[1:] + [".tag=" + tag]))
        except (OSError, ValueError, LibRouterosError) as error:
            self._lose(error, line)
        return {"tag": tag, "line": line, "sentence": sentence, "rows": [], "traps": [], "done": None}

    def _settle(self, api, in_flight, added):
        """Read the replies of everything in flight; learn the ids of adds; raise the first trap."""
        replies = list(self._exchange(api, in_flight))
        del in_flight[:]
        for reply in replies:
            if reply["sentence"][0].endswith("/add") and reply["done"].get("ret"):
                added[_comment_of(reply["sentence"])] = reply["done"]["ret"]
        trapped = next((reply for reply in replies if reply["traps"]), None)
        if trapped:
            raise ApplyFailed(trapped["line"], "; ".join(trapped["traps"]))

    def _exchange(self, api, in_flight):
        """Read until every tag in flight has its ``!done``."""
        by_tag = dict((reply["tag"], reply) for reply in in_flight)
        waiting = set(by_tag)
        self.round_trips += 1
        while waiting:
            try:
                reply_word, words = api.protocol.readSentence()
            except (OSError, ValueError, LibRouterosError) as error:
                self._lose(error, _first_waiting(in_flight, waiting)["line"])
            attributes, tag = _attributes(words)
            reply = by_tag.get(tag)
            if reply is None:
                continue
            if reply_word == "!re":
                reply["rows"].append(attributes)
            elif reply_word == "!trap":
                reply["traps"].append(attributes.get("message", "unknown error"))
            elif reply_word == "!done":
                reply["done"] = attributes
                waiting.discard(tag)
        return in_flight

    def _lose(self, error, line):
        self._lost = _describe(error)
        self.close()
        raise ApplyFailed(line, "the connection to %s was lost before RouterOS answered (%s); the line may "
                          "or may not have been applied, run again to converge" % (self.address, self._lost))


def tls_wrapper(params):
    """``ssl_wrapper`` for librouteros: verification as the options say, SNI and hostname check."""
    context = ssl.create_default_context(cafile=params.get("ca_path") if params.get("validate_certs") else None)
    if params.get("validate_certs"):
        context.check_hostname = bool(params.get("validate_cert_hostname"))
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        # api-ssl without a certificate speaks anonymous DH (API doc, "Summary").
        with contextlib.suppress(ssl.SSLError):
            context.set_ciphers("HIGH:!eNULL:ADH:@SECLEVEL=0")
    hostname = params["hostname"]
    return lambda sock: context.wrap_socket(sock, server_hostname=hostname)


def _sentence(command, words, target, added, line):
    """API words for one command; ``Find`` references become the ``.id`` the add returned."""
    sentence = [command]
    if target is not None:
        id_word = ".id" if command.rsplit("/", 1)[1] in ("set", "remove") else "numbers"
        sentence.append("=%s=%s" % (id_word, _resolve(target, added, line)))
    for key, value in words:
        sentence.append("=%s=%s" % (key, _resolve(value, added, line)))
    return sentence


def _resolve(value, added, line):
    if not isinstance(value, Find):
        return value
    if value.comment not in added:
        raise ApplyFailed(line, "no entry added in this run has comment=%s" % value.comment)
    return added[value.comment]


def _needs_ids(words, target, added):
    values = [target] + [value for key, value in words]
    return any(isinstance(value, Find) and value.comment not in added for value in values)


def _comment_of(sentence):
    return next((word[len("=comment="):] for word in sentence if word.startswith("=comment=")), None)


def _attributes(words):
    """``({key: value}, tag)`` of a reply; values stay the strings RouterOS sent."""
    attributes, tag = {}, None
    for word in words:
        if word.startswith(".tag="):
            tag = word[len(".tag="):]
        elif word.startswith("="):
            key, value = word[1:].split("=", 1) if "=" in word[1:] else (word[1:], "")
            attributes[key] = value
    return attributes, tag


def _first_waiting(in_flight, waiting):
    return next(reply for reply in in_flight if reply["tag"] in waiting)


def _describe(error):
    if isinstance(error, socket.timeout):
        return "timed out"
    return str(error) or error.__class__.__name__


def _port_hint(params, port):
    if params.get("tls"):
        return " (tls is on: is port %s the api-ssl service?)" % port
    return " (is port %s the plain api service? api-ssl needs tls: true)" % port
