"""The API usage page: the partner's own requests only (totals, charts per day, a table per
endpoint), for the roles that would grant `usage:read`, of 7, 30 or 90 days."""

from __future__ import annotations

import re

import aiohttp
from insights_support import InsightsWorld, NewBrowser

from contracts.accounts import Scope
from partner_dashboard.dashboard_support import OWNER_EMAIL, VIEWER_EMAIL, Answer, Browser
from support.waiting import eventually

USAGE = "/dashboard/usage"
_TOTAL_REQUESTS = re.compile(
    r'<table class="usage-totals">.*?<tbody>\s*<tr>\s*<td>(\d+)</td>', re.S
)


async def _call(world: InsightsWorld, key: str, paths: list[str]) -> None:
    """GET each API path with the key (any status)."""
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(base_url=world.url, headers=headers) as api:
        for path in paths:
            async with api.get(path) as answer:
                assert answer.status in {200, 404}, await answer.text()


async def _page_with(owner: Browser, requests: int) -> Answer:
    """The usage page once it counts `requests` requests (the gateway ships them each second)."""

    async def counted() -> Answer | None:
        page = await owner.get(USAGE)
        found = _TOTAL_REQUESTS.search(page.text)
        return page if found and int(found.group(1)) == requests else None

    return await eventually(counted, what=f"{requests} requests on the usage page")


async def test_the_usage_page_shows_the_partners_own_requests_with_charts(
    world: InsightsWorld, signed_in: NewBrowser
) -> None:
    """Four calls of the partner (one a 404) are counted per endpoint and charted per day;
    another partner's calls are not shown."""
    own = await world.api_key(world.partner.id, Scope.ORDERS_READ, Scope.USAGE_READ)
    other = await world.api_key(world.other.id, Scope.ESIMS_READ)
    await _call(world, other, ["/v1/esims", "/v1/esims"])
    await _call(world, own, ["/v1/orders", "/v1/orders", "/v1/orders", "/v1/orders/ord_nope"])
    owner = await signed_in(OWNER_EMAIL)
    page = await _page_with(owner, 4)
    assert page.status == 200
    assert "<code>GET /v1/orders</code>" in page.text
    assert "<code>GET /v1/orders/{id}</code>" in page.text
    assert "/v1/esims" not in page.text
    assert "25.0 %" in page.text  # one error in four requests
    assert page.text.count('<svg class="chart"') == 3
    for title in ("Requests per day", "Errors (4xx and 5xx) per day", "p99 response time per day"):
        assert f"<title>{title}</title>" in page.text
    week = await owner.get(f"{USAGE}?days=7")
    assert week.status == 200
    assert "last 7 days" in week.text


async def test_a_bad_period_and_a_viewer_are_refused(signed_in: NewBrowser) -> None:
    """`?days=` other than 7, 30 or 90 is a 400 page; a viewer gets a 403 page."""
    owner = await signed_in(OWNER_EMAIL)
    for days in ("8", "abc", "-7", "³", "9" * 5000):
        answer = await owner.get(f"{USAGE}?days={days}")
        assert answer.status == 400, days
        assert "7, 30 or 90 days" in answer.text
    viewer = await signed_in(VIEWER_EMAIL)
    assert (await viewer.get(USAGE)).status == 403
