"""The rate limiter's token buckets: a burst, refill over time, spending reported by other
replicas, bounded reports, and forgetting refilled buckets."""

from __future__ import annotations

from contracts.gateway import MAX_SPENT_KEYS, RateLimitSpent
from gateway.ratelimit import RateLimiter
from servicekit.messages import MessageContext


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, per_second: float = 2, burst: int = 4) -> RateLimiter:
    """A limiter on the test's clock."""
    return RateLimiter(per_second=per_second, burst=burst, clock=clock)


def context() -> MessageContext:
    """The context a broadcast handler gets (unused by the limiter)."""
    return MessageContext(
        message_id="m1",
        correlation_id="c1",
        type=RateLimitSpent.TYPE,
        producer="gateway",
        attempt=1,
        final_attempt=True,
    )


def test_a_key_may_spend_its_burst_then_is_told_when_to_retry() -> None:
    """Four requests at once pass with 3, 2, 1, 0 remaining; the fifth is refused, to retry
    after the half second one token takes at two per second (rounded up to 1 s)."""
    clock = Clock()
    limits = limiter(clock)
    passed = [limits.take("key_a") for _ in range(4)]
    assert [v.remaining for v in passed] == [3, 2, 1, 0]
    assert all(v.allowed for v in passed)
    refused = limits.take("key_a")
    assert not refused.allowed
    assert refused.headers() == {
        "RateLimit-Limit": "4",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "2",
        "Retry-After": "1",
    }
    assert "Retry-After" not in passed[0].headers()


def test_tokens_come_back_with_time_and_keys_are_apart() -> None:
    """After an empty bucket, one second at two per second gives two requests; another key
    never shared the first one's bucket."""
    clock = Clock()
    limits = limiter(clock)
    for _ in range(4):
        limits.take("key_a")
    assert limits.take("key_b").allowed
    clock.now += 1.0
    assert [limits.take("key_a").allowed for _ in range(3)] == [True, True, False]


async def test_spending_on_other_replicas_counts_but_not_the_replicas_own_report() -> None:
    """A report from another replica takes its tokens here; this replica's own report, heard
    back by broadcast, is ignored."""
    clock = Clock()
    here, there = limiter(clock), limiter(clock)
    for _ in range(3):
        assert there.take("key_a").allowed
    (report,) = there.reports()
    assert report.spent == {"key_a": 3}
    await here.on_spent(report, context())
    assert [here.take("key_a").allowed for _ in range(2)] == [True, False]
    (own,) = here.reports()
    await here.on_spent(own, context())
    clock.now += 0.5
    assert here.take("key_a").allowed


def test_a_debt_from_other_replicas_is_bounded_by_one_burst() -> None:
    """However much other replicas report, a bucket is back to full after two bursts' time."""
    clock = Clock()
    limits = limiter(clock)
    limits.spent_elsewhere("key_a", 1000)
    assert not limits.take("key_a").allowed
    clock.now += 4.0  # from -4 to +4 tokens at 2 per second
    assert limits.take("key_a").remaining == 3


def test_reports_are_cleared_once_taken_and_split_when_large() -> None:
    """Every key spent is reported once; more keys than one report holds make several."""
    clock = Clock()
    limits = limiter(clock)
    for n in range(MAX_SPENT_KEYS + 1):
        limits.take(f"key_{n}")
    reports = limits.reports()
    assert [len(r.spent) for r in reports] == [MAX_SPENT_KEYS, 1]
    assert limits.reports() == []


def test_refilled_buckets_are_forgotten() -> None:
    """A bucket that has refilled is dropped (memory stays bounded); one still refilling is
    kept, so forgetting never hands out extra tokens."""
    clock = Clock()
    limits = limiter(clock)
    for _ in range(4):
        limits.take("key_a")
    limits.take("key_b")
    clock.now += 1.0  # key_b full again (3 + 2), key_a at 2 of 4
    limits.forget_full()
    assert limits.tracked_keys() == ["key_a"]
    assert [limits.take("key_a").allowed for _ in range(3)] == [True, True, False]
