"""The dashboard's middleware: who is signed in, HTML error pages, and the security headers
every dashboard response carries (including errors and redirects)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway.dashboard.cookies import SESSION_COOKIE, set_cookie_names
from gateway.dashboard.csrf import CsrfRefused
from gateway.dashboard.rendering import (
    LOGIN_PATH,
    LoginRequired,
    PageError,
    error_page,
    redirect,
)
from gateway.dashboard.state import (
    DASHBOARD,
    DEAD_SESSION,
    NEW_LOGIN_CSRF,
    VIEWER,
    Dashboard,
    Viewer,
)
from gateway.problems import REMOTE_STATUS
from servicekit.errors import RemoteCallError

log = structlog.get_logger("gateway")

SECURITY_HEADERS = {
    # No script at all: the pages work without JavaScript. Styles only from the dashboard.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
STATIC_PREFIX = "/dashboard/static/"
CSRF_DETAIL = (
    "The form has expired or did not come from this dashboard. Nothing was changed:"
    " go back, reload the page and try again."
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Identify the viewer, turn every error into an HTML page, add the security headers."""
    dashboard = request.config_dict[DASHBOARD]
    try:
        response = await _handle(request, handler, dashboard)
    except Exception:
        log.exception("dashboard_error", path=request.path)
        response = _internal_error(request)
    _finish(request, response, dashboard)
    return response


async def _handle(
    request: web.Request, handler: Handler, dashboard: Dashboard
) -> web.StreamResponse:
    try:
        await _identify(request, dashboard)
        return await handler(request)
    except LoginRequired:
        return redirect(LOGIN_PATH)
    except CsrfRefused:
        return error_page(request, 403, "Forbidden", CSRF_DETAIL)
    except PageError as error:
        return error_page(request, error.status, error.title, error.detail)
    except RemoteCallError as error:
        return _remote_error_page(request, error)
    except web.HTTPException as http_error:
        if http_error.status < 400:
            return web.Response(status=http_error.status, headers=http_error.headers)
        page = error_page(request, http_error.status, http_error.reason)
        if "Allow" in http_error.headers:
            page.headers["Allow"] = http_error.headers["Allow"]
        return page


async def _identify(request: web.Request, dashboard: Dashboard) -> None:
    """Ask accounts who holds the presented session (not for the style sheet)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token is None or request.path.startswith(STATIC_PREFIX):
        return
    principal = await dashboard.gate.principal_of(token)
    if principal is not None:
        request[VIEWER] = Viewer(token=token, session=principal)
    else:
        request[DEAD_SESSION] = True


def _internal_error(request: web.Request) -> web.Response:
    """The 500 page; plain text if even the page cannot be rendered."""
    try:
        return error_page(request, 500, "Internal error")
    except Exception:
        return web.Response(status=500, text="Internal error", content_type="text/plain")


def _remote_error_page(request: web.Request, error: RemoteCallError) -> web.Response:
    if error.code == "invalid_session":  # the session ended while the page was asked for
        return redirect(LOGIN_PATH)
    status, title = REMOTE_STATUS.get(error.code, (502, "Upstream error"))
    if status >= 500:
        log.warning("dashboard_upstream_error", code=error.code, path=request.path)
    return error_page(request, status, title, error.message if status < 500 else None)


def _finish(request: web.Request, response: web.StreamResponse, dashboard: Dashboard) -> None:
    """Security headers; the pre-session CSRF cookie when a form needed one; forget a session
    cookie that is no live session."""
    response.headers.update(SECURITY_HEADERS)
    already_set = set_cookie_names(response)
    new_login_token = request.get(NEW_LOGIN_CSRF)
    if new_login_token is not None and request.get(VIEWER) is None:
        dashboard.cookies.set_login_csrf(response, new_login_token)
    if request.get(DEAD_SESSION) and SESSION_COOKIE not in already_set:
        dashboard.cookies.clear_session(response)
