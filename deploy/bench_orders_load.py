"""The load of `bench_orders`: concurrent clients buying one eSIM each through the gateway."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import datetime
from typing import Any

import aiohttp
from bench_orders_stats import Sample

PROGRESS_EVERY_S = 2.0


def say(message: str) -> None:
    """Progress, on stderr (stdout is the report)."""
    print(message, file=sys.stderr, flush=True)


async def place_one(
    session: aiohttp.ClientSession, package: str, end_user: dict[str, str] | None = None
) -> Sample:
    """One order of one eSIM (for `end_user` if given), timed from sending the request to
    reading the whole answer."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    order: dict[str, Any] = {"package_id": package}
    if end_user is not None:
        order["end_user"] = end_user
    sent_at, started = time.time(), time.perf_counter()
    try:
        async with session.post("/v1/orders", json=order, headers=headers) as response:
            body: dict[str, Any] = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as failure:
        seconds = time.perf_counter() - started
        return Sample(0, seconds, sent_at, sent_at + seconds, error=repr(failure)[:200])
    seconds = time.perf_counter() - started
    steps = {
        step["step"]: _epoch(step["at"]) for step in body.get("transitions", []) if "at" in step
    }
    error = None if status == 201 else str(body.get("code") or body.get("status") or body)[:200]
    return Sample(
        status,
        seconds,
        sent_at,
        sent_at + seconds,
        body.get("status"),
        steps,
        error=error,
        order_id=body.get("id"),
    )


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


async def place_orders(
    session: aiohttp.ClientSession, package: str, count: int, concurrency: int, label: str
) -> tuple[list[Sample], float]:
    """`count` orders from `concurrency` clients; the samples and the seconds it took."""
    samples: list[Sample] = []
    remaining = iter(range(count))

    async def client() -> None:
        for _ in remaining:
            samples.append(await place_one(session, package))

    async def progress() -> None:
        last = 0
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            done = len(samples)
            rate = (done - last) / PROGRESS_EVERY_S
            say(f"  {label}: {done}/{count} answered, {rate:.0f}/s over the last 2 s")
            last = done

    started = time.perf_counter()
    reporter = asyncio.create_task(progress())
    try:
        await asyncio.gather(*(client() for _ in range(min(concurrency, count))))
    finally:
        reporter.cancel()
    return samples, time.perf_counter() - started
