"""API keys in accounts: shown once, stored as an HMAC, listed, revoked, rotated, verified."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
from keys_support import OVERLAP_HOURS, OWNER_A, OWNER_B, PARTNER_A, PEPPER, KeysHarness, key_actor

from accounts import apikeys
from contracts.accounts import Principal, Scope, VerifyApiKey
from contracts.apikeys import (
    ApiKeyPage,
    ApiKeyView,
    CreateApiKey,
    ListApiKeys,
    NewApiKey,
    RevokeApiKey,
    RotateApiKey,
)
from servicekit.errors import RemoteCallError, ServiceError
from servicekit.messages import MessageContext
from support.waiting import eventually


async def verify(harness: KeysHarness, key: str) -> Principal:
    """Ask accounts who a key belongs to."""
    return await harness.ask(VerifyApiKey(api_key=key), Principal)


async def refused(harness: KeysHarness, key: str) -> bool:
    """Whether accounts refuses the key with `invalid_api_key`."""
    try:
        await verify(harness, key)
    except RemoteCallError as error:
        return error.code == "invalid_api_key"
    return False


async def list_all(harness: KeysHarness, limit: int = 50) -> list[ApiKeyView]:
    """Every working key of partner A, following cursors (bounded)."""
    views: list[ApiKeyView] = []
    cursor: str | None = None
    for _ in range(50):
        page = await harness.ask(
            ListApiKeys(actor=OWNER_A, partner_id=PARTNER_A, limit=limit, cursor=cursor),
            ApiKeyPage,
        )
        assert len(page.data) <= limit
        views += page.data
        cursor = page.next_cursor
        if cursor is None:
            return views
    raise AssertionError("paging did not end")


async def test_a_new_key_is_shown_once_and_only_an_hmac_of_its_secret_is_stored(
    harness: KeysHarness,
) -> None:
    """The reply carries the full key (masked in repr); no stored document anywhere in the
    accounts database holds the key or its secret, only the HMAC under the pepper."""
    created = await harness.create(scopes=[Scope.ORDERS_READ, Scope.KEYS_MANAGE], name="shop")
    key = created.api_key.get_secret_value()
    parsed = apikeys.parse(key)
    assert parsed is not None
    assert parsed.mode == "test"
    assert created.key.id == parsed.key_id
    assert key.startswith(created.key.prefix)
    assert key not in repr(created)
    assert created.key.scopes == [Scope.ORDERS_READ, Scope.KEYS_MANAGE]

    db = harness.accounts.db
    for name in await db.list_collection_names():
        async for document in db[name].find({}):
            text = repr(document)
            assert key not in text, name
            assert parsed.secret not in text, name
    stored = await harness.keys.find_one({"_id": parsed.key_id})
    assert stored is not None
    expected = hmac.new(PEPPER.encode(), parsed.secret.encode(), hashlib.sha256).hexdigest()
    assert stored["secret_hmac"] == expected

    listed = await list_all(harness)
    assert [view.id for view in listed] == [parsed.key_id]
    assert parsed.secret not in ApiKeyPage(data=listed).model_dump_json()
    principal = await verify(harness, key)
    assert principal.partner_id == PARTNER_A
    assert principal.key_id == parsed.key_id
    assert principal.mode == "test"
    assert principal.scopes == [Scope.ORDERS_READ, Scope.KEYS_MANAGE]


async def test_verification_refuses_a_wrong_secret_a_wrong_mode_and_an_unknown_key(
    harness: KeysHarness,
) -> None:
    """Same key id with another secret, the test key presented as live, and a key never
    created are all refused with `invalid_api_key`."""
    created = await harness.create()
    parsed = apikeys.parse(created.api_key.get_secret_value())
    assert parsed is not None
    forged, _ = apikeys.generate("test")
    forged_parsed = apikeys.parse(forged)
    assert forged_parsed is not None
    await harness.keys.insert_one(
        {
            "_id": forged_parsed.key_id,
            "partner_id": PARTNER_A,
            "prefix": forged_parsed.prefix,
            "mode": "live",
            "scopes": ["orders:read"],
            "secret_hmac": apikeys.secret_digest(forged_parsed.secret, PEPPER),
            "created_at": harness.clock(),
        }
    )
    other_secret = created.api_key.get_secret_value().replace(parsed.secret, "x" * 32)
    unknown, _ = apikeys.generate("live")
    for key in [other_secret, forged, unknown, "esk_test_nonsense"]:
        assert await refused(harness, key), key


async def test_keys_are_listed_newest_first_page_by_page_without_revoked_or_expired_ones(
    harness: KeysHarness,
) -> None:
    """Pages of 2 follow the cursor newest first (ties by id) with no gap or repeat; revoked
    keys and rotated keys past their overlap are left out; another partner's keys never
    appear."""
    made: list[ApiKeyView] = []
    for n in range(4):
        harness.clock.advance(seconds=1)
        made.append((await harness.create(name=f"key {n}")).key)
    made += [(await harness.create(name=f"same time {n}")).key for n in range(3)]
    await harness.create(OWNER_B)
    await harness.ask(
        RevokeApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=made[1].id), ApiKeyView
    )
    rotated = await harness.ask(
        RotateApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=made[2].id), NewApiKey
    )
    listed = await list_all(harness, limit=2)
    assert made[2].id in {view.id for view in listed}, "a key in its overlap window is listed"
    harness.clock.advance(hours=OVERLAP_HOURS)

    listed = await list_all(harness, limit=2)
    working = [view for view in made if view.id not in {made[1].id, made[2].id}]
    working.append(rotated.key)
    expected = sorted(working, key=lambda view: view.id)
    expected.sort(key=lambda view: view.created_at, reverse=True)
    assert [view.id for view in listed] == [view.id for view in expected]
    assert listed == expected


async def test_revoking_stops_the_key_at_once_and_publishes_one_event(
    harness: KeysHarness,
) -> None:
    """Revocation refuses the key from then on and publishes `api_key_revoked` (effective
    now); revoking it again changes nothing and answers the same view."""
    created = await harness.create()
    key = created.api_key.get_secret_value()
    assert not await refused(harness, key)
    harness.clock.advance(seconds=5)
    revoke = RevokeApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=created.key.id)
    view = await harness.ask(revoke, ApiKeyView)
    assert view.revoked_at == harness.clock()
    assert await refused(harness, key)

    events = await eventually(lambda: _revocations(harness), what="the revocation event")
    assert len(events) == 1
    assert events[0].key_id == created.key.id
    assert events[0].partner_id == PARTNER_A
    assert events[0].effective_at == harness.clock()
    assert events[0].reason == "revoked"
    stored = await harness.keys.find_one({"_id": created.key.id})
    assert stored is not None
    assert stored["revocation"]["by"] == OWNER_A.id

    before = await harness.snapshot()
    harness.clock.advance(seconds=5)
    assert await harness.ask(revoke, ApiKeyView) == view
    assert await harness.snapshot() == before


async def _revocations(harness: KeysHarness) -> list[Any]:
    return list(harness.revocations)


async def test_a_rotated_key_works_until_the_overlap_ends_and_its_successor_at_once(
    harness: KeysHarness,
) -> None:
    """Rotation returns a new key (same name, mode, scopes) once; the old key works up to the
    end of the overlap window and is refused from then on; the event says when."""
    old = await harness.create(scopes=[Scope.ESIMS_READ, Scope.KEYS_MANAGE], name="server")
    old_key = old.api_key.get_secret_value()
    started = harness.clock()
    rotated = await harness.ask(
        RotateApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=old.key.id), NewApiKey
    )
    new_key = rotated.api_key.get_secret_value()
    ends = started + timedelta(hours=OVERLAP_HOURS)
    assert rotated.key.id != old.key.id
    assert (rotated.key.name, rotated.key.mode, rotated.key.scopes) == (
        "server",
        "test",
        [Scope.ESIMS_READ, Scope.KEYS_MANAGE],
    )
    assert rotated.replaces is not None
    assert rotated.replaces.id == old.key.id
    assert rotated.replaces.expires_at == ends

    harness.clock.advance(hours=OVERLAP_HOURS, seconds=-1)
    assert (await verify(harness, old_key)).key_id == old.key.id
    assert (await verify(harness, new_key)).key_id == rotated.key.id
    harness.clock.advance(seconds=1)
    assert await refused(harness, old_key)
    assert (await verify(harness, new_key)).key_id == rotated.key.id

    events = await eventually(lambda: _revocations(harness), what="the rotation event")
    assert [(e.key_id, e.effective_at, e.reason) for e in events] == [(old.key.id, ends, "rotated")]
    with pytest.raises(RemoteCallError) as again:
        await harness.ask(
            RotateApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=old.key.id), NewApiKey
        )
    assert again.value.code == "conflict"


async def test_a_key_in_its_overlap_window_cannot_be_rotated_twice(harness: KeysHarness) -> None:
    """Rotating a key that was already rotated is a `conflict` and writes nothing."""
    old = await harness.create()
    rotate = RotateApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=old.key.id)
    await harness.ask(rotate, NewApiKey)
    before = await harness.snapshot()
    with pytest.raises(RemoteCallError) as again:
        await harness.ask(rotate, NewApiKey)
    assert again.value.code == "conflict"
    assert await harness.snapshot() == before


async def test_last_used_is_written_at_most_once_per_resolution(harness: KeysHarness) -> None:
    """Verifications within the resolution (60 s) after the last write leave last-used
    alone; the first one after it moves it."""
    created = await harness.create()
    key = created.api_key.get_secret_value()
    assert created.key.last_used_at is None
    first = harness.clock()
    await verify(harness, key)
    for seconds in (20, 20, 19):
        harness.clock.advance(seconds=seconds)
        await verify(harness, key)
        assert (await list_all(harness))[0].last_used_at == first
    harness.clock.advance(seconds=2)
    await verify(harness, key)
    assert (await list_all(harness))[0].last_used_at == harness.clock()


async def test_a_redelivered_create_or_rotate_makes_no_second_key(harness: KeysHarness) -> None:
    """The same create (or rotate) message handled twice makes one key: the second time
    is a `conflict`, since the key it made cannot be shown again."""
    create = harness.accounts.router.answers[CreateApiKey.TYPE].handler
    rotate = harness.accounts.router.answers[RotateApiKey.TYPE].handler
    query = CreateApiKey(
        actor=OWNER_A, partner_id=PARTNER_A, name="once", scopes=[Scope.KEYS_MANAGE], mode="test"
    )
    context = MessageContext("msg_same", "cor_1", CreateApiKey.TYPE, "tester", 1, True)
    made = await create(query, context)
    with pytest.raises(ServiceError, match="already carried out") as again:
        await create(query, context)
    assert again.value.code == "conflict"
    assert await harness.keys.count_documents({"partner_id": PARTNER_A}) == 1

    rotation = RotateApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=made.key.id)
    context = MessageContext("msg_rotate", "cor_2", RotateApiKey.TYPE, "tester", 1, True)
    await rotate(rotation, context)
    with pytest.raises(ServiceError, match="already rotated") as twice:
        await rotate(rotation, context)
    assert twice.value.code == "conflict"
    assert await harness.keys.count_documents({"partner_id": PARTNER_A}) == 2


async def test_an_api_key_can_revoke_and_rotate_itself(harness: KeysHarness) -> None:
    """A key with `keys:manage` acts on itself: rotation gives a successor, revocation of
    the old key then stops it at once."""
    created = await harness.create(scopes=[Scope.KEYS_MANAGE])
    actor = key_actor(created)
    rotated = await harness.ask(
        RotateApiKey(actor=actor, partner_id=PARTNER_A, key_id=created.key.id), NewApiKey
    )
    assert rotated.key.scopes == [Scope.KEYS_MANAGE]
    await harness.ask(
        RevokeApiKey(actor=actor, partner_id=PARTNER_A, key_id=created.key.id), ApiKeyView
    )
    assert await refused(harness, created.api_key.get_secret_value())
    assert not await refused(harness, rotated.api_key.get_secret_value())
