"""What provisioning finds about a subject: the purchases of the subject's eSIMs and the eSIMs
of every order among them, whichever lookup found the order."""

from __future__ import annotations

from contracts.privacy import SubjectRef
from provisioning.store import ORDERS
from provisioning.subject_records import SubjectRecords, ids_of
from support.provisioning_owner import EndUser, ProvisioningOwner


async def test_an_order_found_through_a_shared_iccid_brings_its_own_esims(
    harness: ProvisioningOwner,
) -> None:
    """The subject's order (by email) has eSIM X; another order lists X beside its own eSIM Y,
    so it is found only by ICCID, after the first lookup: Y is held too, as are the top-up of
    X and nothing of a third order."""
    partner = "ptn_holdings_a"
    user, other, stranger = (EndUser.sample(partner) for _ in range(3))
    for someone in (user, other, stranger):
        await harness.order(someone)
    topup_id = await harness.topup(user)
    await harness.db[ORDERS].update_one(
        {"_id": other.order_id}, {"$set": {"iccids": [other.iccid, user.iccid]}}
    )
    records = SubjectRecords(harness.db, harness.vault)

    held = await records.holdings(SubjectRef(email=user.email))

    assert sorted(ids_of(held.orders)) == sorted([user.order_id, other.order_id])
    assert ids_of(held.topups) == [topup_id]
    assert sorted(ids_of(held.esims)) == sorted([user.iccid, other.iccid])


async def test_the_usual_subject_is_found_in_full(harness: ProvisioningOwner) -> None:
    """By email: the order, its top-up and its eSIM, each once; another end user's nothing."""
    partner = "ptn_holdings_b"
    user, other = EndUser.sample(partner), EndUser.sample(partner)
    await harness.order(user)
    await harness.order(other)
    topup_id = await harness.topup(user)
    records = SubjectRecords(harness.db, harness.vault)

    held = await records.holdings(SubjectRef(email=user.email))

    assert ids_of(held.orders) == [user.order_id]
    assert ids_of(held.topups) == [topup_id]
    assert ids_of(held.esims) == [user.iccid]
