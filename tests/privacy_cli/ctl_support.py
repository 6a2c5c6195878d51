"""Helpers of the command-line tests: the privacy service with the real data owners, and the
command line run against it, in-process (fast) or as `python -m privacy` (the real thing)."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

from privacy import ctl, store
from privacy.app import create_service as create_privacy
from privacy.settings import PrivacySettings
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.privacy_owners import Db, data_owners, privacy_settings
from support.processes import Run, run_module

CLI_TIMEOUT_S = 90.0
QUERY_TIMEOUT_S = 15.0
OPERATOR = "ops-tester"


@dataclass
class Stack:
    """The running privacy service and the settings the command line runs with."""

    privacy: Service
    settings: PrivacySettings

    @property
    def db(self) -> Db:
        """The privacy service's database."""
        return self.privacy.db

    async def request_count(self) -> int:
        """How many requests the privacy service holds."""
        return await self.db[store.REQUESTS].count_documents({})

    async def request(self, request_id: str) -> dict[str, Any]:
        """One stored request."""
        document = await self.db[store.REQUESTS].find_one({"_id": request_id})
        assert document is not None
        return document


def create_stack(base: ServiceSettings, **privacy_overrides: Any) -> tuple[Stack, list[Service]]:
    """The privacy service (with these settings) and the data owners, not started yet."""
    settings = privacy_settings(base, query_timeout_seconds=QUERY_TIMEOUT_S, **privacy_overrides)
    return Stack(create_privacy(settings), settings), data_owners(base)


async def ctl_run(settings: PrivacySettings, *argv: str) -> Run:
    """Run `privacyctl <argv>` in-process (in a thread: it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.wait_for(
        asyncio.to_thread(ctl.main, list(argv), settings, out=out, errors=err), CLI_TIMEOUT_S
    )
    return Run(code, out.getvalue(), err.getvalue())


async def ctl_process(settings: PrivacySettings, *argv: str) -> Run:
    """Run `python -m privacy <argv>` as its own process with the namespace's environment."""
    env = {
        "AMQP_URL": settings.amqp_url,
        "MONGO_URL": settings.mongo_url,
        "BUS_NAMESPACE": settings.bus_namespace,
        "QUERY_TIMEOUT_SECONDS": str(QUERY_TIMEOUT_S),
        "USER": OPERATOR,
    }
    return await run_module("privacy", argv, env, CLI_TIMEOUT_S)


async def submit_erasure(settings: PrivacySettings, email: str) -> dict[str, Any]:
    """Open an erasure through the command line; the request's view as JSON."""
    run = await ctl_run(
        settings, "submit", "--type", "erasure", "--email", email, "--by", OPERATOR, "--json"
    )
    assert run.code == 0, run.err
    view: dict[str, Any] = run.json()
    return view
