"""Data-subject requests: the list (the partner's requests for its end users and the user's
own requests about themselves), one request with its per-service tasks, refreshing itself
while it is open, and the download of a completed export.

The download is a redirect to the API's `/v1/privacy/exports/{token}`: the signed link is
minted by the privacy service only when the person clicks, so no page (and no refresh of
one) carries a working link, and the ZIP is streamed by the one download route the API has.
"""

from __future__ import annotations

from aiohttp import web

from contracts.accounts import Scope
from contracts.privacy import (
    OPEN_STATUSES,
    ListPrivacyRequests,
    PrivacyRequestPage,
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
)
from contracts.privacy_exports import ExportLink, GetExportLink
from gateway.dashboard import privacy_forms
from gateway.dashboard.lookups import PAGE_SIZE, ask, built, cursor_of
from gateway.dashboard.privacy_access import TO, visible_request
from gateway.dashboard.rendering import partner_of, redirect, render, viewer_of
from gateway.dashboard.role_access import granted

REFRESH_SECONDS = 3
"""How often an open request's page reloads itself (a meta refresh: no script)."""
EXPORT_TYPES = frozenset({RequestType.ACCESS, RequestType.PORTABILITY})
EXPORTED = frozenset({RequestStatus.COMPLETED, RequestStatus.COMPLETED_WITH_EXCEPTIONS})


async def list_requests(request: web.Request) -> web.StreamResponse:
    """A page of the requests the viewer may see, newest first."""
    viewer = viewer_of(request)
    scopes = granted(viewer)
    channels = None if Scope.PRIVACY_READ in scopes else [RequestChannel.SELF]
    query = built(
        lambda: ListPrivacyRequests(
            partner_id=partner_of(viewer),
            for_user_id=viewer.actor.id,
            channels=channels,
            limit=PAGE_SIZE,
            cursor=cursor_of(request),
        ),
        "page of privacy requests",
    )
    page = await ask(request, query, PrivacyRequestPage, TO)
    context = {
        "page": page,
        "may_open": Scope.PRIVACY_WRITE in scopes,
        "sees_end_users": channels is None,
    }
    return render(request, "privacy_list.html", context)


async def show_request(request: web.Request) -> web.StreamResponse:
    """One request: status, deadline, reason and each service's task with its outcomes."""
    view = await visible_request(request, viewer_of(request))
    context = {
        "request_view": view,
        "refresh_seconds": REFRESH_SECONDS if view.status in OPEN_STATUSES else None,
        "has_export": has_export(view),
        "awaits_code": view.status is RequestStatus.IDENTITY_UNVERIFIED,
    }
    return render(request, "privacy_request.html", context)


def has_export(view: PrivacyRequestView) -> bool:
    """Whether the request is a completed access or portability request (its package)."""
    return view.type in EXPORT_TYPES and view.status in EXPORTED


async def download_export(request: web.Request) -> web.StreamResponse:
    """To the export's signed download link (minted now; 409 page while there is none)."""
    viewer = viewer_of(request)
    view = await visible_request(request, viewer)
    query = GetExportLink(request_id=view.id, partner_id=partner_of(viewer))
    link = await ask(request, query, ExportLink, TO)
    return redirect(link.url)


def add_routes(routes: web.UrlDispatcher) -> None:
    """The privacy pages' routes (the forms' too)."""
    routes.add_get("/privacy", list_requests)
    privacy_forms.add_routes(routes)
    routes.add_get("/privacy/{request_id}", show_request)
    routes.add_get("/privacy/{request_id}/export", download_export)
