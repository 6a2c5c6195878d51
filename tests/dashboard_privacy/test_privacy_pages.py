"""The dashboard's privacy pages against the real accounts, privacy and gateway: requests for
end users and about oneself, who sees which, the emailed code, the export download."""

from __future__ import annotations

import io
import zipfile

import aiohttp
from privacy_pages_support import PrivacyWorld, request_id_of, status_on_page

from contracts.accounts import Scope
from contracts.apikeys import CreateApiKey, NewApiKey
from contracts.privacy import (
    RequestChannel,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from partner_dashboard.dashboard_support import Browser, csrf_in
from privacy_verification.verification_support import other_code
from servicekit.ids import new_id
from support.accounts_owner import OPS
from support.waiting import eventually

NEW = "/dashboard/privacy/new"
SELF = "/dashboard/privacy/self"
REFRESH = '<meta http-equiv="refresh"'


def _end_user_email() -> str:
    return f"end.user.{new_id('t')[2:].lower()}@example.org"


async def _open_for_end_user(browser: Browser, **fields: str) -> str:
    token = await browser.csrf_of(NEW)
    answer = await browser.post(NEW, {"csrf_token": token, **fields})
    return request_id_of(answer)


async def _completed(browser: Browser, request_id: str) -> None:
    async def done() -> bool:
        return await status_on_page(browser, request_id) == "completed"

    await eventually(done, timeout=20, what=f"{request_id} completed on its page")


async def test_end_user_access_request_completes_and_its_export_downloads(
    world: PrivacyWorld, owner: Browser
) -> None:
    """An owner opens an access request for an end user; it completes, the page stops
    refreshing, lists it, and its export downloads as a ZIP through the signed link."""
    request_id = await _open_for_end_user(owner, type="access", email=_end_user_email())
    first = await owner.get(f"/dashboard/privacy/{request_id}")
    assert first.status == 200
    assert "End user" in (await owner.get("/dashboard/privacy")).text
    await _completed(owner, request_id)
    page = await owner.get(f"/dashboard/privacy/{request_id}")
    assert REFRESH not in page.text
    assert "accounts" in page.text
    assert "Download export" in page.text
    listed = await owner.get("/dashboard/privacy")
    assert request_id in listed.text
    link = await owner.get(f"/dashboard/privacy/{request_id}/export")
    assert link.status == 303
    assert link.location.startswith("/v1/privacy/exports/")
    async with (
        aiohttp.ClientSession() as plain,
        plain.get(world.url.with_path(link.location, encoded=True)) as got,
    ):
        assert got.status == 200
        assert got.headers["Content-Type"] == "application/zip"
        body = await got.read()
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(body)).namelist()


async def test_an_open_request_page_refreshes_itself_and_a_new_code_replaces_the_old(
    world: PrivacyWorld, owner: Browser
) -> None:
    """While a request waits for its code its page reloads itself; a new code can be asked
    for, and the request runs with it."""
    token = await owner.csrf_of(SELF)
    request_id = request_id_of(await owner.post(SELF, {"csrf_token": token, "type": "access"}))
    page = await owner.get(f"/dashboard/privacy/{request_id}")
    assert f'{REFRESH} content="3">' in page.text
    assert "identity_unverified" in page.text
    email = world.owner.email or ""
    first = await world.code_for(request_id, email)
    resent = await owner.post(f"/dashboard/privacy/{request_id}/resend", {"csrf_token": token})
    assert resent.location.endswith("/verify?sent=1")
    assert "A new code was sent." in (await owner.get(resent.location)).text
    second = await world.code_for(request_id, email, count=2)
    verify = f"/dashboard/privacy/{request_id}/verify"
    if first != second:
        stale = await owner.post(verify, {"csrf_token": token, "code": first})
        assert stale.status == 422
    assert (await owner.post(verify, {"csrf_token": token, "code": second})).status == 303
    await _completed(owner, request_id)
    assert REFRESH not in (await owner.get(f"/dashboard/privacy/{request_id}")).text


async def test_self_request_runs_after_the_emailed_code(
    world: PrivacyWorld, viewer: Browser, owner: Browser
) -> None:
    """A viewer asks about themselves: a wrong code shows the attempts left, the code from
    the email (to the account's address) runs the request; a colleague never sees it."""
    token = await viewer.csrf_of(SELF)
    answer = await viewer.post(SELF, {"csrf_token": token, "type": "access"})
    assert answer.location.endswith("/verify")
    request_id = request_id_of(answer)
    verify = f"/dashboard/privacy/{request_id}/verify"
    code = await world.code_for(request_id, world.viewer.email or "")
    wrong = await viewer.post(verify, {"csrf_token": token, "code": other_code(code)})
    assert wrong.status == 422
    assert "attempts left" in wrong.text
    assert (await viewer.post(verify, {"csrf_token": token, "code": code})).status == 303
    assert await status_on_page(viewer, request_id) != "identity_unverified"
    assert request_id in (await viewer.get("/dashboard/privacy")).text
    assert request_id not in (await owner.get("/dashboard/privacy")).text
    assert (await owner.get(f"/dashboard/privacy/{request_id}")).status == 404
    await _unseen_through_the_api(world, request_id)


async def _unseen_through_the_api(world: PrivacyWorld, request_id: str) -> None:
    """The partner's API key neither lists, reads nor exports a person's own request."""
    create = CreateApiKey(
        actor=OPS,
        partner_id=world.partner.id,
        name="privacy reader",
        scopes=[Scope.PRIVACY_READ],
        mode="live",
    )
    key = await world.caller.bus.request(create, to="accounts", reply=NewApiKey, timeout=15)
    headers = {"Authorization": f"Bearer {key.api_key.get_secret_value()}"}
    async with aiohttp.ClientSession(base_url=world.url, headers=headers) as api:
        async with api.get("/v1/privacy/requests") as listing:
            assert listing.status == 200
            assert request_id not in [item["id"] for item in (await listing.json())["data"]]
        for path in (
            f"/v1/privacy/requests/{request_id}",
            f"/v1/privacy/requests/{request_id}/export",
        ):
            async with api.get(path) as one:
                assert one.status == 404, path


async def test_a_viewer_may_not_open_requests_for_end_users(
    world: PrivacyWorld, viewer: Browser
) -> None:
    """A viewer's role grants no `privacy:write`: the form is refused and nothing is opened;
    the viewer's list shows no end user's request."""
    before = await world.requests_of(world.partner.id)
    assert (await viewer.get(NEW)).status == 403
    token = csrf_in((await viewer.get(SELF)).text)
    refused = await viewer.post(NEW, {"csrf_token": token, "type": "erasure", "end_user_ref": "x"})
    assert refused.status == 403
    assert len(await world.requests_of(world.partner.id)) == len(before)
    listed = await viewer.get("/dashboard/privacy")
    assert listed.status == 200
    assert "End user" not in listed.text
    assert "Open a request for an end user" not in listed.text


async def test_bad_input_and_a_missing_token_change_nothing(
    world: PrivacyWorld, owner: Browser
) -> None:
    """A form without an identifier comes back with the error; one without the CSRF token
    is refused; neither opens a request."""
    before = await world.requests_of(world.partner.id)
    token = await owner.csrf_of(NEW)
    again = await owner.post(NEW, {"csrf_token": token, "type": "erasure"})
    assert again.status == 422
    assert "at least one valid identifier" in again.text
    bad_code = await owner.post(NEW, {"csrf_token": token, "type": "erasure", "iccid": "12"})
    assert bad_code.status == 422
    forged = await owner.post(NEW, {"type": "erasure", "end_user_ref": "eu-forged"})
    assert forged.status == 403
    assert "Nothing was changed" in forged.text
    assert len(await world.requests_of(world.partner.id)) == len(before)


async def test_another_partners_request_is_not_found(world: PrivacyWorld, owner: Browser) -> None:
    """A request of another partner answers the 404 page, as does an id that is no id."""
    other = await world.submit(
        SubmitPrivacyRequest(
            channel=RequestChannel.PARTNER,
            partner_id="ptn_someone_else",
            type=RequestType.ERASURE,
            subject=SubjectRef(end_user_ref="eu-elsewhere"),
        )
    )
    assert (await owner.get(f"/dashboard/privacy/{other.id}")).status == 404
    assert (await owner.get(f"/dashboard/privacy/{other.id}/export")).status == 404
    assert (await owner.get("/dashboard/privacy/" + "x" * 80)).status == 404


async def test_a_users_view_pages_through_end_user_and_own_requests_only(
    world: PrivacyWorld,
) -> None:
    """`for_user_id` lists the partner's end-user requests and the user's own requests about
    themselves, newest first across both, page by page; never a colleague's."""
    partner_id = new_id("ptn")
    mine, colleague = new_id("usr"), new_id("usr")

    def about(kind: RequestChannel, user_id: str | None = None) -> SubmitPrivacyRequest:
        subject = (
            SubjectRef(email=f"{new_id('m')}@example.org", user_id=user_id)
            if user_id
            else SubjectRef(end_user_ref=new_id("eu"))
        )
        return SubmitPrivacyRequest(
            channel=kind,
            partner_id=partner_id,
            requested_by=user_id,
            type=RequestType.ACCESS,
            subject=subject,
        )

    opened = [
        await world.submit(about(RequestChannel.PARTNER)),
        await world.submit(about(RequestChannel.SELF, mine)),
        await world.submit(about(RequestChannel.SELF, colleague)),
        await world.submit(about(RequestChannel.PARTNER)),
        await world.submit(about(RequestChannel.SELF, mine)),
    ]
    expected = [view.id for view in reversed(opened) if view.id != opened[2].id]
    seen: list[str] = []
    cursor = None
    for _ in range(len(expected)):
        page = await world.list_for(partner_id, mine, limit=2, cursor=cursor)
        seen.extend(view.id for view in page.data)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    own_only = await world.list_for(partner_id, mine, channels=[RequestChannel.SELF])
    assert [view.id for view in own_only.data] == [opened[4].id, opened[1].id]
