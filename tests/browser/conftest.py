"""Fixtures of the browser tests: the system Chromium driven by Playwright, a fresh page per
test with its screenshot kept; the whole platform as processes is `support.platform`'s
`platform` fixture, started once per session and shared with the end-to-end tests.

The browser is the one `python -m devstack chromium` finds or installs (`make test` runs it
first); Playwright's own browser downloads are never used. No Chromium fails the tests with
devstack's message: nothing is skipped.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Generator
from pathlib import Path

import pytest
from browsing import save_screenshot, screenshot_path
from devstack.chromium import Chromium, ensure_chromium
from devstack.errors import DevstackError
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

# The e2e helpers are top-level modules, which pytest makes importable only once it collects
# tests/e2e: make them importable when the browser tests run alone.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

LAUNCH_TIMEOUT_MS = 30_000
STEP_TIMEOUT_MS = 10_000
"""Bound on every Playwright action and wait that names no timeout of its own."""
VIEWPORT = ViewportSize(width=1280, height=800)
FAILED = pytest.StashKey[bool]()
CHROMIUM_FOUND = pytest.StashKey[Chromium | str]()
"""The Chromium found before the tests ran, or devstack's message saying why there is none."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember on the test item whether its setup or body failed (for the screenshot)."""
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


def _terminal_say(config: pytest.Config) -> Callable[[str], None]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(message: str) -> None:
        if reporter is not None:
            reporter.write_line(f"devstack: {message}")

    return say


def _find_or_install(config: pytest.Config) -> Chromium | str:
    try:
        return ensure_chromium(say=_terminal_say(config))
    except DevstackError as exc:
        return str(exc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Find (or install) Chromium before the first test when a browser test was collected: an
    install takes about a minute, which would count against that test's timeout."""
    if any("chromium" in getattr(item, "fixturenames", ()) for item in items):
        config.stash[CHROMIUM_FOUND] = _find_or_install(config)


@pytest.fixture(scope="session")
def chromium(pytestconfig: pytest.Config) -> Chromium:
    """The system Chromium, installed with apt-get when missing (root on Debian/Ubuntu)."""
    found = pytestconfig.stash.get(CHROMIUM_FOUND, None) or _find_or_install(pytestconfig)
    if isinstance(found, str):
        pytest.fail(f"no Chromium for the browser tests: {found}", pytrace=False)
    return found


@pytest.fixture(scope="session")
async def browser(chromium: Chromium) -> AsyncIterator[Browser]:
    """One headless Chromium for the session, launched from the system's executable."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium.path,
            headless=True,
            # Without its sandbox: Chromium refuses to start its sandbox as root ("Running as
            # root without --no-sandbox is not supported"), and containers often deny the user
            # namespaces it needs. The pages are our own, served from 127.0.0.1.
            chromium_sandbox=False,
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A page in a fresh browser context (no cookies shared between tests). Its screenshot is
    saved after the test as test-artifacts/screenshots/<file>.<test>.png, and as
    <file>.<test>.FAILED.png instead when the test failed."""
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        try:
            await _keep_screenshot(opened, request.node)
        finally:
            await context.close()


async def _keep_screenshot(page: Page, node: pytest.Item) -> None:
    name = f"{Path(node.path).stem}.{node.name}"
    failed = node.stash.get(FAILED, False)
    await save_screenshot(page, f"{name}.FAILED" if failed else name)
    if not failed:  # a failure screenshot of an earlier run would mislead
        screenshot_path(f"{name}.FAILED").unlink(missing_ok=True)
