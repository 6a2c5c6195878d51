"""The dashboard's cookies: only the essential ones, each with its attributes in one place.

- the session (`esim_session`): the token accounts issued at login; HttpOnly, SameSite=Lax,
  Secure whenever browsers reach the gateway over HTTPS, scoped to `/dashboard`;
- the login form's CSRF token (`esim_login_csrf`): before there is a session, the login and
  preference forms are protected by a double-submit token; HttpOnly, SameSite=Strict;
- the preference (`esim_prefs`): theme and language, nothing else.

No other cookie is ever set (a test audits every `Set-Cookie` the dashboard sends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiohttp import web

from servicekit.settings import ServiceSettings

COOKIE_PATH = "/dashboard"
SESSION_COOKIE = "esim_session"
LOGIN_CSRF_COOKIE = "esim_login_csrf"
PREFERENCES_COOKIE = "esim_prefs"
ESSENTIAL_COOKIES = frozenset({SESSION_COOKIE, LOGIN_CSRF_COOKIE, PREFERENCES_COOKIE})
PREFERENCES_MAX_AGE = 365 * 24 * 3600
LOGIN_CSRF_MAX_AGE = 2 * 3600

SameSite = Literal["Lax", "Strict"]


@dataclass(frozen=True)
class CookiePolicy:
    """How the dashboard's cookies are set; `secure` when browsers use HTTPS."""

    secure: bool

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> CookiePolicy:
        """Secure when the gateway serves TLS itself, or sits behind a TLS-terminating proxy
        (`plain_http_public`, which exists only for that)."""
        return cls(secure=settings.tls_cert_file is not None or settings.plain_http_public)

    def set_session(
        self, response: web.StreamResponse, token: str, expires_at: datetime, now: datetime
    ) -> None:
        """Hand the browser its session token, until the session expires."""
        max_age = max(int((expires_at - now).total_seconds()), 0)
        self._set(response, SESSION_COOKIE, token, "Lax", max_age)

    def clear_session(self, response: web.StreamResponse) -> None:
        """Make the browser forget its session token."""
        self._clear(response, SESSION_COOKIE, "Lax")

    def set_login_csrf(self, response: web.StreamResponse, token: str) -> None:
        """The pre-session CSRF token (double submit: the form carries the same value)."""
        self._set(response, LOGIN_CSRF_COOKIE, token, "Strict", LOGIN_CSRF_MAX_AGE)

    def clear_login_csrf(self, response: web.StreamResponse) -> None:
        """Forget the pre-session CSRF token (a session's token replaces it)."""
        self._clear(response, LOGIN_CSRF_COOKIE, "Strict")

    def set_preferences(self, response: web.StreamResponse, value: str) -> None:
        """Remember the theme and language for a year."""
        self._set(response, PREFERENCES_COOKIE, value, "Lax", PREFERENCES_MAX_AGE)

    def _set(
        self, response: web.StreamResponse, name: str, value: str, samesite: SameSite, age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            path=COOKIE_PATH,
            max_age=age,
            httponly=True,
            samesite=samesite,
            secure=self.secure,
        )

    def _clear(self, response: web.StreamResponse, name: str, samesite: SameSite) -> None:
        response.del_cookie(
            name, path=COOKIE_PATH, httponly=True, samesite=samesite, secure=self.secure
        )


def set_cookie_names(response: web.StreamResponse) -> set[str]:
    """The names of the cookies this response already sets (or clears)."""
    return set(response.cookies.keys())
