"""A partner's day in the dashboard, in the system Chromium against the platform running as
processes: log in as the demo owner, create an API key (shown once), place an order, open an
access request for the order's end user and watch it complete, download its export, open an
erasure for that end user and watch it complete, log out. A screenshot of every step is kept
in test-artifacts/screenshots/."""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from pathlib import Path

from browsing import fill_form, log_in, open_page, save_screenshot, wait_for_text
from e2e_support import Platform
from playwright.async_api import Page, expect

from accounts.seed import DEMO_OWNER_EMAIL
from support.waiting import eventually

NAME = "test_partner_journey"
COMPLETED = re.compile(r"^completed")
"""A request's final good states: completed, or completed with exceptions (data kept by law)."""
WATCH_MS = 30_000
"""How long a request's self-refreshing page is watched until it shows completion."""


async def _step(page: Page, number: int, what: str) -> None:
    await save_screenshot(page, f"{NAME}.{number:02d}-{what}", full_page=True)


async def _create_api_key(page: Page, platform: Platform) -> str:
    await open_page(page, f"{platform.gateway}/dashboard/api-keys")
    await page.get_by_label("Name", exact=True).fill("Journey key")
    await page.get_by_label("orders:read", exact=True).check()
    await page.get_by_role("button", name="Create key", exact=True).click()
    await wait_for_text(page, "Copy this key now.")
    return await page.locator("#new-api-key").inner_text()


async def _place_order(page: Page, platform: Platform, reference: str) -> None:
    await open_page(page, f"{platform.gateway}/dashboard/orders/new")
    await fill_form(page, {"Quantity": "1", "End-user reference": reference}, submit="Place order")
    await page.wait_for_url(re.compile(r"/dashboard/orders/ord_[0-9a-z]+$"))

    async def completed() -> bool:
        await page.reload()
        return await page.get_by_text("completed", exact=True).count() > 0

    await eventually(completed, timeout=30, interval=0.5, what="the order completed")


async def _open_request(page: Page, platform: Platform, kind: str, reference: str) -> None:
    """Open a request for the end user, then watch its page (it refreshes itself) until the
    request completed."""
    await open_page(page, f"{platform.gateway}/dashboard/privacy/new")
    await page.get_by_label("Type", exact=True).select_option(kind)
    await fill_form(page, {"End-user reference": reference}, submit="Open the request")
    await page.wait_for_url(re.compile(r"/dashboard/privacy/dsr_[0-9a-z]+$"))
    await expect(page.locator("dd.request-status")).to_have_text(COMPLETED, timeout=WATCH_MS)


async def _download_export(page: Page, tmp_path: Path) -> zipfile.ZipFile:
    async with page.expect_download() as started:
        await page.get_by_role("link", name="Download export", exact=True).click()
    download = await started.value
    assert download.suggested_filename.endswith(".zip")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    return zipfile.ZipFile(io.BytesIO(saved.read_bytes()))


async def test_a_partner_journey_through_the_dashboard(
    page: Page, platform: Platform, tmp_path: Path
) -> None:
    """Log in, key, order, access request with its export, erasure, log out: each step works
    in a real browser, and after logging out the dashboard asks to log in again."""
    reference = f"journey-{secrets.token_hex(4)}"
    dashboard = f"{platform.gateway}/dashboard"
    await log_in(
        page,
        f"{dashboard}/login",
        email=DEMO_OWNER_EMAIL,
        password=platform.env["DEMO_PASSWORD"],
        expect_text="Log out",
    )
    await _step(page, 1, "logged-in")
    api_key = await _create_api_key(page, platform)
    assert api_key.startswith("esk_test_")
    await _step(page, 2, "key-shown-once")
    await open_page(page, f"{dashboard}/api-keys")
    assert api_key not in await page.content()
    await _place_order(page, platform, reference)
    await _step(page, 3, "order-placed")
    await _open_request(page, platform, "access", reference)
    await _step(page, 4, "access-completed")
    package = await _download_export(page, tmp_path)
    names = package.namelist()
    assert "manifest.json" in names
    assert any(reference in package.read(name).decode("utf-8", "replace") for name in names)
    await _step(page, 5, "export-downloaded")
    await _open_request(page, platform, "erasure", reference)
    await _step(page, 6, "erasure-completed")
    await page.get_by_role("button", name="Log out", exact=True).click()
    await page.wait_for_url(re.compile(r"/dashboard/login$"))
    await page.goto(f"{dashboard}/privacy")
    await page.wait_for_url(re.compile(r"/dashboard/login$"))
    await expect(page.get_by_label("Password", exact=True)).to_be_visible()
    await _step(page, 7, "logged-out")
