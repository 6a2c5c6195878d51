"""Rate limits per API key: a token bucket per key, shared by the gateway's replicas.

Each replica keeps its own buckets and, every `share_seconds`, broadcasts how many tokens each
key spent on it since its last report (`gateway.rate_limit_spent.v1`); every other replica
takes those tokens out of its own bucket for that key. A key is so limited in total however a
load balancer spreads its requests, overshooting at most by what the other replicas let
through within one report interval. No store is involved: a lost report only lets a few more
requests through, and a restarted replica starts with full buckets.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from contracts.gateway import MAX_SPENT_KEYS, RateLimitSpent
from servicekit.bus import Bus
from servicekit.messages import MessageContext

log = structlog.get_logger("gateway.ratelimit")


@dataclass
class Bucket:
    """A key's tokens at the moment they were last counted."""

    tokens: float
    counted_at: float


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and what its rate-limit headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    """Until the bucket is full again."""
    retry_after: int
    """Until the next request may go on (0 when this one may)."""

    def headers(self) -> dict[str, str]:
        """`RateLimit-*` headers (IETF httpapi draft), and `Retry-After` when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Token buckets per API key: `burst` tokens at most, refilled at `per_second`."""

    def __init__(
        self, *, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.burst = burst
        self.clock = clock
        self.replica = secrets.token_hex(6)
        self._buckets: dict[str, Bucket] = {}
        self._unreported: dict[str, int] = {}

    def take(self, key_id: str) -> Verdict:
        """Spend one of the key's tokens if it has one."""
        bucket = self._refilled(key_id)
        allowed = bucket.tokens >= 1
        if allowed:
            bucket.tokens -= 1
            self._unreported[key_id] = self._unreported.get(key_id, 0) + 1
        missing = self.burst - bucket.tokens
        return Verdict(
            allowed=allowed,
            limit=self.burst,
            remaining=max(0, math.floor(bucket.tokens)),
            reset_seconds=math.ceil(missing / self.per_second),
            retry_after=0 if allowed else math.ceil((1 - bucket.tokens) / self.per_second),
        )

    def spent_elsewhere(self, key_id: str, tokens: int) -> None:
        """Take tokens another replica spent; a debt is bounded by one burst."""
        bucket = self._refilled(key_id)
        bucket.tokens = max(-self.burst, bucket.tokens - tokens)

    async def on_spent(self, event: RateLimitSpent, _context: MessageContext) -> None:
        """Another replica's report (this replica's own is ignored)."""
        if event.replica == self.replica:
            return
        for key_id, tokens in event.spent.items():
            self.spent_elsewhere(key_id, tokens)

    def reports(self) -> list[RateLimitSpent]:
        """What this replica spent since the last call, in events of bounded size."""
        spent = list(self._unreported.items())
        self._unreported.clear()
        return [
            RateLimitSpent(replica=self.replica, spent=dict(spent[i : i + MAX_SPENT_KEYS]))
            for i in range(0, len(spent), MAX_SPENT_KEYS)
        ]

    def tracked_keys(self) -> list[str]:
        """The keys whose bucket is held in memory."""
        return sorted(self._buckets)

    def forget_full(self) -> None:
        """Drop the buckets that have refilled: a full bucket is the same as none."""
        now = self.clock()
        full = [
            key_id
            for key_id, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.counted_at) * self.per_second >= self.burst
        ]
        for key_id in full:
            del self._buckets[key_id]

    async def share(self, bus: Bus, every_seconds: float) -> None:
        """Report this replica's spending to the others, forever."""
        while True:
            await asyncio.sleep(every_seconds)
            self.forget_full()
            try:
                for report in self.reports():
                    await bus.publish(report)
            except Exception as failure:  # a lost report lets a few more requests through
                log.warning("rate_limit_report_failed", error=repr(failure))

    def _refilled(self, key_id: str) -> Bucket:
        now = self.clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._buckets[key_id] = Bucket(tokens=float(self.burst), counted_at=now)
            return bucket
        elapsed = max(0.0, now - bucket.counted_at)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.per_second)
        bucket.counted_at = now
        return bucket
