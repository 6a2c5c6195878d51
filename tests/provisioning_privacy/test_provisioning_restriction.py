"""Restriction and rectification through the real provisioning service: a restricted end
user's queued webhooks are given up and no new one is queued; corrections reach the orders."""

from __future__ import annotations

from provisioning_privacy_support import EndUser, Harness, by_category, task

from contracts.privacy import Disposition, RectifySubject, RestrictSubject, SubjectRef
from provisioning.privacy import RESTRICTED_ERROR
from provisioning.store import ORDERS, RECTIFICATIONS
from provisioning.webhook_store import DELIVERIES


async def test_restriction_stops_every_webhook_about_the_end_user(harness: Harness) -> None:
    """Restricting by ICCID gives up the due deliveries carrying it, leaves delivered ones
    and other end users' alone, and later events about the eSIM queue nothing."""
    partner = "ptn_restrict"
    user, other = EndUser.sample(partner), EndUser.sample(partner)
    await harness.endpoint(partner)
    await harness.order(user)
    await harness.order(other)
    [due] = await harness.completed(user)
    [sent] = await harness.completed(user)
    await harness.db[DELIVERIES].update_one({"_id": sent}, {"$set": {"status": "delivered"}})
    [others] = await harness.completed(other)

    command = RestrictSubject(**task(), subject=SubjectRef(iccid=user.iccid))
    outcomes = by_category(await harness.run(command))

    assert outcomes["end_user_data"].disposition == Disposition.RESTRICTED
    assert outcomes["webhook_deliveries"].records == 1
    given_up = await harness.db[DELIVERIES].find_one({"_id": due})
    assert given_up is not None
    assert (given_up["status"], given_up["last"]["error"]) == ("exhausted", RESTRICTED_ERROR)
    statuses = {d["_id"]: d["status"] async for d in harness.db[DELIVERIES].find({})}
    assert (statuses[sent], statuses[others]) == ("delivered", "pending")
    assert await harness.completed(user) == []
    assert len(await harness.completed(other)) == 1


async def test_lifting_a_restriction_lets_webhooks_through_again(harness: Harness) -> None:
    """After the restriction is lifted, events about the eSIM are queued again."""
    user = EndUser.sample("ptn_lift")
    await harness.endpoint(user.partner_id)
    await harness.order(user)
    subject = SubjectRef(email=user.email)
    await harness.run(RestrictSubject(**task(), subject=subject))
    assert await harness.completed(user) == []

    lifted = await harness.run(RestrictSubject(**task(), subject=subject, restricted=False))

    assert by_category(lifted)["end_user_data"].disposition == Disposition.UNRESTRICTED
    assert len(await harness.completed(user)) == 1


async def test_rectification_corrects_the_end_users_email_on_the_orders(harness: Harness) -> None:
    """A corrected email replaces the old one on the order and the change is recorded."""
    user = EndUser.sample("ptn_rectify")
    await harness.order(user)
    corrected = f"fixed.{user.email}"

    command = RectifySubject(
        **task(), subject=SubjectRef(iccid=user.iccid), changes={"email": corrected}
    )
    outcomes = by_category(await harness.run(command))

    assert outcomes["end_user_data"].disposition == Disposition.RECTIFIED
    order = await harness.db[ORDERS].find_one({"_id": user.order_id})
    assert order is not None
    assert order["end_user"]["email"] == corrected
    assert await harness.db[RECTIFICATIONS].count_documents({"order_id": user.order_id}) == 1
