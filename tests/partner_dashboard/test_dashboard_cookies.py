"""THE COOKIE AUDIT: the dashboard sets only essential cookies (session, the login form's CSRF
token, the display preference), each HttpOnly, SameSite, on /dashboard, Secure under TLS."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp import web
from dashboard_support import OWNER_EMAIL, Browser, audit_set_cookies, csrf_in

from gateway.dashboard.cookies import (
    ESSENTIAL_COOKIES,
    LOGIN_CSRF_COOKIE,
    PREFERENCES_COOKIE,
    SESSION_COOKIE,
    CookiePolicy,
)
from gateway.settings import GatewaySettings
from servicekit.clock import utcnow

KEYS = "/dashboard/api-keys"


def _every_cookie_set_by(policy: CookiePolicy) -> list[str]:
    """The `Set-Cookie` headers of every cookie operation the policy has."""
    response = web.Response()
    now = utcnow()
    headers: list[str] = []
    operations = [
        lambda: policy.set_session(response, "token-abc", now + timedelta(hours=1), now),
        lambda: policy.clear_session(response),
        lambda: policy.set_login_csrf(response, "a" * 64),
        lambda: policy.clear_login_csrf(response),
        lambda: policy.set_preferences(response, "dark.de"),
    ]
    for operation in operations:
        response.cookies.clear()
        operation()
        headers += [morsel.OutputString() for morsel in response.cookies.values()]
    return headers


def test_under_tls_every_cookie_is_secure(tmp_path: Path) -> None:
    """With a TLS certificate configured, every dashboard cookie carries Secure."""
    settings = GatewaySettings.model_construct(
        tls_cert_file=tmp_path / "server.crt", tls_key_file=tmp_path / "server.key"
    )
    policy = CookiePolicy.from_settings(settings)
    assert policy.secure
    audited = audit_set_cookies(_every_cookie_set_by(policy), secure=True)
    assert {morsel.key for morsel in audited} == ESSENTIAL_COOKIES


def test_behind_a_tls_proxy_cookies_are_secure_too() -> None:
    """Plain HTTP allowed publicly only for a TLS-terminating proxy: cookies still Secure."""
    settings = GatewaySettings.model_construct(plain_http_public=True)
    assert CookiePolicy.from_settings(settings).secure


def test_on_plain_local_http_cookies_are_not_secure() -> None:
    """Without TLS (local development) the cookies cannot be Secure, or browsers drop them."""
    policy = CookiePolicy.from_settings(GatewaySettings())
    assert not policy.secure
    audit_set_cookies(_every_cookie_set_by(policy), secure=False)


async def test_a_whole_visit_sets_only_essential_cookies(browser: Browser) -> None:
    """Every `Set-Cookie` of a visit through every page and form is an essential cookie with
    its attributes (the fixture audits each test's browsers too; this visit sees all three)."""
    await browser.get("/dashboard/")
    await browser.get("/dashboard/no-such-page")
    await browser.log_in(OWNER_EMAIL, "not the right password")
    token = await browser.csrf_of("/dashboard/login")
    prefs = {"csrf_token": token, "theme": "dark", "language": "en", "next": "/dashboard/"}
    await browser.post("/dashboard/preferences", prefs)
    assert (await browser.log_in(OWNER_EMAIL)).status == 303
    for path in ("/dashboard/", "/dashboard/account", KEYS, "/dashboard/static/dashboard.css"):
        assert (await browser.get(path)).status == 200, path
    token = await browser.csrf_of(KEYS)
    form = [("csrf_token", token), ("name", "audit"), ("scopes", "orders:read"), ("mode", "test")]
    assert (await browser.post(KEYS, form)).status == 201
    await browser.post(KEYS, [("name", "forged")])
    page = await browser.get("/dashboard/")
    assert (
        await browser.post("/dashboard/logout", {"csrf_token": csrf_in(page.text)})
    ).status == 303
    audited = audit_set_cookies(browser.seen_set_cookies)
    names = {morsel.key for morsel in audited}
    assert names == {SESSION_COOKIE, LOGIN_CSRF_COOKIE, PREFERENCES_COOKIE}
    sessions = [morsel for morsel in audited if morsel.key == SESSION_COOKIE]
    assert all(morsel["samesite"] == "Lax" for morsel in sessions)
