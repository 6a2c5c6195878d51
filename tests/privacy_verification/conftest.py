"""Fixtures of the verification tests: the dev stack's SMTP sink as a real process, a mailer
sending to it, and a fresh database of one test on the real store server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from verification_support import MailSink, running_mail_sink

from servicekit.mail import Mailer, MailSettings
from support.processes import free_port


@pytest.fixture(scope="module")
async def mail_sink(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MailSink]:
    """`python -m devstack smtp` on free ports, stopped after the module's tests."""
    async with running_mail_sink(tmp_path_factory.mktemp("smtp")) as sink:
        yield sink


@pytest.fixture
def mailer(mail_sink: MailSink) -> Mailer:
    """A mailer that delivers to the sink."""
    return Mailer(MailSettings(host="127.0.0.1", port=mail_sink.smtp_port))


@pytest.fixture
def dead_mailer() -> Mailer:
    """A mailer aimed at a port where no SMTP server listens."""
    return Mailer(MailSettings(host="127.0.0.1", port=free_port(), timeout_seconds=5))


@pytest.fixture
async def db(mongo_url: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A fresh database, dropped after the test."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    name = f"verification_{uuid.uuid4().hex[:12]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()
