"""Opening data-subject requests from the dashboard: for one of the partner's end users (the
partner channel; needs a role that grants `privacy:write`), or about oneself (the self
channel, any role: the user's own email from accounts, verified by the emailed code).

A refused form is shown again with the error and nothing is opened; a request that repeats
an open one is linked to it by the privacy service, so a double submit opens one.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from contracts.dashboard import UserView
from contracts.own_user import GetOwnUser
from contracts.privacy import (
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
    ResendVerificationCode,
    SubmitPrivacyRequest,
    VerifyPrivacyRequest,
)
from gateway.dashboard import csrf
from gateway.dashboard.forms import text
from gateway.dashboard.lookups import ask
from gateway.dashboard.privacy_access import (
    TO,
    path_of,
    require_write,
    visible_request,
)
from gateway.dashboard.rendering import partner_of, redirect, render, viewer_of
from servicekit.errors import RemoteCallError

IDENTIFIERS = {
    "end_user_ref": "End-user reference",
    "email": "Email",
    "phone": "Phone",
    "iccid": "ICCID",
}
"""The identifiers a partner may name an end user by, and their labels."""
SELF_TYPES = [kind for kind in RequestType if kind is not RequestType.RECTIFICATION]
"""About oneself: every right but rectification, which the account page does directly."""
END_USER_PROBLEM = (
    "Choose a type and give at least one valid identifier (phone as +4915..., ICCID 89...);"
    " a rectification needs changes as field=value lines, and only a rectification takes them."
)


async def end_user_form(request: web.Request) -> web.StreamResponse:
    """The form to open a request for an end user."""
    viewer = viewer_of(request)
    require_write(viewer)
    return _end_user_page(request, {}, None, 200)


def _end_user_page(
    request: web.Request, values: dict[str, str], error: str | None, status: int
) -> web.Response:
    context = {
        "types": list(RequestType),
        "identifiers": IDENTIFIERS,
        "values": values,
        "error": error,
    }
    return render(request, "privacy_new.html", context, status)


async def open_for_end_user(request: web.Request) -> web.StreamResponse:
    """Open the request on the partner channel, then its page."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    require_write(viewer)
    values = {name: text(form, name).strip() for name in ["type", "changes", *IDENTIFIERS]}
    try:
        command = SubmitPrivacyRequest.model_validate(
            {
                "channel": RequestChannel.PARTNER,
                "partner_id": partner_of(viewer),
                "requested_by": viewer.actor.id,
                "type": values["type"],
                "subject": {name: values[name] for name in IDENTIFIERS if values[name]},
                "changes": _changes(values["changes"]),
            }
        )
    except (ValidationError, ValueError):
        return _end_user_page(request, values, END_USER_PROBLEM, 422)
    sent = await _send(request, command)
    if isinstance(sent, str):
        return _end_user_page(request, values, sent, 422)
    return redirect(path_of(sent.id))


def _changes(lines: str) -> dict[str, str] | None:
    """`field=value` lines as a dict (None when blank); ValueError for a line without `=`."""
    changes: dict[str, str] = {}
    for line in lines.splitlines():
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise ValueError("a change is a field=value line")
        changes[name.strip()] = value.strip()
    return changes or None


async def _send(request: web.Request, command: SubmitPrivacyRequest) -> PrivacyRequestView | str:
    """The opened (or linked) request, or the privacy service's refusal to show on the form."""
    try:
        return await ask(request, command, PrivacyRequestView, TO)
    except RemoteCallError as refusal:
        if refusal.code != "invalid_request":
            raise
        return f"Refused: {refusal.message}."


async def self_form(request: web.Request) -> web.StreamResponse:
    """The form to ask about one's own data (the code goes to the account's email)."""
    partner_of(viewer_of(request))
    return await _self_page(request, None, 200)


async def _self_page(request: web.Request, error: str | None, status: int) -> web.Response:
    own = await _own_account(request)
    context = {"types": SELF_TYPES, "email": own.email, "error": error}
    return render(request, "privacy_self.html", context, status)


async def _own_account(request: web.Request) -> UserView:
    return await ask(request, GetOwnUser(actor=viewer_of(request).actor), UserView, "accounts")


async def open_about_oneself(request: web.Request) -> web.StreamResponse:
    """Open the request on the self channel with the account's own email, then the code page."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    own = await _own_account(request)
    kind = text(form, "type")
    try:
        command = SubmitPrivacyRequest.model_validate(
            {
                "channel": RequestChannel.SELF,
                "partner_id": partner_of(viewer),
                "requested_by": viewer.actor.id,
                "type": kind,
                "subject": {"email": own.email, "user_id": viewer.actor.id},
            }
        )
    except ValidationError:
        command = None
    if command is None or command.type not in SELF_TYPES:
        return await _self_page(request, "Choose one of the request types.", 422)
    sent = await _send(request, command)
    if isinstance(sent, str):
        return await _self_page(request, sent, 422)
    return redirect(f"{path_of(sent.id)}/verify")


async def code_form(request: web.Request) -> web.StreamResponse:
    """The page to enter the six-digit code (or the request's page once none is needed)."""
    view = await visible_request(request, viewer_of(request))
    if view.status is not RequestStatus.IDENTITY_UNVERIFIED:
        return redirect(path_of(view.id))
    notice = "A new code was sent." if request.query.get("sent") == "1" else None
    return _code_page(request, view, notice, None, 200)


def _code_page(
    request: web.Request,
    view: PrivacyRequestView,
    notice: str | None,
    error: str | None,
    status: int,
) -> web.Response:
    context = {"request_view": view, "notice": notice, "error": error}
    return render(request, "privacy_verify.html", context, status)


async def verify_code(request: web.Request) -> web.StreamResponse:
    """Check the code: the request's page, or the form again with the error and the attempts
    left (the third wrong code rejects the request)."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    view = await visible_request(request, viewer)
    try:
        query = VerifyPrivacyRequest(
            request_id=view.id, partner_id=partner_of(viewer), code=text(form, "code").strip()
        )
    except ValidationError:
        return _code_page(request, view, None, "Enter the six digits of the code.", 422)
    try:
        await ask(request, query, PrivacyRequestView, TO)
    except RemoteCallError as refusal:
        if refusal.code != "verification_failed":
            raise
        return _code_page(request, view, None, f"Not verified: {refusal.message}.", 422)
    return redirect(path_of(view.id))


async def resend_code(request: web.Request) -> web.StreamResponse:
    """Email a new code (the old one stops working), then the code page again."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    view = await visible_request(request, viewer)
    query = ResendVerificationCode(request_id=view.id, partner_id=partner_of(viewer))
    await ask(request, query, PrivacyRequestView, TO)
    return redirect(f"{path_of(view.id)}/verify?sent=1")


def add_routes(routes: web.UrlDispatcher) -> None:
    """The forms' routes (added before `/privacy/{request_id}`)."""
    routes.add_get("/privacy/new", end_user_form)
    routes.add_post("/privacy/new", open_for_end_user)
    routes.add_get("/privacy/self", self_form)
    routes.add_post("/privacy/self", open_about_oneself)
    routes.add_get("/privacy/{request_id}/verify", code_form)
    routes.add_post("/privacy/{request_id}/verify", verify_code)
    routes.add_post("/privacy/{request_id}/resend", resend_code)
