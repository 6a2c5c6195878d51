"""Rate limits per API key through real gateway processes: headers on every answer, a 429
problem with `Retry-After` once the key's bucket is empty, other keys untouched, and one limit
across two replicas however the requests are spread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from e2e_support import Platform, add_api_key

from support.processes import ServiceProcess, free_port

PROBLEM_JSON = "application/problem+json"
BURST = 5
PER_SECOND = 0.5
LIMITS = {
    "RATE_LIMIT_PER_SECOND": str(PER_SECOND),
    "RATE_LIMIT_BURST": str(BURST),
    "RATE_LIMIT_SHARE_SECONDS": "0.1",
}


@pytest.fixture(scope="module")
async def limited_gateways(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[str]]:
    """Two gateway replicas on the platform's namespace with a small limit; their base URLs."""
    logs = tmp_path_factory.mktemp("limited-gateways")
    processes = [
        ServiceProcess(
            ["-m", "gateway"],
            {**platform.env, **LIMITS, "HTTP_PORT": str(free_port())},
            logs / f"gateway-{n}.log",
        )
        for n in (1, 2)
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            await process.wait_ready()
        yield [f"http://127.0.0.1:{process.port}" for process in processes]
    finally:
        for process in processes:
            process.stop()


async def ping(base_url: str, key: str) -> aiohttp.ClientResponse:
    """GET /v1/ping with the key; the response, its body read."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as client,
        client.get(f"{base_url}/v1/ping") as response,
    ):
        await response.read()
        return response


async def test_a_key_past_its_burst_gets_a_429_with_when_to_retry(
    platform: Platform, db: object, limited_gateways: list[str]
) -> None:
    """Five pings pass with `RateLimit-Remaining` 4 down to 0; the sixth is a 429
    `rate_limited` problem with `Retry-After`; another key of the same partner still passes."""
    key = await add_api_key(platform, db, partner_id="ptn_demo", scopes=[])
    gateway = limited_gateways[0]
    passed = [await ping(gateway, key) for _ in range(BURST)]
    assert [r.status for r in passed] == [200] * BURST
    assert [r.headers["RateLimit-Remaining"] for r in passed] == ["4", "3", "2", "1", "0"]
    assert {r.headers["RateLimit-Limit"] for r in passed} == {str(BURST)}
    refused = await ping(gateway, key)
    assert refused.status == 429
    assert refused.content_type == PROBLEM_JSON
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"
    other = await add_api_key(platform, db, partner_id="ptn_demo", scopes=[])
    assert (await ping(gateway, other)).status == 200


async def test_one_limit_holds_across_replicas(
    platform: Platform, db: object, limited_gateways: list[str]
) -> None:
    """Pings alternating between two replicas, one every 0.2 s for 3 s, pass about as often
    as the limit allows in total (5 at once plus 0.5 a second), not twice that: each replica
    hears what the key spent on the other."""
    key = await add_api_key(platform, db, partner_id="ptn_demo", scopes=[])
    statuses = []
    for n in range(15):
        statuses.append((await ping(limited_gateways[n % 2], key)).status)
        await asyncio.sleep(0.2)  # the load's pace, not a wait for a condition
    allowed = statuses.count(200)
    print(f"{allowed} of 15 pings passed across two replicas: {statuses}")
    assert set(statuses) == {200, 429}
    alone = BURST + PER_SECOND * 3.0
    assert BURST <= allowed <= alone + 2  # without sharing, about 2 * alone would pass
