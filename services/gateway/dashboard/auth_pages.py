"""Logging in and out, and the display preferences."""

from __future__ import annotations

import ipaddress

from aiohttp import web
from pydantic import ValidationError

from contracts.dashboard import Login, LoginRefusal
from gateway.dashboard import csrf
from gateway.dashboard.forms import safe_return_path, text
from gateway.dashboard.preferences import Preferences
from gateway.dashboard.rendering import LOGIN_PATH, OVERVIEW_PATH, redirect, render
from gateway.dashboard.state import DASHBOARD, VIEWER
from servicekit.clock import utcnow

UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 - not a bind address: the client's, when unknown  # nosec B104
"""Recorded in the login history when the peer's address is not an IP (e.g. a Unix socket)."""


def client_ip(request: web.Request) -> str:
    """The address the request came from, as the login history records it."""
    remote = request.remote or ""
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return UNKNOWN_ADDRESS


async def login_form(request: web.Request) -> web.StreamResponse:
    """The login form (a signed-in user goes straight to the overview)."""
    if request.get(VIEWER) is not None:
        return redirect(OVERVIEW_PATH)
    return render(request, "login.html", {"email": "", "refusal": None})


async def log_in(request: web.Request) -> web.StreamResponse:
    """Ask accounts to sign in; a session sets the cookie, a refusal shows the form again."""
    form = await request.post()
    csrf.verify(request, form)
    dashboard = request.config_dict[DASHBOARD]
    email = text(form, "email").strip()
    try:
        attempt = Login.model_validate(
            {
                "email": email,
                "password": text(form, "password"),
                "ip": client_ip(request),
                "user_agent": request.headers.get("User-Agent", ""),
            }
        )
    except ValidationError:  # not an email, or a password too long: refused like any other
        return _refused(request, email, LoginRefusal())
    result = await dashboard.gate.login(attempt)
    if result.session is None:
        return _refused(request, email, result.refusal or LoginRefusal())
    response = redirect(OVERVIEW_PATH)
    session = result.session
    token = session.token.get_secret_value()
    dashboard.cookies.set_session(response, token, session.expires_at, utcnow())
    dashboard.cookies.clear_login_csrf(response)
    return response


def _refused(request: web.Request, email: str, refusal: LoginRefusal) -> web.Response:
    """The form again with the generic message; 429 and Retry-After during a lockout."""
    status = 200 if refusal.retry_after_seconds is None else 429
    context = {"email": email[:320], "refusal": refusal}
    response = render(request, "login.html", context, status)
    if refusal.retry_after_seconds is not None:
        response.headers["Retry-After"] = str(refusal.retry_after_seconds)
    return response


async def log_out(request: web.Request) -> web.StreamResponse:
    """End the session at accounts and make the browser forget it."""
    form = await request.post()
    csrf.verify(request, form)
    dashboard = request.config_dict[DASHBOARD]
    viewer = request.get(VIEWER)
    if viewer is not None:
        await dashboard.gate.logout(viewer.token)
    response = redirect(LOGIN_PATH)
    dashboard.cookies.clear_session(response)
    return response


async def save_preferences(request: web.Request) -> web.StreamResponse:
    """Remember the chosen theme and language; back to the page the form was on."""
    form = await request.post()
    csrf.verify(request, form)
    dashboard = request.config_dict[DASHBOARD]
    chosen = Preferences.of(text(form, "theme"), text(form, "language"))
    response = redirect(safe_return_path(text(form, "next"), OVERVIEW_PATH))
    dashboard.cookies.set_preferences(response, chosen.cookie_value())
    return response
