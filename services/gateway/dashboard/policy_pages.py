"""The privacy policy in force (privacy's `GetCurrentPolicy`), rendered from its markdown
with raw HTML disabled: the text's own markup is escaped, never passed through (and
markdown-it refuses `javascript:` links)."""

from __future__ import annotations

from aiohttp import web
from markdown_it import MarkdownIt
from markupsafe import Markup

from contracts.policy import GetCurrentPolicy, PolicyVersionView
from gateway.dashboard import notices
from gateway.dashboard.lookups import ask
from gateway.dashboard.rendering import render, viewer_of

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def policy_html(text: str) -> Markup:
    """The policy's markdown as HTML, any HTML in the text escaped."""
    return Markup(_MARKDOWN.render(text))  # noqa: S704 - markdown-it escapes the text (html off)  # nosec


async def policy(request: web.Request) -> web.StreamResponse:
    """The policy in force: its version, effective date and text."""
    viewer_of(request)
    current = await ask(request, GetCurrentPolicy(), PolicyVersionView, notices.TO)
    return render(request, "policy.html", {"policy": current, "body": policy_html(current.text)})


def add_routes(routes: web.UrlDispatcher) -> None:
    """The policy page's route (its acknowledge form is `notices`')."""
    routes.add_get("/policy", policy)
