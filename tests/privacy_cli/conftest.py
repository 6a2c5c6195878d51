"""Fixtures of the command-line tests: a namespace with the real privacy service and the real
accounts, provisioning and logs services, running; one per module (each test opens requests
about its own subjects)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from ctl_support import Stack, create_stack

from contracts.privacy import RequestType
from support.privacy_owners import DATA_OWNERS, until_registered
from support.services import fresh_namespace, running


async def _stack(amqp_url: str, mongo_url: str, **privacy_overrides: Any) -> AsyncIterator[Stack]:
    async with fresh_namespace(amqp_url, mongo_url, [*DATA_OWNERS, "privacy"]) as base:
        stack, owners = create_stack(base, **privacy_overrides)
        async with running(stack.privacy, *owners):
            await until_registered(stack.db, DATA_OWNERS)
            yield stack


@pytest.fixture(scope="module")
async def stack(amqp_url: str, mongo_url: str) -> AsyncIterator[Stack]:
    """Privacy and the data owners: a request runs as soon as it is submitted."""
    async for running_stack in _stack(amqp_url, mongo_url):
        yield running_stack


@pytest.fixture(scope="module")
async def approving(amqp_url: str, mongo_url: str) -> AsyncIterator[Stack]:
    """Privacy (erasures wait for approval by ops; due soon within 40 days) and the data
    owners."""
    async for running_stack in _stack(
        amqp_url,
        mongo_url,
        privacy_approval_required=[RequestType.ERASURE],
        privacy_due_soon_days=40,
    ):
        yield running_stack
