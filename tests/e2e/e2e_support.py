"""Helpers for the end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from support.processes import ServiceProcess
from support.waiting import eventually


@dataclass
class Platform:
    """A running platform: its processes, URLs, the demo key and the namespace."""

    namespace: str
    env: dict[str, str]
    processes: dict[str, ServiceProcess]
    demo_key: str
    mongo_url: str

    def url(self, service: str) -> str:
        """Base URL of a service's HTTP server."""
        return f"http://127.0.0.1:{self.processes[service].port}"

    @property
    def gateway(self) -> str:
        """Base URL of the partners' API."""
        return self.url("gateway")

    def database(self, service: str) -> str:
        """Name of a service's database."""
        return f"{self.namespace}_{service}"

    def all_output(self) -> str:
        """Everything every service printed."""
        return "\n".join(process.output() for process in self.processes.values())


async def poll_request(api: aiohttp.ClientSession, request_id: str) -> dict[str, Any]:
    """Poll a privacy request until it leaves `in_progress` (bounded)."""

    async def finished() -> dict[str, Any] | None:
        async with api.get(f"/v1/privacy/requests/{request_id}") as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
        return body if body["status"] != "in_progress" else None

    return await eventually(finished, timeout=30, interval=0.2, what=f"{request_id} finished")


async def add_api_key(
    platform: Platform,
    db: Any,
    *,
    partner_id: str,
    scopes: list[str],
    name: str = "test key",
) -> str:
    """Store a new test-mode API key for a partner (as accounts' seed does); return the key."""
    from accounts import apikeys
    from servicekit.clock import utcnow

    key, parsed = apikeys.generate("test")
    await db[platform.database("accounts")]["api_keys"].insert_one(
        {
            "_id": parsed.key_id,
            "partner_id": partner_id,
            "prefix": parsed.prefix,
            "mode": parsed.mode,
            "scopes": scopes,
            "secret_hmac": apikeys.secret_digest(parsed.secret, platform.env["API_KEY_PEPPER"]),
            "created_at": utcnow(),
            "name": name,
        }
    )
    return key
