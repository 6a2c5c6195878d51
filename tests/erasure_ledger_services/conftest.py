"""Fixtures of the service-side erasure-ledger tests: accounts, provisioning and logs as their
`create_service` builds them, each with the stand-in privacy service of its own privacy tests
(whose support modules these tests reuse), which also hears `ErasureReapplied`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
for folder in ("accounts_privacy", "provisioning_privacy", "logs_privacy"):
    if str(TESTS / folder) not in sys.path:
        sys.path.append(str(TESTS / folder))

from logs_privacy_support import LogsHarness  # noqa: E402
from logs_privacy_support import build_harness as build_logs  # noqa: E402
from privacy_support import PrivacyHarness  # noqa: E402
from privacy_support import build_harness as build_accounts  # noqa: E402
from provisioning_privacy_support import Harness as ProvisioningHarness  # noqa: E402
from provisioning_privacy_support import build_harness as build_provisioning  # noqa: E402
from reapply_support import Reapplier  # noqa: E402

from support.services import fresh_namespace, running  # noqa: E402


@pytest.fixture
async def accounts(
    amqp_url: str, mongo_url: str
) -> AsyncIterator[tuple[PrivacyHarness, Reapplier]]:
    """Accounts and its stand-in privacy service, running."""
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "privacy"]) as base:
        harness = build_accounts(base)
        reapplier = Reapplier(harness.caller, "accounts")
        reapplier.listen()
        async with running(harness.caller, harness.service):
            yield harness, reapplier


@pytest.fixture
async def provisioning(
    amqp_url: str, mongo_url: str
) -> AsyncIterator[tuple[ProvisioningHarness, Reapplier]]:
    """Provisioning and its stand-in privacy service, running."""
    async with fresh_namespace(amqp_url, mongo_url, ["provisioning", "privacy"]) as base:
        harness = build_provisioning(base)
        reapplier = Reapplier(harness.caller, "provisioning")
        reapplier.listen()
        async with running(harness.caller, harness.service):
            yield harness, reapplier


@pytest.fixture
async def logs(amqp_url: str, mongo_url: str) -> AsyncIterator[tuple[LogsHarness, Reapplier]]:
    """The logs service and its stand-in privacy service, running."""
    async with fresh_namespace(amqp_url, mongo_url, ["logs", "privacy"]) as base:
        harness = build_logs(base)
        reapplier = Reapplier(harness.caller, "logs")
        reapplier.listen()
        async with running(harness.caller, harness.service):
            yield harness, reapplier
