"""Rendering the dashboard's pages (jinja2, autoescaped) and its HTML error pages."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.dashboard import csrf
from gateway.dashboard.preferences import LANGUAGES, THEMES, Preferences
from gateway.dashboard.state import VIEWER, Viewer

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("dashboard_templates", jinja2.Environment)
LOGIN_PATH = "/dashboard/login"
OVERVIEW_PATH = "/dashboard/"


class LoginRequired(Exception):
    """The page needs a live session: the browser is sent to the login page."""


class PageError(Exception):
    """An error shown as an HTML page with this status."""

    def __init__(self, status: int, title: str, detail: str | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail


def setup_templates(app: web.Application) -> None:
    """The template environment: autoescaping on for every template, undefined is an error."""
    aiohttp_jinja2.setup(
        app,
        app_key=TEMPLATES,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )


def viewer_of(request: web.Request) -> Viewer:
    """The signed-in user; LoginRequired without a live session."""
    viewer: Viewer | None = request.get(VIEWER)
    if viewer is None:
        raise LoginRequired
    return viewer


def partner_of(viewer: Viewer) -> str:
    """The viewer's partner; a 403 page for a platform user, who has none."""
    partner_id = viewer.actor.partner_id
    if partner_id is None:
        raise PageError(403, "Forbidden", "These pages are for a partner's users.")
    return partner_id


def render(
    request: web.Request, template: str, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    """A page in the browser's theme and language, its forms carrying the CSRF token."""
    preferences = Preferences.of_request(request)
    common = {
        "preferences": preferences,
        "t": preferences.translator(),
        "themes": THEMES,
        "languages": LANGUAGES,
        "viewer": request.get(VIEWER),
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.token_for(request),
        "here": request.path_qs,
    }
    return aiohttp_jinja2.render_template(
        template, request, {**common, **context}, app_key=TEMPLATES, status=status
    )


def error_page(
    request: web.Request, status: int, title: str, detail: str | None = None
) -> web.Response:
    """An HTML error page (the API's errors are problem+json; the dashboard's are pages)."""
    return render(
        request, "error.html", {"status": status, "title": title, "detail": detail}, status
    )


def redirect(location: str) -> web.Response:
    """303 See Other: after a form, the browser GETs the next page."""
    return web.Response(status=303, headers={"Location": location})
