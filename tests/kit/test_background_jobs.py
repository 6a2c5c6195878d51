"""A background job that ends while its service runs is logged and fails /healthz, so a
supervisor restarts the process instead of leaving it up with, say, a dead outbox relay."""

from __future__ import annotations

import asyncio

import aiohttp

from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import running
from support.waiting import eventually


async def test_a_job_that_fails_fails_the_liveness_probe(settings: ServiceSettings) -> None:
    """/healthz answers 200 while every job runs, and 503 naming the job once one failed."""
    failing = asyncio.Event()

    async def relay_like() -> None:
        await failing.wait()
        raise ConnectionError("store unreachable")

    service = Service.create("jobs", settings, stateless=True)
    service.background.append(relay_like)
    async with running(service) as servers, aiohttp.ClientSession() as session:
        health = f"http://127.0.0.1:{servers[0].port}/healthz"
        async with session.get(health) as response:
            assert response.status == 200
        failing.set()

        async def failing_probe() -> bool:
            async with session.get(health) as response:
                return response.status == 503

        await eventually(failing_probe, timeout=5, what="/healthz failing")
        async with session.get(health) as response:
            body = await response.json()
        assert body["status"] == "failing"
        assert [name.rsplit(".", 1)[-1] for name in body["stopped_jobs"]] == ["relay_like"]
