"""Restriction and rectification through the real provisioning service: a restricted end
user's queued webhooks are given up and no new one is queued (about her order, top-up or
eSIM); corrections are sealed with the order's key and found by their new blind index."""

from __future__ import annotations

import dataclasses

from contracts.privacy import (
    Disposition,
    LocateSubject,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from provisioning.privacy import RESTRICTED_ERROR
from provisioning.store import ORDERS, RECTIFICATIONS
from provisioning.webhook_store import DELIVERIES
from support.privacy_standin import by_category
from support.provisioning_owner import EndUser, ProvisioningOwner, new_iccid


async def test_restriction_stops_every_webhook_about_the_end_user(
    harness: ProvisioningOwner,
) -> None:
    """Restricting by ICCID gives up the due deliveries carrying it, leaves delivered ones
    and other end users' alone, and later events about the order or the eSIM queue nothing."""
    partner = "ptn_restrict"
    user, other = EndUser.sample(partner), EndUser.sample(partner)
    await harness.endpoint(partner)
    await harness.order(user)
    await harness.order(other)
    [due] = await harness.completed(user)
    [sent] = await harness.completed(user)
    await harness.db[DELIVERIES].update_one({"_id": sent}, {"$set": {"status": "delivered"}})
    [others] = await harness.completed(other)

    command = RestrictSubject(**harness.task(), subject=SubjectRef(iccid=user.iccid))
    outcomes = by_category(await harness.run(command))

    assert outcomes["end_user_data"].disposition == Disposition.RESTRICTED
    assert outcomes["webhook_deliveries"].records == 1
    given_up = await harness.db[DELIVERIES].find_one({"_id": due})
    assert given_up is not None
    assert (given_up["status"], given_up["last"]["error"]) == ("exhausted", RESTRICTED_ERROR)
    statuses = {d["_id"]: d["status"] async for d in harness.db[DELIVERIES].find({})}
    assert (statuses[sent], statuses[others]) == ("delivered", "pending")
    assert await harness.completed(user) == []
    assert await harness.installed(user) == []
    assert len(await harness.completed(other)) == 1
    assert len(await harness.installed(other)) == 1


async def test_lifting_a_restriction_lets_webhooks_through_again(
    harness: ProvisioningOwner,
) -> None:
    """After the restriction is lifted, events about the eSIM are queued again."""
    user = EndUser.sample("ptn_lift")
    await harness.endpoint(user.partner_id)
    await harness.order(user)
    subject = SubjectRef(email=user.email)
    await harness.run(RestrictSubject(**harness.task(), subject=subject))
    assert await harness.completed(user) == []

    lifted = await harness.run(RestrictSubject(**harness.task(), subject=subject, restricted=False))

    assert by_category(lifted)["end_user_data"].disposition == Disposition.UNRESTRICTED
    assert len(await harness.completed(user)) == 1


async def test_a_restricted_end_users_top_up_queues_no_webhook(harness: ProvisioningOwner) -> None:
    """Restricting by email covers her top-ups too: an event about a top-up of her eSIM
    (its id as `order_id`) queues nothing."""
    user = EndUser.sample("ptn_restrict_topup")
    await harness.endpoint(user.partner_id)
    await harness.order(user)
    topup_id = await harness.topup(user)

    await harness.run(RestrictSubject(**harness.task(), subject=SubjectRef(email=user.email)))

    about_topup = dataclasses.replace(user, order_id=topup_id, iccid=new_iccid())
    assert await harness.completed(about_topup) == []


async def test_rectification_reseals_the_end_users_email(harness: ProvisioningOwner) -> None:
    """A corrected email is sealed with the order's key under a new blind index: the order
    opens to it, it finds the order and the old email no longer does; the change is
    recorded by field name."""
    user = EndUser.sample("ptn_rectify")
    await harness.order(user)
    corrected = f"fixed.{user.email}"

    command = RectifySubject(
        **harness.task(), subject=SubjectRef(iccid=user.iccid), changes={"email": corrected}
    )
    outcomes = by_category(await harness.run(command))

    assert outcomes["end_user_data"].disposition == Disposition.RECTIFIED
    token = await harness.sealed_email(user)
    assert token.startswith("enc1.")
    assert await harness.opens(user.order_id, "email", token) == corrected
    assert await harness.mentions(corrected) == []
    order = await harness.db[ORDERS].find_one({"_id": user.order_id})
    assert order is not None
    assert order["end_user"]["email_bidx"] == harness.vault.index("email", corrected)
    assert await harness.opens(user.order_id, "reference", order["end_user"]["reference"]) == (
        user.reference
    )
    new, old = [
        by_category(
            await harness.run(LocateSubject(**harness.task(), subject=SubjectRef(email=email)))
        )
        for email in (corrected, user.email)
    ]
    assert (new["orders"].records, old["orders"].records) == (1, 0)
    [record] = await harness.db[RECTIFICATIONS].find({"order_id": user.order_id}).to_list()
    assert record["fields"] == ["email"]


async def test_a_malformed_correction_is_refused_and_changes_nothing(
    harness: ProvisioningOwner,
) -> None:
    """A rectification to a malformed email fails the task and leaves the order as it was."""
    user = EndUser.sample("ptn_rectify_bad")
    await harness.order(user)
    before = await harness.db[ORDERS].find_one({"_id": user.order_id})

    command = RectifySubject(
        **harness.task(), subject=SubjectRef(email=user.email), changes={"email": "not-an-email"}
    )
    result = await harness.run(command, succeed=False)

    assert result.error is not None
    assert await harness.db[ORDERS].find_one({"_id": user.order_id}) == before
    assert await harness.db[RECTIFICATIONS].count_documents({}) == 0
