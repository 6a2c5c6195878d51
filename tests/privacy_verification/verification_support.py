"""Helpers of the verification tests: reading the SMTP sink, fresh requests and addresses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from servicekit.ids import new_id
from support.processes import ServiceProcess, free_port
from support.waiting import eventually

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CODE_LINE = re.compile(r"^Your verification code: ([0-9]{6})$", re.MULTILINE)


@dataclass
class MailSink:
    """The dev stack's SMTP sink, read over its HTTP side."""

    url: str
    smtp_port: int

    async def messages(self) -> list[dict[str, Any]]:
        """Every message it received, oldest first."""
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/messages") as got:
            assert got.status == 200
            body: list[dict[str, Any]] = await got.json()
        return body

    async def mails_to(self, address: str) -> list[dict[str, Any]]:
        """The messages sent to one address, oldest first."""
        return [m for m in await self.messages() if address in m["to"]]

    async def codes_to(self, address: str, count: int) -> list[str]:
        """The codes of the first `count` mails to an address, waiting (bounded) for them."""

        async def arrived() -> list[dict[str, Any]]:
            mails = await self.mails_to(address)
            return mails if len(mails) >= count else []

        mails = await eventually(arrived, timeout=10, what=f"{count} mails to the subject")
        return [code_of(mail) for mail in mails[:count]]


def code_of(mail: dict[str, Any]) -> str:
    """The six-digit code in a verification mail's body."""
    found = CODE_LINE.search(mail["body"])
    assert found is not None, "no code line in the mail"
    return found.group(1)


def other_code(code: str) -> str:
    """A six-digit code that is not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def fresh_request() -> tuple[str, str]:
    """A new request id and a subject address of its own."""
    request_id = new_id("dsr")
    return request_id, f"subject.{request_id}@example.com"


def leaves(value: Any) -> list[Any]:
    """Every scalar inside a stored document (through subdocuments and arrays)."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


class RacingDb:
    """A database whose first `parties` reads of a document all wait for one another, so that
    racing checks all read the same state before any of them writes (a forced race)."""

    def __init__(self, db: Any, parties: int) -> None:
        self.db = db
        self.parties = parties
        self.reads = 0
        self.all_read = asyncio.Event()

    def __getitem__(self, name: str) -> RacingCollection:
        return RacingCollection(self, self.db[name])


class RacingCollection:
    """A collection whose `find_one` holds the first readers back until all have read."""

    def __init__(self, racing: RacingDb, collection: Any) -> None:
        self.racing = racing
        self.collection = collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        """Read, then (for the first `parties` readers) wait until every one of them has read."""
        found = await self.collection.find_one(*args, **kwargs)
        racing = self.racing
        if racing.reads < racing.parties:
            racing.reads += 1
            if racing.reads == racing.parties:
                racing.all_read.set()
            await asyncio.wait_for(racing.all_read.wait(), timeout=10)
        return found


@asynccontextmanager
async def running_mail_sink(log_dir: Path) -> AsyncIterator[MailSink]:
    """`python -m devstack smtp` on free ports (its output in `log_dir`), stopped on exit."""
    http_port, smtp_port = free_port(), free_port()
    process = ServiceProcess(
        ["-m", "devstack", "smtp"],
        {"HTTP_PORT": str(http_port), "SMTP_PORT": str(smtp_port)},
        log_dir / "smtp.log",
    )
    process.start()
    try:
        await process.wait_ready()
        yield MailSink(url=f"http://127.0.0.1:{http_port}", smtp_port=smtp_port)
    finally:
        process.stop()
