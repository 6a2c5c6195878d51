"""Helpers of the dashboard tests: a browser-like client that records every `Set-Cookie` the
dashboard sends, the audit of those cookies, and reading forms out of the pages."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import Morsel, SimpleCookie
from typing import Any, TypeVar

import aiohttp
from aiohttp.test_utils import TestServer
from yarl import URL

from contracts import Query, Reply
from contracts.dashboard import UserView
from contracts.identity import PartnerView
from gateway.dashboard.cookies import (
    COOKIE_PATH,
    ESSENTIAL_COOKIES,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
)
from servicekit.service import Service

OWNER_EMAIL = "olive.owner@dashboard.example.org"
VIEWER_EMAIL = "victor.viewer@dashboard.example.org"
PASSWORD = "correct horse battery staple"
BUSINESS_NAME = "Dashboard Roaming & Co <GmbH>"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Answer:
    """A response as the tests need it: status, headers, body, and the cookies it set."""

    status: int
    headers: Any
    text: str
    set_cookies: list[str]

    @property
    def location(self) -> str:
        """Where a redirect points."""
        return str(self.headers.get("Location", ""))

    def cookie(self, name: str) -> Morsel[str] | None:
        """The cookie of that name this response set (or cleared), parsed."""
        for header in self.set_cookies:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            if name in parsed:
                return parsed[name]
        return None


@dataclass
class Browser:
    """A client with a cookie jar, like a browser without JavaScript; follows no redirect by
    itself, and keeps every `Set-Cookie` header it received for the audit."""

    session: aiohttp.ClientSession
    base_url: URL
    seen_set_cookies: list[str] = field(default_factory=list)

    async def get(self, path: str) -> Answer:
        """GET a page."""
        return await self._send("GET", path)

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]]) -> Answer:
        """POST a form (urlencoded, as a browser sends it)."""
        return await self._send("POST", path, data=data)

    async def _send(self, method: str, path: str, **options: Any) -> Answer:
        async with self.session.request(method, path, allow_redirects=False, **options) as answer:
            set_cookies = answer.headers.getall("Set-Cookie", [])
            self.seen_set_cookies.extend(set_cookies)
            return Answer(answer.status, answer.headers, await answer.text(), list(set_cookies))

    async def csrf_of(self, path: str) -> str:
        """The CSRF token of the forms on a page."""
        page = await self.get(path)
        assert page.status == 200, page.text
        return csrf_in(page.text)

    async def log_in(self, email: str, password: str = PASSWORD) -> Answer:
        """Fill in and send the login form."""
        token = await self.csrf_of("/dashboard/login")
        form = {"email": email, "password": password, "csrf_token": token}
        return await self.post("/dashboard/login", form)

    def cookie_value(self, name: str) -> str | None:
        """The value the jar would send to the dashboard for a cookie."""
        found = self.session.cookie_jar.filter_cookies(self.base_url.with_path("/dashboard/"))
        morsel = found.get(name)
        return morsel.value if morsel is not None else None


def csrf_in(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF_FIELD.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def audit_set_cookies(headers: list[str], *, secure: bool = False) -> list[Morsel[str]]:
    """Check every `Set-Cookie`: an essential cookie, HttpOnly, SameSite, Path=/dashboard,
    Secure exactly when the dashboard is served over TLS; the parsed cookies."""
    morsels: list[Morsel[str]] = []
    for header in headers:
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        assert len(parsed) == 1, header
        morsel = next(iter(parsed.values()))
        assert morsel.key in ESSENTIAL_COOKIES, f"not an essential cookie: {header}"
        assert morsel["httponly"], header
        assert morsel["samesite"] in {"Lax", "Strict"}, header
        assert morsel["path"] == COOKIE_PATH, header
        assert bool(morsel["secure"]) is secure, header
        assert not morsel["domain"], header
        if morsel.key in {SESSION_COOKIE, LOGIN_CSRF_COOKIE} and morsel.value:
            assert morsel["max-age"], header  # never outlives the session or the form
        morsels.append(morsel)
    return morsels


R = TypeVar("R", bound=Reply)
LOGIN_MAX_FAILURES = 3


@dataclass
class DashboardWorld:
    """The running gateway and accounts, a caller on the bus, and the partner's people."""

    gateway: TestServer
    caller: Service
    partner: PartnerView
    owner: UserView
    viewer: UserView

    @property
    def url(self) -> URL:
        """The gateway's base URL."""
        return URL(str(self.gateway.make_url("/")))

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask accounts over the bus (as the tests' own caller)."""
        return await self.caller.bus.request(query, to="accounts", reply=reply, timeout=15)


@contextlib.asynccontextmanager
async def audited_browsers(base_url: URL) -> AsyncIterator[Callable[[], Awaitable[Browser]]]:
    """New browsers on `base_url` (each its own cookie jar); when the block ends, every
    `Set-Cookie` any of them received is audited: essential cookies only, with their
    attributes."""
    browsers: list[Browser] = []

    async def new_browser() -> Browser:
        session = aiohttp.ClientSession(
            base_url=base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        browser = Browser(session=session, base_url=base_url)
        browsers.append(browser)
        return browser

    try:
        yield new_browser
    finally:
        for browser in browsers:
            await browser.session.close()
    for browser in browsers:
        audit_set_cookies(browser.seen_set_cookies)
