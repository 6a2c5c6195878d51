"""The browsing helpers in a real Chromium, on a small login form served for the test (the
dashboard's pages will use them): logging in through labelled fields, bounded waits for text,
screenshots kept under test-artifacts/screenshots."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from html import escape

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from browsing import (
    SCREENSHOTS,
    fill_form,
    log_in,
    origin,
    save_screenshot,
    screenshot_path,
    wait_for_text,
    watch,
)
from playwright.async_api import Page

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
FORM = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Log in</title>"
    "<link rel='icon' href='data:,'></head><body>{notice}<form method='post' action='/login'>"
    "<label for='email'>Email</label><input id='email' name='email' type='email'>"
    "<label for='password'>Password</label><input id='password' name='password' type='password'>"
    "<button type='submit'>Log in</button></form></body></html>"
)


async def _form(_request: web.Request) -> web.Response:
    return web.Response(text=FORM.format(notice=""), content_type="text/html")


async def _submit(request: web.Request) -> web.Response:
    posted = await request.post()
    if posted.get("email") == EMAIL and posted.get("password") == PASSWORD:
        raise web.HTTPSeeOther(f"/home?email={escape(EMAIL)}")
    notice = "<p role='alert'>Wrong email or password</p>"
    return web.Response(text=FORM.format(notice=notice), content_type="text/html", status=200)


async def _home(request: web.Request) -> web.Response:
    who = escape(request.query.get("email", ""))
    return web.Response(
        text=f"<!doctype html><title>Home</title><link rel='icon' href='data:,'>"
        f"<h1>Welcome, {who}</h1>",
        content_type="text/html",
    )


@pytest.fixture
async def login_site() -> AsyncIterator[str]:
    """Base URL of a site with a login form at /login and a greeting at /home."""
    app = web.Application()
    app.router.add_get("/login", _form)
    app.router.add_post("/login", _submit)
    app.router.add_get("/home", _home)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_log_in_fills_the_labelled_fields_and_waits_for_the_greeting(
    page: Page, login_site: str
) -> None:
    """log_in types into the fields named by their labels, submits, and sees the next page."""
    seen = watch(page)
    await log_in(page, f"{login_site}/login", email=EMAIL, password=PASSWORD, expect_text="Welcome")
    assert page.url.startswith(f"{login_site}/home")
    assert await page.locator("h1").inner_text() == f"Welcome, {EMAIL}"
    assert seen.foreign_requests(login_site) == []
    assert seen.errors() == []


async def test_wrong_password_leaves_the_form_with_its_notice(page: Page, login_site: str) -> None:
    """fill_form submits what it was given: a wrong password shows the form's alert."""
    await page.goto(f"{login_site}/login")
    await fill_form(page, {"Email": EMAIL, "Password": "wrong"}, submit="Log in")
    await wait_for_text(page, "Wrong email or password")
    assert await page.title() == "Log in"


async def test_wait_for_text_gives_up_within_its_bound(page: Page, login_site: str) -> None:
    """wait_for_text fails with an AssertionError once its timeout passes, not later."""
    await page.goto(f"{login_site}/login")
    started = time.monotonic()
    with pytest.raises(AssertionError, match="never shown"):
        await wait_for_text(page, "never shown", timeout_s=0.5)
    assert time.monotonic() - started < 5


async def test_screenshots_are_kept_under_test_artifacts(page: Page, login_site: str) -> None:
    """save_screenshot writes a PNG named after its (sanitised) name under the artefacts."""
    await page.goto(f"{login_site}/login")
    path = await save_screenshot(page, "test_browsing_helpers: login form/1")
    assert path == screenshot_path("test_browsing_helpers: login form/1")
    assert path.parent == SCREENSHOTS
    assert path.name == "test_browsing_helpers-login-form-1.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_origin_keeps_scheme_host_and_port() -> None:
    """origin() tells apart hosts and ports and ignores the path and the fragment."""
    assert origin("http://127.0.0.1:8080/docs#op-x") == "http://127.0.0.1:8080"
    assert origin("http://127.0.0.1:8081/docs") != origin("http://127.0.0.1:8080/docs")
    assert origin("https://fonts.example/a.woff2") == "https://fonts.example"
