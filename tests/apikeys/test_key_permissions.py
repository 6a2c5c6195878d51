"""Who may manage which keys, and bad input: every refusal has a stable code and writes nothing."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from keys_support import OWNER_A, OWNER_B, PARTNER_A, PARTNER_B, KeysHarness, key_actor

from accounts import apikeys
from contracts import Query, Reply
from contracts.accounts import Actor, Role, Scope
from contracts.apikeys import (
    ApiKeyPage,
    ApiKeyRevoked,
    ApiKeyView,
    CreateApiKey,
    ListApiKeys,
    NewApiKey,
    RevokeApiKey,
    RotateApiKey,
)
from servicekit.errors import RemoteCallError
from support.waiting import eventually


async def refusal(harness: KeysHarness, query: Query, reply: type[Reply]) -> str:
    """The error code accounts answers `query` with (fails if it succeeds)."""
    with pytest.raises(RemoteCallError) as refused:
        await harness.ask(query, reply)
    return refused.value.code


async def test_a_key_cannot_be_created_with_a_scope_its_creator_lacks(
    harness: KeysHarness,
) -> None:
    """A key with `keys:manage` and `orders:read` cannot make a key with `billing:read`, nor
    can a developer user; both are `forbidden` and nothing is written."""
    creator = await harness.create(scopes=[Scope.KEYS_MANAGE, Scope.ORDERS_READ])
    developer = Actor(kind="user", id="usr_dev", partner_id=PARTNER_A, role=Role.DEVELOPER)
    before = await harness.snapshot()
    for actor in (key_actor(creator), developer):
        query = CreateApiKey(
            actor=actor,
            partner_id=PARTNER_A,
            name="wider",
            scopes=[Scope.ORDERS_READ, Scope.BILLING_READ],
            mode="test",
        )
        assert await refusal(harness, query, NewApiKey) == "forbidden"
    assert await harness.snapshot() == before
    narrower = await harness.create(key_actor(creator), scopes=[Scope.ORDERS_READ])
    assert narrower.key.scopes == [Scope.ORDERS_READ]


async def test_rotating_a_key_with_more_scopes_than_the_actor_is_forbidden(
    harness: KeysHarness,
) -> None:
    """Rotation makes a key with the old key's scopes, so an actor lacking one of them is
    `forbidden` (and nothing changes)."""
    wide = await harness.create(scopes=[Scope.BILLING_READ, Scope.KEYS_MANAGE])
    narrow = await harness.create(scopes=[Scope.KEYS_MANAGE])
    before = await harness.snapshot()
    query = RotateApiKey(actor=key_actor(narrow), partner_id=PARTNER_A, key_id=wide.key.id)
    assert await refusal(harness, query, NewApiKey) == "forbidden"
    assert await harness.snapshot() == before


async def test_a_key_without_keys_manage_can_neither_list_create_revoke_nor_rotate(
    harness: KeysHarness,
) -> None:
    """An `orders:read` key is `forbidden` for every key operation, even on itself."""
    reader = await harness.create(scopes=[Scope.ORDERS_READ])
    actor = key_actor(reader)
    before = await harness.snapshot()
    calls: list[tuple[Query, type[Reply]]] = [
        (ListApiKeys(actor=actor, partner_id=PARTNER_A), ApiKeyPage),
        (
            CreateApiKey(
                actor=actor, partner_id=PARTNER_A, name="x", scopes=[Scope.ORDERS_READ], mode="test"
            ),
            NewApiKey,
        ),
        (RevokeApiKey(actor=actor, partner_id=PARTNER_A, key_id=reader.key.id), ApiKeyView),
        (RotateApiKey(actor=actor, partner_id=PARTNER_A, key_id=reader.key.id), NewApiKey),
    ]
    for query, reply in calls:
        assert await refusal(harness, query, reply) == "forbidden", query.TYPE
    assert await harness.snapshot() == before


async def test_another_partners_key_is_not_found_and_never_listed(harness: KeysHarness) -> None:
    """Partner B revoking or rotating A's key gets `not_found`, as for a key that does not
    exist; B's listing never shows A's keys; A's key acting for B is `not_found`."""
    a_key = await harness.create(OWNER_A)
    b_key = await harness.create(OWNER_B)
    before = await harness.snapshot()
    for key_id in (a_key.key.id, "NoSuchKey0000000"):
        revoke = RevokeApiKey(actor=OWNER_B, partner_id=PARTNER_B, key_id=key_id)
        assert await refusal(harness, revoke, ApiKeyView) == "not_found"
        rotate = RotateApiKey(actor=OWNER_B, partner_id=PARTNER_B, key_id=key_id)
        assert await refusal(harness, rotate, NewApiKey) == "not_found"
    for_b = RevokeApiKey(actor=key_actor(a_key), partner_id=PARTNER_B, key_id=b_key.key.id)
    assert await refusal(harness, for_b, ApiKeyView) == "not_found"
    assert await harness.snapshot() == before
    page = await harness.ask(ListApiKeys(actor=OWNER_B, partner_id=PARTNER_B), ApiKeyPage)
    assert [view.id for view in page.data] == [b_key.key.id]


async def test_a_test_key_cannot_create_a_live_key(harness: KeysHarness) -> None:
    """A key creates keys of its own mode only: a test key asking for a live key is
    `forbidden`; a user may create either."""
    test_key = await harness.create(scopes=[Scope.KEYS_MANAGE], mode="test")
    before = await harness.snapshot()
    query = CreateApiKey(
        actor=key_actor(test_key),
        partner_id=PARTNER_A,
        name="live",
        scopes=[Scope.KEYS_MANAGE],
        mode="live",
    )
    assert await refusal(harness, query, NewApiKey) == "forbidden"
    assert await harness.snapshot() == before
    live = await harness.create(OWNER_A, mode="live")
    assert live.api_key.get_secret_value().startswith("esk_live_")


async def test_a_key_for_an_unknown_partner_is_not_found(harness: KeysHarness) -> None:
    """The platform creating a key for a partner that does not exist gets `not_found`."""
    platform = Actor(kind="platform", id="svc_ops")
    before = await harness.snapshot()
    query = CreateApiKey(
        actor=platform, partner_id="ptn_nobody", name="x", scopes=[Scope.ORDERS_READ], mode="test"
    )
    assert await refusal(harness, query, NewApiKey) == "not_found"
    assert await harness.snapshot() == before


class LooseCreate(Query):
    """The create query without its validation, to send what a broken caller might."""

    TYPE: ClassVar[str] = CreateApiKey.TYPE

    actor: dict[str, Any]
    partner_id: Any
    name: Any = "a key"
    scopes: Any = ("orders:read",)
    mode: Any = "test"


class LooseList(Query):
    """The list query without its validation."""

    TYPE: ClassVar[str] = ListApiKeys.TYPE

    actor: dict[str, Any]
    partner_id: Any
    limit: Any = 10
    cursor: Any = None


OWNER = OWNER_A.model_dump(mode="json")
BAD_CREATES: dict[str, dict[str, Any]] = {
    "empty name": {"name": ""},
    "blank name": {"name": "   "},
    "name of 101 characters": {"name": "x" * 101},
    "name with a control character": {"name": "tab\there"},
    "no scopes": {"scopes": []},
    "unknown scope": {"scopes": ["orders:read", "everything"]},
    "unknown mode": {"mode": "prod"},
    "scopes not a list": {"scopes": "orders:read"},
    "missing partner": {"partner_id": None},
}


@pytest.mark.parametrize("case", list(BAD_CREATES))
async def test_a_bad_create_is_invalid_and_writes_nothing(harness: KeysHarness, case: str) -> None:
    """Each malformed create is answered `invalid_request`; no key and no claim is stored."""
    await harness.create()
    before = await harness.snapshot()
    query = LooseCreate(actor=OWNER, partner_id=PARTNER_A).model_copy(update=BAD_CREATES[case])
    assert await refusal(harness, query, NewApiKey) == "invalid_request"
    assert await harness.snapshot() == before


@pytest.mark.parametrize(
    "update",
    [{"cursor": "garbage"}, {"cursor": "99999999999999999.abc"}, {"limit": 0}, {"limit": 201}],
)
async def test_a_bad_page_request_is_invalid(harness: KeysHarness, update: dict[str, Any]) -> None:
    """A cursor we did not issue, or a limit outside 1-200, is `invalid_request`."""
    query = LooseList(actor=OWNER, partner_id=PARTNER_A).model_copy(update=update)
    assert await refusal(harness, query, ApiKeyPage) == "invalid_request"


async def test_a_seeded_key_without_an_outbox_still_publishes_its_revocation(
    harness: KeysHarness,
) -> None:
    """A key stored the way the demo seed stores it (no outbox array) is revoked with its
    event published (on nx-27017 appending to a missing array would silently do nothing)."""
    _, parsed = apikeys.generate("test")
    await harness.keys.insert_one(
        {
            "_id": parsed.key_id,
            "partner_id": PARTNER_A,
            "prefix": parsed.prefix,
            "mode": "test",
            "scopes": ["orders:read"],
            "secret_hmac": "0" * 64,
            "created_at": harness.clock(),
        }
    )
    await harness.ask(
        RevokeApiKey(actor=OWNER_A, partner_id=PARTNER_A, key_id=parsed.key_id), ApiKeyView
    )
    events = await eventually(lambda: _heard(harness), what="the seeded key's revocation event")
    assert [event.key_id for event in events] == [parsed.key_id]


async def _heard(harness: KeysHarness) -> list[ApiKeyRevoked]:
    return list(harness.revocations)
