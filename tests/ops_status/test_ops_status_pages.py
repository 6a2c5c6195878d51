"""The ops status pages against real services and the real broker: status reports reach the
gateway's memory, traffic shows up as rates, a stopped process turns gone, a published sweep
appears on the retention page, and a partner's user is refused every page."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from ops_status_support import (
    ACTIVITY,
    OPS_EMAIL,
    PARTNER_EMAIL,
    RETENTION,
    TRAFFIC,
    StatusWorld,
    cell_number,
    row,
)

from contracts.retention import RetentionSwept
from partner_dashboard.dashboard_support import Browser
from servicekit.clock import utcnow
from servicekit.service import Service
from support.services import running
from support.waiting import eventually

SignIn = Callable[[str], Awaitable[Browser]]


async def test_reports_and_traffic_show_as_rates_and_a_stopped_process_turns_gone(
    world: StatusWorld, sign_in: SignIn
) -> None:
    """Requests through the gateway and a published message become rates above zero; the
    caller's process instance is listed live, a stopped one gone."""
    browser = await sign_in(OPS_EMAIL)

    async def both_reported() -> bool:
        text = (await browser.get(ACTIVITY)).text
        return "<td>tester</td>" in text and "<td>privacy</td>" in text

    # A rate is an increase between two reports: the message goes after a first report of
    # each, or a quick sign-in could let it into the first report, which no increase follows.
    await eventually(both_reported, timeout=10, what="tester and privacy reported")
    for _ in range(5):
        assert (await browser.get("/openapi.json")).status == 200
    await world.caller.bus.publish(
        RetentionSwept(service="accounts", swept_at=utcnow(), removed={"login_history": 3})
    )

    async def traffic_counted() -> str | None:
        page = await browser.get(TRAFFIC)
        assert page.status == 200, page.text
        return page.text if cell_number(page.text, "request-rate") > 0 else None

    traffic = await eventually(traffic_counted, timeout=10, what="gateway request rate")
    assert "bucket estimate" in traffic
    assert "style=" not in traffic

    async def published_and_consumed() -> str | None:
        text = (await browser.get(ACTIVITY)).text
        if "<td>tester</td>" not in text or "<td>privacy</td>" not in text:
            return None
        published = cell_number(row(text, "tester"), "published-rate")
        consumed = cell_number(row(text, "privacy"), "consumed-rate")
        return text if published > 0 and consumed > 0 else None

    activity = await eventually(published_and_consumed, timeout=10, what="message rates")
    assert world.caller.instance in activity
    assert '<svg class="chart"' in activity

    beta = Service.create("beta", world.caller.settings, stateless=True)
    async with running(beta):
        await eventually(
            lambda: _instance_state(browser, beta.instance, "live"), timeout=10, what="beta live"
        )
    await eventually(
        lambda: _instance_state(browser, beta.instance, "gone"), timeout=10, what="beta gone"
    )


async def _instance_state(browser: Browser, instance: str, state: str) -> bool:
    """Whether the activity page lists the instance in that state."""
    text = (await browser.get(ACTIVITY)).text
    found = re.search(rf"<code>{instance}</code>.*?</tr>", text, re.DOTALL)
    return found is not None and f">{state}</strong>" in found.group(0)


async def test_retention_page_shows_published_sweeps_and_flags_old_ones(
    world: StatusWorld, sign_in: SignIn
) -> None:
    """A fresh sweep is shown with its categories; a two-day-old one is flagged too old."""
    now = utcnow()
    await world.caller.bus.publish(
        RetentionSwept(service="logs", swept_at=now, removed={"api_request_logs": 42})
    )
    await world.caller.bus.publish(
        RetentionSwept(
            service="provisioning", swept_at=now - timedelta(days=2), removed={"esim_orders": 1}
        )
    )
    browser = await sign_in(OPS_EMAIL)

    async def both_shown() -> str | None:
        page = await browser.get(RETENTION)
        assert page.status == 200, page.text
        return (
            page.text
            if "<td>logs</td>" in page.text and "<td>provisioning</td>" in page.text
            else None
        )

    text = await eventually(both_shown, timeout=10, what="sweeps on the retention page")
    assert "sweep-ok" in row(text, "logs")
    assert "api_request_logs" in text
    assert "sweep-stale" in row(text, "provisioning")
    assert "sweeps-flagged" in text


async def test_a_partner_user_gets_403_on_the_status_pages(
    world: StatusWorld, sign_in: SignIn
) -> None:
    """A partner's user is refused the activity, traffic and retention pages."""
    browser = await sign_in(PARTNER_EMAIL)
    for path in (ACTIVITY, TRAFFIC, RETENTION):
        assert (await browser.get(path)).status == 403, path
