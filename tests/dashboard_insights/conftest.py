"""Fixtures of the dashboard's order form, usage, policy and banner tests: one platform per
module (its partners keep the tests apart), and browsers audited after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from insights_support import InsightsWorld, NewBrowser, insights_world

from partner_dashboard.dashboard_support import Browser, audited_browsers


@pytest.fixture(scope="module")
async def world(amqp_url: str, mongo_url: str) -> AsyncIterator[InsightsWorld]:
    """The running platform with its two partners."""
    async with insights_world(amqp_url, mongo_url) as built:
        yield built


@pytest.fixture
async def signed_in(world: InsightsWorld) -> AsyncIterator[NewBrowser]:
    """Browsers signed in as a person (by email), their cookies audited when the test ends."""
    async with audited_browsers(world.url) as new_browser:

        async def as_person(email: str) -> Browser:
            browser = await new_browser()
            answer = await browser.log_in(email)
            assert answer.status == 303, answer.text
            return browser

        yield as_person
