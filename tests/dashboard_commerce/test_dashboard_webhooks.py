"""The webhook pages: adding an endpoint (its secret shown once), deleting it after a
confirmation, the delivery log; a viewer changes nothing; a refused CSRF token changes nothing."""

from __future__ import annotations

import re

from commerce_support import CommerceWorld

from partner_dashboard.dashboard_support import Browser, csrf_in
from provisioning.webhook_store import ENDPOINTS

HOOK_URL = "http://127.0.0.1:9/hooks/dashboard"
_SECRET = re.compile(r'<code class="secret" id="new-webhook-secret">(whsec_[^<]+)</code>')


async def _endpoint_ids(world: CommerceWorld) -> list[str]:
    """The partner's stored endpoints."""
    found = world.provisioning.db[ENDPOINTS].find({"partner_id": world.partner.id})
    return [str(document["_id"]) async for document in found]


async def _add(browser: Browser, token: str, **overrides: object) -> tuple[int, str]:
    form: list[tuple[str, str]] = [
        ("csrf_token", token),
        ("url", HOOK_URL),
        ("event_types", "order.completed"),
        ("event_types", "balance.low"),
        ("mode", "test"),
    ]
    form = [(name, value) for name, value in form if name not in overrides]
    form += [(name, str(value)) for name, value in overrides.items()]
    answer = await browser.post("/dashboard/webhooks", form)
    return answer.status, answer.text


async def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(
    world: CommerceWorld, owner: Browser
) -> None:
    """Adding answers the signing secret; the list then shows the endpoint but never the secret."""
    status, page = await _add(owner, await owner.csrf_of("/dashboard/webhooks"))
    assert status == 201, page
    secret = _SECRET.search(page)
    assert secret is not None
    listing = await owner.get("/dashboard/webhooks")
    assert HOOK_URL in listing.text
    assert "order.completed" in listing.text
    assert secret.group(1) not in listing.text
    assert len(await _endpoint_ids(world)) == 1


async def test_an_owner_deletes_an_endpoint_after_confirming(
    world: CommerceWorld, owner: Browser
) -> None:
    """The delete link asks first; confirming deletes the endpoint and returns to the list."""
    await _add(owner, await owner.csrf_of("/dashboard/webhooks"))
    [endpoint_id] = await _endpoint_ids(world)
    listing = await owner.get("/dashboard/webhooks")
    assert f'href="/dashboard/webhooks/{endpoint_id}/delete"' in listing.text
    confirm = await owner.get(f"/dashboard/webhooks/{endpoint_id}/delete")
    assert confirm.status == 200
    assert await _endpoint_ids(world) == [endpoint_id]  # asking deletes nothing
    answer = await owner.post(
        f"/dashboard/webhooks/{endpoint_id}/delete", {"csrf_token": csrf_in(confirm.text)}
    )
    assert answer.status == 303
    assert answer.location == "/dashboard/webhooks"
    assert await _endpoint_ids(world) == []
    assert HOOK_URL not in (await owner.get("/dashboard/webhooks")).text


async def test_bad_input_re_renders_the_form_and_adds_nothing(
    world: CommerceWorld, owner: Browser
) -> None:
    """A URL that is no URL, or no event type, answers the form with the error: nothing added."""
    token = await owner.csrf_of("/dashboard/webhooks")
    status, page = await _add(owner, token, url="not a url")
    assert status == 422
    assert 'role="alert"' in page
    status, page = await _add(owner, token, event_types="")
    assert status == 422
    assert await _endpoint_ids(world) == []


async def test_a_live_endpoint_to_a_private_address_is_refused(
    world: CommerceWorld, owner: Browser
) -> None:
    """Provisioning's SSRF rules hold for the dashboard too: a live http URL is refused, and
    the form says why."""
    status, page = await _add(owner, await owner.csrf_of("/dashboard/webhooks"), mode="live")
    assert status == 422, page
    assert "must use https" in page
    assert await _endpoint_ids(world) == []


async def test_a_viewer_sees_endpoints_but_cannot_add_or_delete(
    world: CommerceWorld, owner: Browser, viewer: Browser
) -> None:
    """A viewer gets no form, and adding or deleting is refused with 403: nothing changes."""
    await _add(owner, await owner.csrf_of("/dashboard/webhooks"))
    [endpoint_id] = await _endpoint_ids(world)
    listing = await viewer.get("/dashboard/webhooks")
    assert listing.status == 200
    assert HOOK_URL in listing.text
    assert 'action="/dashboard/webhooks"' not in listing.text
    token = csrf_in(listing.text)
    status, _ = await _add(viewer, token, url="http://127.0.0.1:9/viewer")
    assert status == 403
    assert (await viewer.get(f"/dashboard/webhooks/{endpoint_id}/delete")).status == 403
    refused = await viewer.post(f"/dashboard/webhooks/{endpoint_id}/delete", {"csrf_token": token})
    assert refused.status == 403
    assert await _endpoint_ids(world) == [endpoint_id]


async def test_a_refused_csrf_token_changes_nothing(world: CommerceWorld, owner: Browser) -> None:
    """Adding or deleting without the page's CSRF token is refused; nothing is added or deleted."""
    status, _ = await _add(owner, "forged-token")
    assert status == 403
    assert await _endpoint_ids(world) == []
    await _add(owner, await owner.csrf_of("/dashboard/webhooks"))
    [endpoint_id] = await _endpoint_ids(world)
    refused = await owner.post(
        f"/dashboard/webhooks/{endpoint_id}/delete", {"csrf_token": "forged-token"}
    )
    assert refused.status == 403
    assert await _endpoint_ids(world) == [endpoint_id]


async def test_the_delivery_log_shows_status_and_attempts(
    world: CommerceWorld, viewer: Browser
) -> None:
    """A queued delivery with one failed attempt is listed with its event, status and attempts."""
    endpoint_id = await world.provisioning.endpoint(world.partner.id)
    [delivery_id] = await world.provisioning.completed(world.end_user)
    page = await viewer.get("/dashboard/webhook-deliveries")
    assert page.status == 200, page.text
    row = re.search(rf"<tr>\s*<td><code>{delivery_id}</code></td>(.*?)</tr>", page.text, re.S)
    assert row is not None, page.text
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    assert cells[:4] == [
        "<code>order.completed</code>",
        f"<code>{endpoint_id}</code>",
        "pending",
        "0",
    ]
