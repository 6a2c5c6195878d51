"""Small steps of browser tests, for the pages of today and the dashboard of tomorrow: watch what
a page logs and fetches, fill and submit a form by its labels, log in, wait for a text, save a
screenshot. Every wait is bounded."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Error, Page, Request, Response, expect

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
"""Where screenshots are kept as test artefacts (ignored by git, made on first use)."""
WAIT_S = 10.0
"""How long a step waits for the page by default."""
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class PageWatch:
    """What a page did since `watch`: console errors, uncaught exceptions, requested URLs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self, allowed_origin: str) -> list[str]:
        """The requested URLs whose origin is not `allowed_origin` (e.g. a CDN, a font host)."""
        return [url for url in self.requests if origin(url) != origin(allowed_origin)]

    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions together, for one assertion."""
        return [*self.console_errors, *self.page_errors]


def watch(page: Page) -> PageWatch:
    """Start recording the page's console errors, uncaught exceptions and requests."""
    seen = PageWatch()

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        seen.console_errors.append(f"{message.text} ({url})")

    def on_page_error(error: Error) -> None:
        seen.page_errors.append(f"{error.name}: {error.message}")

    def on_request(request: Request) -> None:
        seen.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("request", on_request)
    return seen


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, the port as written (http://a and http://a:80 differ)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def open_page(page: Page, url: str, *, timeout_s: float = WAIT_S) -> Response:
    """Go to `url` and wait for its load event; fail unless the page answered 200."""
    response = await page.goto(url, timeout=timeout_s * 1000)
    assert response is not None, f"no response for {url}"
    assert response.status == 200, f"{url} answered {response.status}"
    return response


async def fill_form(
    page: Page, fields: Mapping[str, str], *, submit: str, timeout_s: float = WAIT_S
) -> None:
    """Fill each field found by its label's exact text, then click the button named `submit`."""
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value, timeout=timeout_s * 1000)
    await page.get_by_role("button", name=submit, exact=True).click(timeout=timeout_s * 1000)


async def log_in(
    page: Page,
    url: str,
    *,
    email: str,
    password: str,
    expect_text: str,
    email_label: str = "Email",
    password_label: str = "Password",  # noqa: S107 (a label's text, not a password)
    submit: str = "Log in",
    timeout_s: float = WAIT_S,
) -> None:
    """Open the login form at `url`, submit the credentials, wait for `expect_text` to show."""
    await open_page(page, url, timeout_s=timeout_s)
    await fill_form(
        page, {email_label: email, password_label: password}, submit=submit, timeout_s=timeout_s
    )
    await wait_for_text(page, expect_text, timeout_s=timeout_s)


async def wait_for_text(page: Page, text: str, *, timeout_s: float = WAIT_S) -> None:
    """Wait until `text` is visible somewhere on the page; fail with Playwright's message."""
    await expect(page.get_by_text(text).first).to_be_visible(timeout=timeout_s * 1000)


def screenshot_path(name: str) -> Path:
    """The artefact file of a screenshot called `name` (made safe as a file name)."""
    return SCREENSHOTS / f"{_NOT_IN_NAME.sub('-', name).strip('-')}.png"


async def save_screenshot(
    page: Page, name: str, *, full_page: bool = False, timeout_s: float = WAIT_S
) -> Path:
    """Save what the viewport shows (or the whole page) as `test-artifacts/screenshots/<name>.png`;
    return the file."""
    path = screenshot_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=path, full_page=full_page, timeout=timeout_s * 1000)
    return path
