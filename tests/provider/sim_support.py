"""The provider simulator as a real process, and helpers to drive its admin API."""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from support.processes import ServiceProcess, free_port


def webhook_secret() -> str:
    """A fresh Standard Webhooks secret (`whsec_` + base64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Simulator:
    """A running simulator: its URL and its admin API."""

    def __init__(self, process: ServiceProcess) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{process.port}"

    async def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Call the admin API; the status and the JSON answer."""
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path, json=body) as response,
        ):
            return response.status, await response.json()

    async def configure(self, **values: float) -> None:
        """Change fault settings (`failure_rate`, `timeout_rate`, latency)."""
        status, _ = await self.admin("POST", "/_sim/config", values)
        assert status == 200

    async def free(self) -> int:
        """How many ICCIDs the pool still holds."""
        _, body = await self.admin("GET", "/_sim/pool")
        return int(body["free"])

    async def received(self) -> list[dict[str, Any]]:
        """Every request the provider API received."""
        _, body = await self.admin("GET", "/_sim/received")
        requests: list[dict[str, Any]] = body["requests"]
        return requests


@contextlib.asynccontextmanager
async def simulator(logs: Path, **settings: str) -> AsyncIterator[Simulator]:
    """Start `python -m providersim` on a free port (`HTTP_PORT`, as the dev stack sets it) with
    `PROVIDERSIM_*` settings; stop it after."""
    env = {
        "HTTP_PORT": str(free_port()),
        "PROVIDERSIM_LATENCY_MIN_MS": "0",
        "PROVIDERSIM_LATENCY_MAX_MS": "5",
        "PROVIDERSIM_SEED": "7",
        **{f"PROVIDERSIM_{name.upper()}": value for name, value in settings.items()},
    }
    process = ServiceProcess(["-m", "providersim"], env, logs)
    process.start()
    try:
        await process.wait_ready()
        yield Simulator(process)
    finally:
        process.stop()
