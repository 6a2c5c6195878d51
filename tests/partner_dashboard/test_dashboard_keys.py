"""API keys in the dashboard: created and shown once, working against the API, revoked after a
confirmation; CSRF and permissions refuse without changing anything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
from dashboard_support import VIEWER_EMAIL, Browser, DashboardWorld, csrf_in

from contracts.apikeys import ApiKeyPage, ListApiKeys
from support.accounts_owner import OPS

KEYS = "/dashboard/api-keys"


async def _working_keys(world: DashboardWorld) -> list[str]:
    """The partner's working keys' ids, as accounts has them."""
    page = await world.ask(ListApiKeys(actor=OPS, partner_id=world.partner.id), ApiKeyPage)
    return [key.id for key in page.data]


async def _ping(world: DashboardWorld, api_key: str) -> int:
    """The status `/v1/ping` answers with this key."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        aiohttp.ClientSession(base_url=world.url) as api,
        api.get("/v1/ping", headers=headers) as answer,
    ):
        return answer.status


async def _create(owner: Browser, name: str = "shop backend") -> str:
    """Create a key through the form; the full key shown on the answer."""
    form = [
        ("csrf_token", await owner.csrf_of(KEYS)),
        ("name", name),
        ("scopes", "orders:read"),
        ("scopes", "keys:manage"),
        ("mode", "test"),
    ]
    created = await owner.post(KEYS, form)
    assert created.status == 201, created.text
    marker = 'id="new-api-key">'
    start = created.text.index(marker) + len(marker)
    return created.text[start : created.text.index("<", start)]


async def test_a_created_key_is_shown_once_and_works(owner: Browser, world: DashboardWorld) -> None:
    """The key is on the creation's answer only; it authenticates against the API."""
    api_key = await _create(owner)
    assert api_key.startswith("esk_test_")
    listing = await owner.get(KEYS)
    assert listing.status == 200
    assert "shop backend" in listing.text
    assert api_key not in listing.text
    assert api_key[:20] not in listing.text  # more than the public prefix never shows again
    assert await _ping(world, api_key) == 200


async def test_revoking_after_confirmation_stops_the_key(
    owner: Browser, world: DashboardWorld
) -> None:
    """The confirmation page's form revokes the key; the API refuses it at once."""
    api_key = await _create(owner)
    [key_id] = await _working_keys(world)
    confirm = await owner.get(f"{KEYS}/{key_id}/revoke")
    assert confirm.status == 200
    assert f'action="{KEYS}/{key_id}/revoke"' in confirm.text
    revoked = await owner.post(f"{KEYS}/{key_id}/revoke", {"csrf_token": csrf_in(confirm.text)})
    assert (revoked.status, revoked.location) == (303, KEYS)
    assert await _working_keys(world) == []
    assert await _ping(world, api_key) == 401
    assert key_id not in (await owner.get(KEYS)).text


async def test_forms_without_the_csrf_token_change_nothing(
    owner: Browser, world: DashboardWorld
) -> None:
    """Creating or revoking without the right token is a 403 page and changes nothing."""
    api_key = await _create(owner)
    [key_id] = await _working_keys(world)
    create = [("name", "forged"), ("scopes", "orders:read"), ("mode", "test")]
    for token in ([], [("csrf_token", "f" * 64)]):
        refused = await owner.post(KEYS, create + token)
        assert refused.status == 403
        assert "did not come from this dashboard" in refused.text
        revoke = await owner.post(f"{KEYS}/{key_id}/revoke", dict(token))
        assert revoke.status == 403
    assert await _working_keys(world) == [key_id]
    assert await _ping(world, api_key) == 200


async def test_a_viewer_sees_the_keys_but_may_not_change_them(
    browser_factory: Callable[[], Awaitable[Browser]], owner: Browser, world: DashboardWorld
) -> None:
    """Accounts refuses a viewer's create and revoke: a clear 403 page, nothing changed."""
    await _create(owner)
    [key_id] = await _working_keys(world)
    viewer = await browser_factory()
    assert (await viewer.log_in(VIEWER_EMAIL)).status == 303
    listing = await viewer.get(KEYS)
    assert listing.status == 200
    assert "shop backend" in listing.text
    token = csrf_in(listing.text)
    form = [("csrf_token", token), ("name", "mine"), ("scopes", "orders:read"), ("mode", "test")]
    created = await viewer.post(KEYS, form)
    assert created.status == 403
    assert created.headers["Content-Type"].startswith("text/html")
    assert "keys:manage" in created.text
    revoked = await viewer.post(f"{KEYS}/{key_id}/revoke", {"csrf_token": token})
    assert revoked.status == 403
    assert await _working_keys(world) == [key_id]


async def test_an_incomplete_form_is_shown_again(owner: Browser, world: DashboardWorld) -> None:
    """A key without a name or scope is not created; the list page says what is missing."""
    token = await owner.csrf_of(KEYS)
    answer = await owner.post(KEYS, [("csrf_token", token), ("name", " "), ("mode", "test")])
    assert answer.status == 422
    assert "at least one scope" in answer.text
    assert await _working_keys(world) == []


async def test_revoking_an_unknown_key_is_a_404_page(owner: Browser) -> None:
    """Another partner's or a made-up key id gets the not-found page."""
    token = await owner.csrf_of(KEYS)
    answer = await owner.post(f"{KEYS}/key_doesnotexist/revoke", {"csrf_token": token})
    assert answer.status == 404
    assert answer.headers["Content-Type"].startswith("text/html")
