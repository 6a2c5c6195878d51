"""What the dashboard keeps on the app and on each request."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from contracts.accounts import Actor
from contracts.dashboard import SessionPrincipal
from gateway.dashboard.cookies import CookiePolicy
from gateway.dashboard.sessions import SessionGate
from gateway.principals import Verifier


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of this request: the session token (from the cookie) and who it is."""

    token: str
    session: SessionPrincipal

    @property
    def actor(self) -> Actor:
        """The user as accounts sees them: every query is asked as this actor."""
        return self.session.actor


@dataclass(frozen=True)
class Dashboard:
    """What every page needs: accounts over the bus, the cookie rules, the key verifier."""

    gate: SessionGate
    cookies: CookiePolicy
    verifier: Verifier


DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
VIEWER: web.RequestKey[Viewer] = web.RequestKey("dashboard_viewer", Viewer)
"""Set only while a live session is presented: `request.get(VIEWER)` is None otherwise."""
NEW_LOGIN_CSRF: web.RequestKey[str] = web.RequestKey("dashboard_new_login_csrf", str)
"""A pre-session CSRF token made for this response's forms: the response sets its cookie."""
DEAD_SESSION: web.RequestKey[bool] = web.RequestKey("dashboard_dead_session", bool)
"""Accounts said the presented session cookie is no live session: the response clears it."""
