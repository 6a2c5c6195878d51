"""The demo order `make run` seeds: the order flow's shape, its end user sealed, one eSIM of
a real catalogue package; seeded once, and never brought back after an erasure."""

from __future__ import annotations

from contracts.privacy import SubjectRef
from provisioning.provider import luhn_valid
from provisioning.purchase_store import open_end_user
from provisioning.seed import (
    DEMO_END_USER_EMAIL,
    DEMO_ICCID,
    DEMO_ORDER_ID,
    DEMO_PACKAGE_ID,
    DEMO_PARTNER_ID,
    seed_demo,
)
from provisioning.store import ESIMS, ORDERS
from support.provisioning_owner import ProvisioningOwner


async def test_the_demo_order_is_sealed_and_has_an_esim(harness: ProvisioningOwner) -> None:
    """Seeded twice: one completed order of a catalogue package, its end user's email sealed
    (found by its blind index, never stored in clear), and one eSIM with a valid ICCID whose
    matching id opens with the partner's key."""
    await seed_demo(harness.db, harness.vault)
    await seed_demo(harness.db, harness.vault)

    [order] = await harness.db[ORDERS].find({}).to_list()
    [esim] = await harness.db[ESIMS].find({}).to_list()
    assert (order["_id"], order["kind"], order["state"]) == (DEMO_ORDER_ID, "order", "completed")
    assert (order["partner_id"], order["package_id"]) == (DEMO_PARTNER_ID, DEMO_PACKAGE_ID)
    assert order["iccids"] == [DEMO_ICCID]
    assert order["end_user"]["email_bidx"] == harness.vault.index("email", DEMO_END_USER_EMAIL)
    end_user = await open_end_user(harness.vault, order)
    assert end_user is not None
    assert end_user.email == DEMO_END_USER_EMAIL
    assert await harness.mentions(DEMO_END_USER_EMAIL) == []
    assert (esim["_id"], esim["order_id"], esim["partner_id"]) == (
        DEMO_ICCID,
        DEMO_ORDER_ID,
        DEMO_PARTNER_ID,
    )
    assert luhn_valid(DEMO_ICCID)
    assert await harness.opens(DEMO_ICCID, "matching_id", esim["matching_id"])


async def test_seeding_again_does_not_bring_an_erased_end_user_back(
    harness: ProvisioningOwner,
) -> None:
    """After the demo end user's erasure, a new seed leaves her order without end-user data."""
    await seed_demo(harness.db, harness.vault)
    await harness.erase(SubjectRef(email=DEMO_END_USER_EMAIL))

    await seed_demo(harness.db, harness.vault)

    [order] = await harness.db[ORDERS].find({}).to_list()
    assert "end_user" not in order


async def test_without_keys_only_the_catalogue_is_seeded(harness: ProvisioningOwner) -> None:
    """Without a vault the demo order is not seeded (it could not be sealed), and a later
    seed with keys still creates it."""
    await seed_demo(harness.db, None)
    assert await harness.db[ORDERS].count_documents({}) == 0

    await seed_demo(harness.db, harness.vault)

    assert await harness.ids(ORDERS) == {DEMO_ORDER_ID}
