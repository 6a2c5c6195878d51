"""Who may use the ops pages: the one place of their access rules.

The ops pages read the broker directly (queue depths, dead letters) and privacy's request
list, which asks for no actor: no service behind them checks the viewer, so the gateway does,
here. Looking is for every platform role; replaying dead letters changes what services do,
so it is for `ops` alone.
"""

from __future__ import annotations

from aiohttp import web

from contracts.accounts import PLATFORM_ROLES, Role
from gateway.dashboard.rendering import PageError, viewer_of
from gateway.dashboard.state import Viewer

OPS_READERS = PLATFORM_ROLES
"""Roles that may look at every ops page."""
OPS_REPLAYERS = frozenset({Role.OPS})
"""Roles that may replay dead letters."""


def is_platform_user(viewer: Viewer | None) -> bool:
    """Whether the viewer is a platform user (no partner, a platform role)."""
    if viewer is None:
        return False
    actor = viewer.actor
    return actor.kind == "user" and actor.partner_id is None and actor.role in OPS_READERS


def ops_viewer(request: web.Request) -> Viewer:
    """The signed-in platform user; a 403 page for anyone else (a partner's user)."""
    viewer = viewer_of(request)
    if not is_platform_user(viewer):
        raise PageError(403, "Forbidden", "The operations pages are for platform staff.")
    return viewer


def may_replay(viewer: Viewer) -> bool:
    """Whether the viewer may replay dead letters."""
    return is_platform_user(viewer) and viewer.actor.role in OPS_REPLAYERS


def replayer(request: web.Request) -> Viewer:
    """The signed-in ops user; a 403 page for anyone else, who may only look."""
    viewer = ops_viewer(request)
    if not may_replay(viewer):
        raise PageError(403, "Forbidden", "Only the ops role may replay dead letters.")
    return viewer
