"""The dashboard's pages: the account details, HTML error pages, the security headers on every
response, and the display preferences."""

from __future__ import annotations

from typing import Any

from dashboard_support import Browser, csrf_in

from gateway.dashboard.cookies import PREFERENCES_COOKIE

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
}


def _assert_secure_headers(headers: Any, what: str) -> None:
    """Every dashboard response forbids scripts and framing, caching and foreign referrers."""
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{what}: {name}"
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in policy, what
    assert "script-src" not in policy, what
    assert "frame-ancestors 'none'" in policy, what


async def test_account_page_shows_the_partner_escaped(owner: Browser) -> None:
    """The account page shows the partner's details as accounts gives them, HTML-escaped."""
    page = await owner.get("/dashboard/account")
    assert page.status == 200
    for shown in (
        "Dashboard Roaming &amp; Co &lt;GmbH&gt;",
        "HRB 4242",
        "Hafenstraße 7",
        "+4940123456",
    ):
        assert shown in page.text


async def test_every_kind_of_response_carries_the_security_headers(
    browser: Browser, owner: Browser
) -> None:
    """Pages, redirects, error pages and the style sheet all carry the security headers."""
    answers = {
        "login page": await browser.get("/dashboard/login"),
        "redirect": await browser.get("/dashboard/account"),
        "page": await owner.get("/dashboard/"),
        "not found": await owner.get("/dashboard/no-such-page"),
        "wrong method": await owner.post("/dashboard/account", {}),
        "csrf refusal": await owner.post("/dashboard/api-keys", {}),
        "style sheet": await browser.get("/dashboard/static/dashboard.css"),
    }
    for what, answer in answers.items():
        _assert_secure_headers(answer.headers, what)
    assert answers["style sheet"].headers["Content-Type"].startswith("text/css")
    assert '[data-theme="dark"]' in answers["style sheet"].text


async def test_dashboard_errors_are_html_pages_and_api_errors_stay_problems(
    browser: Browser,
) -> None:
    """An unknown dashboard path is an HTML 404 page; an unknown API path stays problem+json."""
    page = await browser.get("/dashboard/no-such-page")
    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<h1" in page.text
    wrong_method = await browser.get("/dashboard/logout")
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert wrong_method.headers["Content-Type"].startswith("text/html")
    api = await browser.get("/v1/no-such-endpoint")
    assert api.status == 404
    assert api.headers["Content-Type"].startswith("application/problem+json")


async def test_pages_use_no_script(owner: Browser) -> None:
    """No page carries a script (the CSP forbids them; the pages work without)."""
    for path in ("/dashboard/", "/dashboard/account", "/dashboard/api-keys"):
        page = await owner.get(path)
        assert page.status == 200
        assert "<script" not in page.text.lower(), path


async def test_preferences_set_theme_and_language(browser: Browser) -> None:
    """The preference form stores theme and language in the preference cookie; pages use it."""
    token = await browser.csrf_of("/dashboard/login")
    form = {"csrf_token": token, "theme": "dark", "language": "de", "next": "/dashboard/login"}
    saved = await browser.post("/dashboard/preferences", form)
    assert (saved.status, saved.location) == (303, "/dashboard/login")
    cookie = saved.cookie(PREFERENCES_COOKIE)
    assert cookie is not None
    assert cookie.value == "dark.de"
    page = await browser.get("/dashboard/login")
    assert 'data-theme="dark"' in page.text
    assert 'lang="de"' in page.text
    assert "Anmelden" in page.text


async def test_preferences_accept_only_known_values_and_local_paths(browser: Browser) -> None:
    """Unknown themes or languages fall back to the defaults; `next` never leaves the dashboard."""
    token = await browser.csrf_of("/dashboard/login")
    form = {"csrf_token": token, "theme": "neon", "language": "xx", "next": "//evil.example"}
    saved = await browser.post("/dashboard/preferences", form)
    assert (saved.status, saved.location) == (303, "/dashboard/")
    cookie = saved.cookie(PREFERENCES_COOKIE)
    assert cookie is not None
    assert cookie.value == "light.en"
    elsewhere = {**form, "next": "https://evil.example/dashboard"}
    assert (await browser.post("/dashboard/preferences", elsewhere)).location == "/dashboard/"


async def test_preferences_without_the_csrf_token_are_refused(owner: Browser) -> None:
    """The preference form, too, is refused without its token."""
    answer = await owner.post("/dashboard/preferences", {"theme": "dark", "language": "de"})
    assert answer.status == 403
    assert answer.cookie(PREFERENCES_COOKIE) is None
    page = await owner.get("/dashboard/")
    assert 'data-theme="light"' in page.text
    assert csrf_in(page.text)
