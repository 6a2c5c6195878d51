"""A duplicate of an open data-subject request is linked to it, not run twice."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
from e2e_support import Platform, poll_request


async def submit(api: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any]:
    """Open a request through the API; its view."""
    async with api.post("/v1/privacy/requests", json=body) as response:
        assert response.status == 202, await response.text()
        opened: dict[str, Any] = await response.json()
    return opened


async def test_duplicates_of_an_open_request_are_linked(
    platform: Platform, api: aiohttp.ClientSession
) -> None:
    """Two identical requests at once are one request; once it is closed, the same request
    runs again; another type for the same subject is a request of its own."""
    body = {"type": "access", "subject": {"email": f"dup-{uuid.uuid4().hex[:8]}@example.com"}}
    first, twin = await asyncio.gather(submit(api, body), submit(api, body))
    assert twin["id"] == first["id"]
    other = await submit(api, {**body, "type": "erasure"})
    assert other["id"] != first["id"]
    assert (await poll_request(api, first["id"]))["status"] == "completed"
    await poll_request(api, other["id"])
    again = await submit(api, body)
    assert again["id"] != first["id"]
    await poll_request(api, again["id"])
