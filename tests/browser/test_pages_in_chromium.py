"""The pages the platform serves today, opened in a real Chromium against the platform running
as processes: the gateway's API reference (`/docs`) and privacy's record of processing and
policy pages. Each page loads without a console error and fetches nothing from another origin."""

from __future__ import annotations

import aiohttp
from browsing import open_page, save_screenshot, wait_for_text, watch
from e2e_support import Platform
from playwright.async_api import Page, expect

from support.platform import DATA_OWNERS

OPERATION = "POST /v1/privacy/requests"
"""The operation whose contents link is followed: submitting a privacy request."""
OPERATION_ANCHOR = "op-post-v1-privacy-requests"


async def _api_title(platform: Platform) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{platform.gateway}/openapi.json") as response,
    ):
        assert response.status == 200
        document = await response.json()
    return str(document["info"]["title"])


async def test_docs_page_has_the_api_title_and_loads_only_from_the_gateway(
    page: Page, platform: Platform
) -> None:
    """/docs opens with the OpenAPI title, no console error, no request to another origin."""
    seen = watch(page)
    await open_page(page, f"{platform.gateway}/docs")
    assert await page.title() == await _api_title(platform)
    await expect(page.locator("nav#contents")).to_be_visible()
    assert f"{platform.gateway}/docs" in seen.requests
    assert seen.foreign_requests(platform.gateway) == []
    assert seen.errors() == []


async def test_contents_link_scrolls_to_the_operation(page: Page, platform: Platform) -> None:
    """Clicking an operation in the contents puts its anchor in the URL and its section on top."""
    seen = watch(page)
    await open_page(page, f"{platform.gateway}/docs")
    assert await page.evaluate("window.scrollY") == 0
    await page.locator("nav#contents").get_by_role("link", name=OPERATION, exact=True).click()
    section = page.locator(f"#{OPERATION_ANCHOR}")
    await expect(section).to_be_in_viewport()
    assert page.url == f"{platform.gateway}/docs#{OPERATION_ANCHOR}"
    assert await page.evaluate("window.scrollY") > 0
    box = await section.bounding_box()
    assert box is not None
    assert abs(box["y"]) <= 1, f"section not at the top: {box}"
    await expect(section.locator("h3")).to_contain_text(OPERATION.split()[1])
    await save_screenshot(page, "test_pages_in_chromium.docs-after-contents-link")
    assert seen.foreign_requests(platform.gateway) == []
    assert seen.errors() == []


async def test_record_of_processing_lists_every_data_owner(page: Page, platform: Platform) -> None:
    """privacy's record-of-processing page has a table for each data-owning service."""
    seen = watch(page)
    await open_page(page, f"{platform.url('privacy')}/record-of-processing.html")
    assert await page.title() == "Record of processing"
    for service in DATA_OWNERS:
        section = page.locator(f"section#service-{service}")
        await expect(section.locator("h2")).to_have_text(service)
        await expect(section.locator("tbody tr").first).to_be_visible()
    await save_screenshot(page, "test_pages_in_chromium.record-of-processing", full_page=True)
    assert seen.foreign_requests(platform.url("privacy")) == []
    assert seen.errors() == []


async def test_privacy_policy_is_a_page_for_browsers(page: Page, platform: Platform) -> None:
    """A browser asking for /privacy-policy gets the policy in force as HTML, with its date."""
    seen = watch(page)
    response = await open_page(page, f"{platform.url('privacy')}/privacy-policy")
    assert response.headers["content-type"].startswith("text/html")
    assert await page.title() == "Privacy Policy"
    await wait_for_text(page, "last updated February 2026")
    assert seen.foreign_requests(platform.url("privacy")) == []
    assert seen.errors() == []
