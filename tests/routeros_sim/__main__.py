"""Run the simulator until killed: ``python -m routeros_sim --port 0`` (with ``tests/`` on sys.path).

It prints ``port=<N>`` (and ``certificate=<path>`` with ``--tls``) on stdout once it listens.
"""

import argparse
import os
import signal
import sys
import threading

from .server import DROP_MODES, Simulator
from .state import DEFAULT_VERSION, ENVIRONMENT_VARIABLE, Behaviour


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="routeros_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="RouterOS version to act as")
    parser.add_argument("--identity", default="MikroTik")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay between a command's arrival and its reply (per command)")
    parser.add_argument("--drop-after", type=int, default=None, metavar="N",
                        help="close the connection after N received sentences (once)")
    parser.add_argument("--drop-mode", choices=DROP_MODES, default="after-reply")
    parser.add_argument("--tls", action="store_true", help="serve API-SSL (self-signed)")
    parser.add_argument("--tls-anonymous", action="store_true",
                        help="with --tls: anonymous DH, no certificate (api-ssl without one)")
    parser.add_argument("--legacy-login", action="store_true",
                        help="act as RouterOS < 6.43: only the challenge/response login")
    parser.add_argument("--host-bits", choices=("mask", "keep", "refuse"), default=None,
                        help="what a prefix with host bits (10.0.0.1/24) becomes")
    parser.add_argument("--table-removal", choices=("dangle", "refuse", "cascade"), default=None,
                        help="removing a routing table that is still referenced")
    parser.add_argument("--behaviour", action="append", default=[], metavar="SWITCH=VALUE",
                        help="any Behaviour switch (repeatable), e.g. execution_order=reversed; "
                             f"{ENVIRONMENT_VARIABLE} is read first")
    return parser.parse_args(argv)


def _switch_options(arguments):
    """The Behaviour switches the dedicated options set (only those given)."""
    options = {"host_bits": arguments.host_bits, "table_removal": arguments.table_removal}
    if arguments.legacy_login:
        options["login_methods"] = ("challenge",)
    return {name: value for name, value in options.items() if value is not None}


def main(argv=None):
    arguments = parse_arguments(argv)
    behaviour = Behaviour.from_text(" ".join([os.environ.get(ENVIRONMENT_VARIABLE, "")] + arguments.behaviour),
                                    **_switch_options(arguments))
    simulator = Simulator(username=arguments.username, password=arguments.password,
                          version=arguments.version, identity=arguments.identity,
                          latency=arguments.latency_ms / 1000.0, drop_after=arguments.drop_after,
                          drop_mode=arguments.drop_mode, tls=arguments.tls,
                          tls_anonymous=arguments.tls_anonymous, host=arguments.host,
                          port=arguments.port, behaviour=behaviour)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with simulator:
        print(f"port={simulator.port}", flush=True)
        if simulator.certificate:
            print(f"certificate={simulator.certificate}", flush=True)
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
