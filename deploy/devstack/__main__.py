"""python -m devstack: the embedded store server, the local RabbitMQ and the FerretDB build.

    python -m devstack store [--data-dir .data/store] [--port 27117] [--kind ferretdb|nx]
    python -m devstack rabbitmq [--url AMQP_URL]
    python -m devstack chromium
    python -m devstack build-ferretdb [--force]
    python -m devstack run
    python -m devstack smtp [--smtp-port $SMTP_PORT|8025] [--http-port $HTTP_PORT|8026]

Output is plain lines prefixed `devstack:`; errors go to stderr and the exit code is 1.
"""

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .chromium import ensure_chromium
from .errors import DevstackError
from .output import say, say_error
from .rabbitmq import amqp_url_from_env, ensure_rabbitmq
from .store_server import (
    REPO_ROOT,
    STORE_KINDS,
    STORE_SERVER_ENV,
    build_ferretdb,
    kind_from_env,
    parse_kind,
    start_store_server,
)

DEFAULT_STORE_DIR = REPO_ROOT / ".data" / "store"
DEFAULT_STORE_PORT = 27117
WATCH_INTERVAL_S = 1.0


def _run_store(args: argparse.Namespace) -> int:
    kind = parse_kind(args.kind) if args.kind is not None else kind_from_env()
    stop_requested = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = start_store_server(kind, Path(args.data_dir), args.port, host=args.host, say=say)
    try:
        say(f"store server {server.describe()}")
        say(f"ready in {server.started_in:.1f} s; data in {server.data_dir}, log {server.log_path}")
        say(f"MONGO_URL={server.url}")
        while not stop_requested.wait(WATCH_INTERVAL_S):
            code = server.process.poll()
            if code is not None:
                raise DevstackError(
                    f"{server.kind} exited unexpectedly with code {code}; last lines of"
                    f" {server.log_path}:\n{server.log_tail()}"
                )
        say(f"{received[0] if received else 'stop'} received; stopping {server.kind}...")
    finally:
        server.stop()
    say(f"{server.kind} stopped")
    return 0


def _run_rabbitmq(args: argparse.Namespace) -> int:
    say(ensure_rabbitmq(args.url, say=say))
    return 0


def _run_chromium(_args: argparse.Namespace) -> int:
    say(f"Chromium: {ensure_chromium(say=say).describe()}")
    return 0


def _run_build_ferretdb(args: argparse.Namespace) -> int:
    binary = build_ferretdb(force=args.force, say=say)
    say(f"FerretDB binary up to date: {binary}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Development stack: embedded store server, local RabbitMQ, FerretDB build.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    store = commands.add_parser(
        "store", help="run the embedded MongoDB-compatible server until SIGINT/SIGTERM"
    )
    store.add_argument("--data-dir", default=str(DEFAULT_STORE_DIR), help="%(default)s")
    store.add_argument("--port", type=int, default=DEFAULT_STORE_PORT, help="%(default)s")
    store.add_argument("--host", default="127.0.0.1", help="%(default)s")
    store.add_argument(
        "--kind",
        choices=STORE_KINDS,
        default=None,
        help=f"default: ${STORE_SERVER_ENV}, else ferretdb when Go is available, else nx",
    )
    store.set_defaults(handler=_run_store)

    rabbitmq = commands.add_parser(
        "rabbitmq", help="make sure a RabbitMQ broker answers (start or install a local one)"
    )
    rabbitmq.add_argument(
        "--url", default=amqp_url_from_env(), help="default: $AMQP_URL, else the local broker"
    )
    rabbitmq.set_defaults(handler=_run_rabbitmq)

    chromium = commands.add_parser(
        "chromium", help="make sure a system Chromium runs (install Debian's package if missing)"
    )
    chromium.set_defaults(handler=_run_chromium)

    build = commands.add_parser("build-ferretdb", help="build .data/bin/ferretdb if out of date")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.set_defaults(handler=_run_build_ferretdb)

    platform = commands.add_parser(
        "run", help="run the whole platform with a demo partner until Ctrl-C (make run)"
    )
    platform.set_defaults(handler=_run_platform)

    smtp = commands.add_parser(
        "smtp", help="run a local SMTP sink whose messages GET /messages lists (until Ctrl-C)"
    )
    smtp.add_argument("--host", default="127.0.0.1", help="%(default)s")
    smtp.add_argument(
        "--smtp-port",
        type=int,
        default=int(os.environ.get("SMTP_PORT", "8025")),
        help="%(default)s",
    )
    smtp.add_argument(
        "--http-port",
        type=int,
        default=int(os.environ.get("HTTP_PORT", "8026")),
        help="%(default)s",
    )
    smtp.set_defaults(handler=_run_smtp)
    return parser


def _run_smtp(args: argparse.Namespace) -> int:
    from .smtp_sink import run_sink

    return run_sink(args.host, args.smtp_port, args.http_port)


def _run_platform(_args: argparse.Namespace) -> int:
    from .run import run

    return run()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except DevstackError as exc:
        say_error(str(exc))
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
