"""`python -m privacy reapply-erasures [--since TIME] [--by NAME] [--timeout S] [--json]`.

After a restore from backup (or a replay of old messages), apply every erasure of the ledger
again, through the running privacy service: it sends each ledger entry to every data owner and
counts their answers. Prints the run, then one progress line per change until every answer is
in (exit 0), a service reported a failure (exit 1), or the timeout passes (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime

from contracts.erasure_ledger import (
    GetReapplyRun,
    ReapplyErasures,
    ReapplyRunView,
    ReapplyStarted,
)
from privacy.settings import PrivacySettings
from servicekit.bus import Bus
from servicekit.errors import ServiceError
from servicekit.topology import Topology

COMMAND = "reapply-erasures"
POLL_SECONDS = 0.5


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog=f"python -m privacy {COMMAND}",
        description="Apply every recorded erasure again, on every data owner.",
    )
    parser.add_argument(
        "--since", type=datetime.fromisoformat, help="only erasures from this time (ISO 8601)"
    )
    parser.add_argument("--by", default=os.environ.get("USER"), help="who runs it ($USER)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (300)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")
    return parser


def _line(run: ReapplyRunView, as_json: bool) -> str:
    if as_json:
        return run.model_dump_json()
    return (
        f"{run.run_id}: {run.answered}/{run.expected} answers, {run.failed} failed,"
        f" {run.erased_again} records erased again"
    )


async def reapply(arguments: argparse.Namespace, settings: PrivacySettings) -> int:
    """Start the run and follow it to its end."""
    bus = Bus(url=settings.amqp_url, topology=Topology(settings.bus_namespace), service="cli")
    await bus.connect()
    timeout = settings.query_timeout_seconds
    try:
        started = await bus.request(
            ReapplyErasures(by=arguments.by, since=arguments.since),
            to="privacy",
            reply=ReapplyStarted,
            timeout=timeout,
        )
        print(
            started.model_dump_json()
            if arguments.json
            else f"{started.run_id}: {started.entries} erasures to"
            f" {', '.join(started.services) or 'no service'}",
            flush=True,
        )
        deadline, shown = time.monotonic() + arguments.timeout, ""
        while True:
            run = await bus.request(
                GetReapplyRun(run_id=started.run_id),
                to="privacy",
                reply=ReapplyRunView,
                timeout=timeout,
            )
            line = _line(run, arguments.json)
            if line != shown:
                print(line, flush=True)
                shown = line
            if run.answered >= run.expected:
                return 1 if run.failed else 0
            if time.monotonic() > deadline:
                print(f"{COMMAND}: still waiting after {arguments.timeout:g} s", file=sys.stderr)
                return 1
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await bus.close()


def main(argv: Sequence[str], settings: PrivacySettings | None = None) -> int:
    """Run the command; the exit code."""
    arguments = parser().parse_args(argv)
    if not arguments.by:
        print(f"{COMMAND}: say who you are: --by NAME (or set $USER)", file=sys.stderr)
        return 2
    if arguments.since is not None and arguments.since.tzinfo is None:
        print(
            f"{COMMAND}: --since needs a timezone, e.g. 2026-11-01T00:00:00+00:00", file=sys.stderr
        )
        return 2
    try:
        return asyncio.run(reapply(arguments, settings or PrivacySettings()))
    except ServiceError as refused:
        print(f"{COMMAND}: refused ({refused.code}): {refused.message}", file=sys.stderr)
        return 1


def dispatch(argv: Sequence[str] = sys.argv) -> None:
    """Run and exit when the command line is `reapply-erasures ...`; otherwise return."""
    if len(argv) > 1 and argv[1] == COMMAND:
        sys.exit(main(argv[2:]))
