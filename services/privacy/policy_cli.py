"""`python -m privacy publish-policy FILE --effective YYYY-MM-DD [--material] --summary "..."`.

Publishes a privacy-policy version through the running privacy service, as the platform
(whoever can run this holds the platform's configuration). Prints the version it stored; a
refusal (e.g. a material change with less than 30 days' notice) exits 1 with its reason.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from contracts.accounts import Actor
from contracts.policy import PolicyVersionView, PublishPolicy
from privacy.settings import PrivacySettings
from servicekit.bus import Bus
from servicekit.errors import ServiceError
from servicekit.topology import Topology

COMMAND = "publish-policy"
CLI_ACTOR = Actor(kind="platform", id="privacy-cli")


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog=f"python -m privacy {COMMAND}", description="Publish a privacy-policy version."
    )
    parser.add_argument("file", type=Path, help="the policy text, markdown")
    parser.add_argument(
        "--effective", type=date.fromisoformat, required=True, help="YYYY-MM-DD (UTC)"
    )
    parser.add_argument(
        "--material", action="store_true", help="a material change: 30 days' notice, emails"
    )
    parser.add_argument("--summary", required=True, help="what changed, in a few words")
    return parser


async def publish(request: PublishPolicy, settings: PrivacySettings) -> PolicyVersionView:
    """Ask the privacy service to publish the version."""
    bus = Bus(url=settings.amqp_url, topology=Topology(settings.bus_namespace), service="cli")
    await bus.connect()
    try:
        return await bus.request(
            request, to="privacy", reply=PolicyVersionView, timeout=settings.query_timeout_seconds
        )
    finally:
        await bus.close()


def main(argv: Sequence[str], settings: PrivacySettings | None = None) -> int:
    """Run the command; the exit code."""
    arguments = parser().parse_args(argv)
    effective = arguments.effective
    request = PublishPolicy(
        actor=CLI_ACTOR,
        text=arguments.file.read_text(encoding="utf-8"),
        effective_at=datetime(effective.year, effective.month, effective.day, tzinfo=UTC),
        material=arguments.material,
        summary=arguments.summary,
    )
    try:
        version = asyncio.run(publish(request, settings or PrivacySettings()))
    except ServiceError as refused:
        print(f"privacy: not published ({refused.code}): {refused.message}", file=sys.stderr)
        return 1
    print(
        f"privacy: published version {version.version}, effective"
        f" {version.effective_at.date().isoformat()}, material={version.material}"
    )
    return 0


def dispatch(argv: Sequence[str] = sys.argv) -> None:
    """Run and exit when the command line is `publish-policy ...`; otherwise return."""
    if len(argv) > 1 and argv[1] == COMMAND:
        sys.exit(main(argv[2:]))
