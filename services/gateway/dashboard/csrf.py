"""CSRF protection of every dashboard form.

With a session, the token is a synchronizer token derived from the session: an HMAC keyed
with the session token (which only the browser's HttpOnly cookie and accounts know), so every
gateway replica derives the same token without a shared key and it dies with the session.
Before a session (the login and preference forms), it is a double-submit token: a random
value in an HttpOnly cookie that the form must carry too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from aiohttp import web

from gateway.dashboard.cookies import LOGIN_CSRF_COOKIE
from gateway.dashboard.forms import Form
from gateway.dashboard.state import NEW_LOGIN_CSRF, VIEWER, Viewer

FIELD = "csrf_token"
"""The hidden form field every state-changing form carries."""
_PURPOSE = b"esim-dashboard-csrf-v1"
_LOGIN_TOKEN = re.compile(r"^[0-9a-f]{64}$")


class CsrfRefused(Exception):
    """A state-changing request without the right token: refused, nothing changed."""


def session_token(session: str) -> str:
    """The CSRF token of a session."""
    return hmac.new(session.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def _presented_login_token(request: web.Request) -> str | None:
    value = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return value if _LOGIN_TOKEN.match(value) else None


def token_for(request: web.Request) -> str:
    """The token this request's forms carry; makes a pre-session one when there is none
    (the response then sets its cookie)."""
    viewer: Viewer | None = request.get(VIEWER)
    if viewer is not None:
        return session_token(viewer.token)
    existing = request.get(NEW_LOGIN_CSRF) or _presented_login_token(request)
    if existing is None:
        existing = secrets.token_hex(32)
        request[NEW_LOGIN_CSRF] = existing
    return existing


def verify(request: web.Request, form: Form) -> None:
    """Refuse (CsrfRefused) unless the form carries the token this request expects."""
    viewer: Viewer | None = request.get(VIEWER)
    expected = (
        session_token(viewer.token) if viewer is not None else _presented_login_token(request)
    )
    presented = form.get(FIELD)
    if expected is None or not isinstance(presented, str):
        raise CsrfRefused
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise CsrfRefused
