"""`python -m servicekit.ops_cli <command>`: the broker's side of operations, over plain AMQP.

    depths [--service NAME ...] [--absent]             messages waiting in each queue
    dead-letters list SERVICE [--limit N] [--show-bodies]   read dead letters, leave them
    dead-letters replay SERVICE (--id ID ... | --all) [--limit N]   back to the service

Reads AMQP_URL, BUS_NAMESPACE and RETRY_DELAYS_MS like every service (ServiceSettings).
Bodies may hold personal data: `list` shows metadata only unless `--show-bodies`. `--json`
prints the results as JSON. Exit codes: 0 done; 1 the broker unreachable, no such dead-letter
queue, or a replay that found or republished less than asked; 2 bad usage (nothing is done).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn, TextIO

import aio_pika
from aio_pika.connection import make_url
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from servicekit.dead_letters import (
    DeadLetter,
    DeadLetterQueueMissing,
    ReplayReport,
    inspect_dead_letters,
    replay_dead_letters,
)
from servicekit.queue_depths import QueueDepth, queue_depths
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology

PROG = "python -m servicekit.ops_cli"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PLATFORM_SERVICES = ("accounts", "provisioning", "logs", "privacy", "gateway")
"""The services on the bus that `depths` looks at unless told which."""
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
MAX_LIMIT = 1000
CONNECT_TIMEOUT_SECONDS = 10.0
PLAIN_WIDTH = 200
"""Columns of a table printed off a terminal (rich's default of 80 would fold the ids)."""


class UsageError(Exception):
    """Bad command-line input, in one readable line; nothing was done."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _service(value: str) -> str:
    if not SERVICE_NAME.match(value):
        raise argparse.ArgumentTypeError(f"not a service name: {value!r}")
    return value


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"a number from 1 to {MAX_LIMIT}, got {value!r}")
    return int(value)


def parser() -> argparse.ArgumentParser:
    """The commands and their arguments."""
    root = _Parser(prog=PROG, description="Queue depths and dead letters, over AMQP.")
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    depths = commands.add_parser("depths", help="messages ready and consumers of each queue")
    depths.add_argument("--service", action="append", type=_service, metavar="NAME")
    depths.add_argument("--absent", action="store_true", help="also list queues not declared")
    depths.add_argument("--json", action="store_true", help="print the results as JSON")
    dead = commands.add_parser("dead-letters", help="a service's dead letters")
    actions = dead.add_subparsers(dest="action", required=True, parser_class=_Parser)
    listing = actions.add_parser("list", help="read dead letters and leave them in the queue")
    listing.add_argument("service", type=_service, metavar="SERVICE")
    listing.add_argument("--limit", type=_limit, default=20, help="at most N (20)")
    listing.add_argument("--show-bodies", action="store_true", help="bodies may be personal")
    listing.add_argument("--json", action="store_true", help="print the results as JSON")
    replay = actions.add_parser("replay", help="publish dead letters back to the service")
    replay.add_argument("service", type=_service, metavar="SERVICE")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", dest="ids", metavar="ID", help="repeatable")
    which.add_argument("--all", action="store_true", help="every dead letter examined")
    replay.add_argument("--limit", type=_limit, default=100, help="examine at most N (100)")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    return root


def when(moment: datetime | None) -> str:
    """A time in UTC to the second, or a dash."""
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def depths_table(depths: Sequence[QueueDepth]) -> Table:
    """One queue a row; an absent queue says so."""
    table = _table("queue", "service", "kind", "ready", "consumers")
    for depth in depths:
        counts = (str(depth.messages), str(depth.consumers)) if depth.present else ("absent", "-")
        table.add_row(*(Text(c) for c in (depth.name, depth.service, depth.kind, *counts)))
    return table


def dead_letters_table(letters: Sequence[DeadLetter], *, bodies: bool) -> Table:
    """One dead letter a row: metadata, and the body only when asked for."""
    columns = ["id", "type", "reason", "died in", "deaths", "attempts", "replays", "published"]
    table = _table(*columns, "bytes", *(["body"] if bodies else []))
    for letter in letters:
        cells = [
            letter.message_id or "-",
            letter.type or "-",
            letter.reason or "-",
            letter.queue + (f" ({letter.routing_key})" if letter.routing_key else ""),
            str(letter.death_count),
            str(letter.attempts or "-"),
            str(letter.replays),
            when(letter.timestamp),
            str(letter.body_bytes),
        ]
        if bodies:
            cells.append(letter.body_text if letter.body_text is not None else "(not text)")
        table.add_row(*(Text(cell) for cell in cells))
    return table


class _Output:
    def __init__(self, out: TextIO, errors: TextIO, *, as_json: bool) -> None:
        console = Console(file=out, highlight=False)
        if not console.is_terminal:
            console = Console(file=out, highlight=False, width=PLAIN_WIDTH)
        self.console, self.errors, self.as_json = console, errors, as_json

    def line(self, text: str) -> None:
        self.console.file.write(text + "\n")

    def error(self, text: str) -> None:
        print(f"{PROG}: {text}", file=self.errors, flush=True)

    def results(self, items: Sequence[BaseModel] | BaseModel, table: Table) -> None:
        if not self.as_json:
            self.console.print(table)
        elif isinstance(items, BaseModel):
            self.line(items.model_dump_json(indent=2))
        else:
            self.line(json.dumps([item.model_dump(mode="json") for item in items], indent=2))


async def _depths(
    connection: aio_pika.abc.AbstractConnection,
    settings: ServiceSettings,
    arguments: argparse.Namespace,
    output: _Output,
) -> int:
    services = arguments.service or PLATFORM_SERVICES
    depths = await queue_depths(
        connection,
        Topology(settings.bus_namespace),
        services,
        retry_delays_ms=settings.retry_delays_ms,
    )
    shown = [depth for depth in depths if depth.present or arguments.absent]
    output.results(shown, depths_table(shown))
    if len(shown) < len(depths) and not output.as_json:
        output.line(f"{len(depths) - len(shown)} queues not declared (--absent lists them)")
    return EXIT_OK


async def _list(
    connection: aio_pika.abc.AbstractConnection,
    settings: ServiceSettings,
    arguments: argparse.Namespace,
    output: _Output,
) -> int:
    letters = await inspect_dead_letters(
        connection,
        Topology(settings.bus_namespace),
        arguments.service,
        arguments.limit,
        bodies=arguments.show_bodies,
    )
    if not letters and not output.as_json:
        output.line("no dead letters")
        return EXIT_OK
    output.results(letters, dead_letters_table(letters, bodies=arguments.show_bodies))
    return EXIT_OK


def report_lines(report: ReplayReport) -> list[str]:
    """What a replay did, in plain lines."""
    lines = [f"replayed {len(report.replayed)} of {report.examined} dead letters examined"]
    lines += [f"  replayed {message_id or '(no id)'}" for message_id in report.replayed]
    return lines


async def _replay(
    connection: aio_pika.abc.AbstractConnection,
    settings: ServiceSettings,
    arguments: argparse.Namespace,
    output: _Output,
) -> int:
    report = await replay_dead_letters(
        connection,
        Topology(settings.bus_namespace),
        arguments.service,
        None if arguments.all else arguments.ids,
        arguments.limit,
    )
    if output.as_json:
        output.line(report.model_dump_json(indent=2))
    else:
        for line in report_lines(report):
            output.line(line)
    for message_id in report.missing:
        output.error(f"not found among the dead letters examined: {message_id}")
    for failure in report.failed:
        output.error(f"not replayed, left in the queue: {failure.message_id}: {failure.error}")
    return EXIT_FAILED if report.missing or report.failed else EXIT_OK


COMMANDS = {"depths": _depths, "list": _list, "replay": _replay}


async def run_command(
    argv: Sequence[str],
    settings: ServiceSettings | None = None,
    *,
    out: TextIO | None = None,
    errors: TextIO | None = None,
) -> int:
    """Run one command line against the broker; the exit code. (`main` for a running loop.)"""
    errors = errors or sys.stderr
    try:
        arguments = parser().parse_args(argv)
    except UsageError as bad:
        print(f"{PROG}: {bad}", file=errors)
        return EXIT_USAGE
    settings = settings or ServiceSettings()
    output = _Output(out or sys.stdout, errors, as_json=arguments.json)
    command = COMMANDS[arguments.action if arguments.command == "dead-letters" else "depths"]
    # Built apart from `connect` so that it is closed even when connecting fails: a
    # connection object left open warns when it is collected after the event loop is gone.
    connection = aio_pika.Connection(make_url(settings.amqp_url))
    try:
        await connection.connect(timeout=CONNECT_TIMEOUT_SECONDS)
        return await command(connection, settings, arguments, output)
    except DeadLetterQueueMissing as missing:
        output.error(f"{missing} (has the service {arguments.service} ever started?)")
    except OSError as unreachable:
        output.error(f"cannot reach the broker: {type(unreachable).__name__}")
    finally:
        await connection.close()
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """The command line's entry point: run it and return the exit code."""
    try:
        return asyncio.run(run_command(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
