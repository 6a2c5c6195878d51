"""Fixtures of the accounts privacy tests: the whole accounts service (`create_service`) in a
fresh namespace, and a stand-in privacy service that sends it privacy commands and hears
their results, the inventory and the retention reports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from servicekit.settings import ServiceSettings
from support.accounts_owner import AccountsOwner
from support.services import fresh_namespace, running


@pytest.fixture
async def harness(amqp_url: str, mongo_url: str) -> AsyncIterator[AccountsOwner]:
    """Accounts and the stand-in privacy service, running; the sweep job waits an hour. Restrict
    commands go without their broadcast, so what they test is accounts' own handling."""
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "privacy"]) as base:
        harness = AccountsOwner.build(base, announces_restrictions=False)
        async with running(harness.caller, harness.service):  # the caller hears accounts start
            yield harness


@pytest.fixture
async def sweeping(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """A namespace for tests that start accounts themselves (the sweep job's own settings)."""
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "privacy"]) as base:
        yield base
