"""Who sees and opens which data-subject requests on the dashboard.

The privacy service takes no actor: the API lets a key with `privacy:read`/`privacy:write`
reach the partner's requests. A dashboard user gets what their role would give such a key,
from the one table of roles' scopes (`role_access`). Anyone may ask about their own data (a
right that does not depend on a role), and no one sees a colleague's requests about
themselves (the privacy service filters them, `for_user_id`).
"""

from __future__ import annotations

from aiohttp import web

from contracts.accounts import Scope
from contracts.privacy import GetPrivacyRequest, PrivacyRequestView, RequestChannel
from gateway.dashboard.lookups import ask, built
from gateway.dashboard.rendering import partner_of
from gateway.dashboard.role_access import require_scope
from gateway.dashboard.state import Viewer

TO = "privacy"
PRIVACY_PATH = "/dashboard/privacy"


def require_write(viewer: Viewer) -> None:
    """A 403 page unless the viewer's role grants `privacy:write` (opening requests for the
    partner's end users)."""
    require_scope(viewer, Scope.PRIVACY_WRITE, "open requests for end users")


def path_of(request_id: str) -> str:
    """The page of one request."""
    return f"{PRIVACY_PATH}/{request_id}"


async def visible_request(request: web.Request, viewer: Viewer) -> PrivacyRequestView:
    """The request in the address, as the viewer may see it: a 404 page for another
    partner's request or a colleague's request about themselves, a 403 page for an end
    user's request when the viewer's role does not grant `privacy:read`."""
    request_id = request.match_info["request_id"]
    query = built(
        lambda: GetPrivacyRequest(
            request_id=request_id, partner_id=partner_of(viewer), for_user_id=viewer.actor.id
        ),
        "privacy request",
    )
    view = await ask(request, query, PrivacyRequestView, TO)
    end_user = view.channel is RequestChannel.PARTNER
    if end_user:
        require_scope(viewer, Scope.PRIVACY_READ, "see end users' requests")
    return view
