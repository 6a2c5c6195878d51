"""Restriction, objection and lifting through the API, scoped to the asking partner: the
flags as provisioning's register holds them for each partner's order of the end user."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
from e2e_support import Platform, add_api_key, poll_request
from orders_support import PACKAGE, Buyer, new_buyer

from servicekit.restrictions import RESTRICTED_SUBJECTS, Change, FlagBook, Flags
from support.waiting import eventually

Db = Any
PRIVACY_SCOPES = ["privacy:read", "privacy:write"]


async def _order_for(buyer: Buyer, email: str) -> str:
    status, order = await buyer.order({"package_id": PACKAGE, "end_user": {"email": email}})
    assert status == 201, order
    return str(order["id"])


async def _ask(platform: Platform, key: str, body: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {key}"}
    ) as api:
        async with api.post("/v1/privacy/requests", json=body) as response:
            assert response.status == 202, await response.text()
            opened: dict[str, Any] = await response.json()
        return await poll_request(api, opened["id"])


async def _flags_of(platform: Platform, db: Db, order_id: str, partner_id: str) -> Flags:
    """The flags provisioning's register holds for the order's end user, under its partner."""
    provisioning = db[platform.database("provisioning")]
    order = await provisioning["orders"].find_one({"_id": order_id})
    keys = [order["end_user"]["email_bidx"]]
    book = FlagBook([Change.of_document(d) async for d in provisioning[RESTRICTED_SUBJECTS].find()])
    return book.flags(keys, partner_id)


async def _until_flags(
    platform: Platform, db: Db, buyer: Buyer, order_id: str, expected: Flags
) -> None:
    """Wait (bounded) until the register holds `expected` for the buyer's order."""

    async def held() -> bool:
        return await _flags_of(platform, db, order_id, buyer.partner_id) == expected

    await eventually(held, what=f"flags {expected} for {order_id}")


async def test_restriction_and_its_lift_reach_only_the_asking_partners_data(
    platform: Platform, db: Db
) -> None:
    """Partner A restricts an end user's processing: A's order of that email is restricted,
    B's order of the same email is not; A lifts it (a request too) and the flag clears."""
    email = f"eu-{uuid.uuid4().hex[:8]}@example.com"
    async with new_buyer(platform, db, 10_000) as a, new_buyer(platform, db, 10_000) as b:
        order_a, order_b = await _order_for(a, email), await _order_for(b, email)
        key_a = await add_api_key(platform, db, partner_id=a.partner_id, scopes=PRIVACY_SCOPES)
        restricted = await _ask(
            platform, key_a, {"type": "restriction", "subject": {"email": email}}
        )
        assert restricted["status"] == "completed", restricted
        assert restricted["channel"] == "partner"
        await _until_flags(platform, db, a, order_a, Flags(restricted=True))
        assert await _flags_of(platform, db, order_b, b.partner_id) == Flags()

        lifted = await _ask(
            platform, key_a, {"type": "restriction_lift", "subject": {"email": email}}
        )
        assert lifted["status"] == "completed", lifted
        await _until_flags(platform, db, a, order_a, Flags())
        assert await _flags_of(platform, db, order_b, b.partner_id) == Flags()


async def test_an_objection_is_recorded_as_such(platform: Platform, db: Db) -> None:
    """An objection is held as `objection`, and restricts, for the asking partner."""
    email = f"eu-{uuid.uuid4().hex[:8]}@example.com"
    async with new_buyer(platform, db, 10_000) as a:
        order = await _order_for(a, email)
        key = await add_api_key(platform, db, partner_id=a.partner_id, scopes=PRIVACY_SCOPES)
        done = await _ask(platform, key, {"type": "objection", "subject": {"email": email}})
        assert done["status"] == "completed", done
        await _until_flags(platform, db, a, order, Flags(restricted=True, objection=True))
