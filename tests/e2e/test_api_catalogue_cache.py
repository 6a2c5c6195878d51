"""The gateway answers repeated catalogue pages from memory for a few seconds: the same page
again without asking provisioning, a different page asked for afresh."""

from __future__ import annotations

import aiohttp
from e2e_support import Platform

from contracts.catalogue import ListPackages


async def _pages_answered(platform: Platform) -> float:
    """How many catalogue pages provisioning has answered (its `/metrics`: the handler's
    latency histogram counts every answer)."""
    wanted = f'type="{ListPackages.TYPE}"'
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{platform.url('provisioning')}/metrics") as response,
    ):
        text = await response.text()
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("bus_handler_seconds_count") and wanted in line
    ]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


async def test_a_repeated_catalogue_page_is_answered_from_memory(
    platform: Platform, api: aiohttp.ClientSession
) -> None:
    """Two identical GETs within the cache's 5 seconds cost provisioning one query, with the
    same body; another page size is a query of its own."""
    before = await _pages_answered(platform)
    bodies = []
    for _ in range(2):
        async with api.get("/v1/packages", params={"limit": "7"}) as response:
            assert response.status == 200, await response.text()
            bodies.append(await response.json())
    assert bodies[0] == bodies[1]
    assert len(bodies[0]["data"]) == 7
    assert await _pages_answered(platform) == before + 1
    async with api.get("/v1/packages", params={"limit": "8"}) as response:
        assert response.status == 200
    assert await _pages_answered(platform) == before + 2
