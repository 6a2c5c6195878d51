"""Fixtures of the service-side erasure-ledger tests: accounts, provisioning and logs as their
`create_service` builds them, each with a stand-in privacy service (tests/support), which
also hears `ErasureReapplied`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest
from reapply_support import Reapplier

from servicekit.settings import ServiceSettings
from support.accounts_owner import AccountsOwner
from support.logs_owner import LogsOwner
from support.privacy_standin import OwnerUnderTest
from support.provisioning_owner import ProvisioningOwner
from support.services import fresh_namespace, running

Owner = TypeVar("Owner", bound=OwnerUnderTest)


@asynccontextmanager
async def _running(
    amqp_url: str, mongo_url: str, name: str, build: Callable[[ServiceSettings], Owner]
) -> AsyncIterator[tuple[Owner, Reapplier]]:
    """The owner `name` and its stand-in privacy service in a fresh namespace, running."""
    async with fresh_namespace(amqp_url, mongo_url, [name, "privacy"]) as base:
        owner = build(base)
        reapplier = Reapplier(owner.caller, name)
        reapplier.listen()
        async with running(owner.caller, owner.service):
            yield owner, reapplier


@pytest.fixture
async def accounts(amqp_url: str, mongo_url: str) -> AsyncIterator[tuple[AccountsOwner, Reapplier]]:
    """Accounts and its stand-in privacy service, running."""
    async with _running(amqp_url, mongo_url, "accounts", AccountsOwner.build) as started:
        yield started


@pytest.fixture
async def provisioning(
    amqp_url: str, mongo_url: str
) -> AsyncIterator[tuple[ProvisioningOwner, Reapplier]]:
    """Provisioning and its stand-in privacy service, running."""
    async with _running(amqp_url, mongo_url, "provisioning", ProvisioningOwner.build) as started:
        yield started


@pytest.fixture
async def logs(amqp_url: str, mongo_url: str) -> AsyncIterator[tuple[LogsOwner, Reapplier]]:
    """The logs service and its stand-in privacy service, running."""
    async with _running(amqp_url, mongo_url, "logs", LogsOwner.build) as started:
        yield started
