# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner for RouterOS: one librouteros session, pipelined prints, pipelined writes in a safe order.

``dump()`` prints each menu once, all prints in flight together, and returns ``{path: [row]}``
with values exactly as the API sent them (strings; librouteros' casting of ``"yes"`` or
``"123"`` is skipped on purpose). ``apply(commands)`` sends the engines' ``ApiCommand``s, the
same commands the module reports as ``commands``, each built into its API sentence
(``ApiCommand.sentence``) with a ``.tag``. Commands go out a window at a time before any reply
is read, so 1,000 changes cost a handful of round trips instead of 1,000; a command whose
outcome could depend on the order RouterOS runs commands in waits until every reply in flight
is read (``commands.InFlight``): a ``move`` after the ``add``s it orders, anything naming an
entry or a table an ``add`` in flight creates, a table's removal after every other write.
An ``Added`` entry becomes the ``.id`` its ``add`` returned.

Every reply is read before ``apply`` returns or raises: after a ``!trap`` the other commands in
flight may have run (RouterOS ran them concurrently), so the failure names the refused command
and the core plans the undo from a fresh ``dump()``. Every failure becomes the collection's error
types: ``DeviceError`` for connecting, logging in and reading; ``ApplyFailed`` naming the command
and RouterOS's ``!trap`` message, or the command in flight when the connection dropped. Every
connection value is checked before a connection is made (``check_connection_values``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import itertools
import socket
import ssl

from ansible_collections.multiwan.pbr.plugins.module_utils.core import addresses
from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError, InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import normalise_all, validated_config
from ansible_collections.multiwan.pbr.plugins.module_utils.core.shell import (
    STATE_OPTIONS, STATE_REQUIRED_IF, Library, run_module)
from ansible_collections.multiwan.pbr.plugins.module_utils.routeros.commands import Added, InFlight

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
# RouterOS's !fatal for a command on a session that never logged in.
NOT_LOGGED_IN = "not logged in"
HIDDEN = "********"

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
    run_module(argument_spec, engine, runner_factory(engine, paths), libraries=LIBRARIES, required_if=REQUIRED_IF)


def runner_factory(engine, paths, connect=None):
    """``make_runner`` for the shell: the runner exists (and may connect) only once every value
    of the run checked out, the ``config`` entries included, as ``rendered`` would check them."""
    def make_runner(module, params):
        check_before_connecting(engine, params)
        return RouterOsApi(params, paths, connect=connect)
    return make_runner


def check_before_connecting(engine, params):
    """``InvalidInput`` for the first bad value: connection options, then ``config`` (whose entries
    the core checks again, with what it reads from the device, once connected)."""
    check_connection_values(params)
    normalise_all(engine, dict(params, config=validated_config(engine, params)), None)


def check_connection_values(params):
    """The encoding is one Python knows and the user name and password can be sent in it (librouteros
    encodes words strictly); the password is never shown, whole or in part."""
    encoding = params.get("encoding") or "ASCII"
    try:
        "".encode(encoding)
    except LookupError:
        raise InvalidInput("encoding", encoding, "is not a character encoding Python knows (e.g. ASCII, UTF-8)")
    if not _can_encode(params.get("username") or "", encoding):
        raise InvalidInput("username", params.get("username"), "cannot be sent with encoding=%s; set encoding "
                           "(e.g. UTF-8) to the router's code page" % encoding)
    if not _can_encode(params.get("password") or "", encoding):
        raise InvalidInput("password", HIDDEN, "holds a character that encoding=%s cannot send; set encoding "
                           "(e.g. UTF-8) to the router's code page" % encoding)
    port = params.get("port")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput("port", port, "is not a TCP port (1-65535)")
    if params.get("timeout") is not None and params["timeout"] <= 0:
        raise InvalidInput("timeout", params["timeout"], "must be a positive number of seconds")


def _can_encode(text, encoding):
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@contextlib.contextmanager
def session(params, paths):
    """A runner for ``paths`` outside the resource shell (the audit), closed after."""
    check_connection_values(params)
    runner = RouterOsApi(params, paths)
    try:
        yield runner
    finally:
        runner.close()


class _Reply(object):
    """What came back for one tagged sentence: rows, trap messages, the ``!done`` words."""

    __slots__ = ("tag", "command", "text", "rows", "traps", "done")

    def __init__(self, tag, command, text):
        self.tag, self.command, self.text = tag, command, text
        self.rows, self.traps, self.done = [], [], None


class RouterOsApi(object):
    """Reads and writes the menus ``paths`` of one router; connects on first use.

    ``connect`` is ``librouteros.connect`` unless a test passes another.
    """

    # Every write is answered (!done or !trap, by tag) before the run ends, so the core
    # takes its prediction as ``after`` instead of printing each path a second time; the
    # read that checks an undo after a failure is always a fresh print (``dump``).
    reads_back = False

    def __init__(self, params, paths, connect=None):
        self.params = params
        self.paths = tuple(paths)
        self.port = params.get("port") or (TLS_PORT if params.get("tls") else PLAIN_PORT)
        self.address = "%s:%s" % (params["hostname"], self.port)
        self.round_trips = 0
        self._connect_with = connect
        self._api = None
        self._lost = None
        self._tags = itertools.count(1)

    # -- the runner interface ------------------------------------------------------------

    def dump(self):
        """One ``print`` per menu, all in flight at once (reads do not depend on each other)."""
        api = self._connected()
        replies = [self._send(api, [path + "/print"], None, path + "/print") for path in self.paths]
        try:
            self._exchange(api, replies)
        except ApplyFailed as failure:
            raise DeviceError("%s on %s failed: %s" % (failure.command, self.address, failure.device_message))
        for reply in replies:
            if reply.traps:
                raise DeviceError("%s on %s failed: %s" % (reply.text, self.address, "; ".join(reply.traps)))
        return dict((path, reply.rows) for path, reply in zip(self.paths, replies))

    def apply(self, commands):
        """Send every command, pipelined where order cannot matter; ``ApplyFailed`` names the
        first command RouterOS refused, once every reply in flight has been read."""
        api = self._connected()
        in_flight, replies, ids = InFlight(), [], {}
        for command in commands:
            if len(in_flight) >= WINDOW or in_flight.must_wait(command):
                self._settle(api, replies, ids)
                in_flight.clear()
                replies = []
            words = command.sentence(lambda value, command=command: _resolve(value, ids, command))
            replies.append(self._send(api, words, command, command.text))
            in_flight.add(command)
        self._settle(api, replies, ids)

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
        connect = self._connect_with or librouteros.connect
        try:
            return connect(params["hostname"], params.get("username") or "admin", params.get("password") or "",
                           **options)
        except TrapError as error:
            raise DeviceError("cannot log in to %s as %s: %s" % (self.address, params.get("username"), error))
        except ssl.SSLError as error:
            raise DeviceError("TLS with %s failed: %s%s" % (self.address, error, _port_hint(params, self.port)))
        except (OSError, ValueError, LibRouterosError) as error:
            raise DeviceError("cannot talk to the RouterOS API at %s: %s%s"
                              % (self.address, _describe(error), _port_hint(params, self.port)))

    # -- the pipeline --------------------------------------------------------------------

    def _send(self, api, words, command, text):
        tag = str(next(self._tags))
        try:
            api.protocol.writeSentence(words[0], *(words[1:] + [".tag=" + tag]))
        except (OSError, ValueError, LibRouterosError) as error:
            self._lose(error, text)
        return _Reply(tag, command, text)

    def _settle(self, api, replies, ids):
        """Read the replies of everything in flight; learn the ids of adds; raise for any trap."""
        if not replies:
            return
        self._exchange(api, replies)
        for reply in replies:
            if reply.command.added is not None and not reply.traps and reply.done.get("ret"):
                ids[reply.command.added] = reply.done["ret"]
        trapped = [reply for reply in replies if reply.traps]
        if trapped:
            raise ApplyFailed(trapped[0].text, _trap_message(trapped, len(replies)))

    def _exchange(self, api, replies):
        """Read until every tag in flight has its ``!done``."""
        by_tag = dict((reply.tag, reply) for reply in replies)
        waiting = set(by_tag)
        self.round_trips += 1
        while waiting:
            try:
                reply_word, words = api.protocol.readSentence()
            except (OSError, ValueError, LibRouterosError) as error:
                self._lose(error, next(reply.text for reply in replies if reply.tag in waiting))
            attributes, tag = _attributes(words)
            reply = by_tag.get(tag)
            if reply is None:
                continue
            if reply_word == "!re":
                reply.rows.append(attributes)
            elif reply_word == "!trap":
                reply.traps.append(attributes.get("message", "unknown error"))
            elif reply_word == "!done":
                reply.done = attributes
                waiting.discard(tag)

    def _lose(self, error, text):
        self._lost = _describe(error)
        self.close()
        if self._lost == NOT_LOGGED_IN:
            # librouteros's plain login takes a challenge for success (tests/routeros_sim/README.md, login_methods)
            raise ApplyFailed(text, "RouterOS at %s did not take the login (%s): it answered the plain login of "
                              "RouterOS 6.43 and later with a challenge, as older routers do; these modules need "
                              "RouterOS 7" % (self.address, self._lost))
        raise ApplyFailed(text, "the connection to %s was lost before RouterOS answered (%s); the command may "
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


def _resolve(value, ids, command):
    """An ``Added`` as the ``.id`` its ``add`` returned; any other value as it is."""
    if not isinstance(value, Added):
        return value
    if value not in ids:
        raise ApplyFailed(command.text, "names %s, which no add of this run created" % value.text)
    return ids[value]


def _trap_message(trapped, in_flight):
    """RouterOS's message; when several commands sent together were refused, all of them."""
    message = "; ".join(trapped[0].traps)
    if len(trapped) > 1:
        message += " (%d of the %d commands in flight were refused: %s)" % (
            len(trapped), in_flight, "; ".join("%s: %s" % (reply.text, "; ".join(reply.traps)) for reply in trapped))
    return message


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


def _describe(error):
    if isinstance(error, socket.timeout):
        return "timed out"
    return str(error) or error.__class__.__name__


def _port_hint(params, port):
    if params.get("tls"):
        return " (tls is on: is port %s the api-ssl service?)" % port
    return " (is port %s the plain api service? api-ssl needs tls: true)" % port
