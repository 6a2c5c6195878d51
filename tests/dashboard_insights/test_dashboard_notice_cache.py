"""The banner's notice cache (bounded, short-lived) and a privacy service that does not
answer: no banner, a warning logged, and no second wait within the cache's time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from structlog.testing import capture_logs

from contracts.policy import PolicyNotice
from gateway.dashboard import notices
from gateway.dashboard.sessions import SessionGate
from gateway.dashboard.state import DASHBOARD, Dashboard
from servicekit.errors import RequestTimeout

NOTICE = PolicyNotice(
    version=2,
    summary="New processor",
    published_at=datetime(2026, 11, 1, tzinfo=UTC),
    effective_at=datetime(2026, 12, 1, tzinfo=UTC),
    notified_at=datetime(2026, 11, 1, tzinfo=UTC),
)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_answers_are_kept_for_their_time_and_the_least_recent_partner_goes_first() -> None:
    """An answer (a notice or none) is fresh for `ttl` seconds; a full cache drops the
    partner asked for least recently; `drop` forgets one partner."""
    clock = Clock()
    cache = notices.NoticeCache(ttl=30, size=2, clock=clock)
    cache.put("prt_a", NOTICE)
    cache.put("prt_b", None)
    assert cache.get("prt_a") == (True, NOTICE)  # a is now the most recent
    cache.put("prt_c", None)
    assert cache.get("prt_b") == (False, None)
    assert cache.get("prt_c") == (True, None)
    clock.now += 30
    assert cache.get("prt_a") == (False, None)
    cache.put("prt_a", NOTICE)
    cache.drop("prt_a")
    assert cache.get("prt_a") == (False, None)


class SilentBus:
    """A bus on which privacy never answers."""

    def __init__(self) -> None:
        self.asked = 0

    async def request(self, *_args: Any, **_options: Any) -> Any:
        self.asked += 1
        raise RequestTimeout("nobody answered")


async def test_a_privacy_service_that_does_not_answer_shows_no_banner() -> None:
    """No banner and a warning when privacy does not answer; the next page within the
    cache's time does not wait for privacy again."""
    bus = SilentBus()
    app = web.Application()
    app[DASHBOARD] = Dashboard(gate=SessionGate(bus, 1.0), cookies=None, verifier=None)  # type: ignore[arg-type]
    app[notices.NOTICES] = notices.NoticeCache()
    request = make_mocked_request("GET", "/dashboard/", app=app)
    with capture_logs() as logs:
        assert await notices.pending_for(request, "prt_quiet") is None
    assert [entry["event"] for entry in logs] == ["policy_notices_unavailable"]
    assert await notices.pending_for(request, "prt_quiet") is None
    assert bus.asked == 1
