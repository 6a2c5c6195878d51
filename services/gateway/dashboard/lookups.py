"""Asking the services for a page's data as the signed-in user, and reading a list's cursor.

The services decide every permission: a `forbidden` answer becomes a 403 page in the guard,
`not_found` a 404 page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiohttp import web
from pydantic import ValidationError

from contracts import Query, Reply
from gateway.dashboard.rendering import PageError
from gateway.dashboard.state import DASHBOARD

R = TypeVar("R", bound=Reply)
Q = TypeVar("Q", bound=Query)

PAGE_SIZE = 50
"""Rows per page of every list: the API's default `limit`."""


async def ask(request: web.Request, query: Query, reply: type[R], to: str) -> R:
    """The answer of `to` (a service) to a query built with the viewer's actor."""
    gate = request.config_dict[DASHBOARD].gate
    return await gate.bus.request(query, to=to, reply=reply, timeout=gate.timeout)


def cursor_of(request: web.Request) -> str | None:
    """The `cursor` of the page asked for (the `next_cursor` of the page before)."""
    return request.query.get("cursor") or None


def built(make: Callable[[], Q], what: str) -> Q:
    """The query, or a 404 page when the address's parts do not make a valid one."""
    try:
        return make()
    except ValidationError:
        raise PageError(404, "Not found", f"No such {what}.") from None
