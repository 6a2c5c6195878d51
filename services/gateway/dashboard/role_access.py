"""What the signed-in person's role allows where scopes decide: the table of roles' scopes
the services themselves check (`contracts.accounts.ROLE_SCOPES`), so a page offers only
what the service behind it will do, and no page keeps a copy of the table."""

from __future__ import annotations

from contracts.accounts import Scope, scopes_of
from gateway.dashboard.rendering import PageError
from gateway.dashboard.state import Viewer


def granted(viewer: Viewer) -> frozenset[Scope]:
    """The scopes the viewer's role grants (none for a platform role: its pages are ops')."""
    return scopes_of(viewer.actor)


def require_scope(viewer: Viewer, scope: Scope, what: str) -> None:
    """A 403 page unless the viewer's role grants `scope` (`what`: what it is for)."""
    if scope not in granted(viewer):
        raise PageError(403, "Forbidden", f"Your role may not {what}.")
