"""Erasure through the real provisioning service: end-user data removed, orders kept
pseudonymised for 7 years, callbacks and webhook logs of the subject deleted, and a repeat
changes nothing."""

from __future__ import annotations

from datetime import timedelta

from provisioning_privacy_support import EndUser, Harness, by_category

from contracts.privacy import Disposition, LegalBasis, SubjectRef
from provisioning.callbacks import CALLBACKS
from provisioning.inventory import TRANSACTION_RETENTION_DAYS
from provisioning.store import ORDERS
from provisioning.webhook_store import ATTEMPTS, DELIVERIES, ENDPOINTS
from servicekit.clock import utcnow


async def test_erasing_an_end_user_keeps_only_the_pseudonymised_order(harness: Harness) -> None:
    """Erasure by email deletes the end user's data, callbacks, deliveries and attempts, and
    keeps the order, without the end user, for 7 years; others' records stay."""
    partner = "ptn_erase_a"
    user, other = EndUser.sample(partner), EndUser.sample(partner)
    await harness.endpoint(partner)
    attempts = {}
    for someone in (user, other):
        await harness.order(someone)
        await harness.callback(someone.iccid)
        [delivery] = await harness.completed(someone)
        attempts[someone.email] = await harness.attempt(delivery, partner)

    result = await harness.erase(SubjectRef(email=user.email))

    outcomes = by_category(result)
    assert outcomes["end_user_data"].disposition == Disposition.DELETED
    kept = outcomes["orders"]
    assert (kept.disposition, kept.records) == (Disposition.PSEUDONYMISED, 1)
    assert kept.legal_basis == LegalBasis.LEGAL_OBLIGATION
    assert kept.retained_until is not None
    assert kept.retained_until >= (utcnow() + timedelta(days=TRANSACTION_RETENTION_DAYS)).date()
    for category in ("provider_callbacks", "webhook_deliveries", "webhook_attempts"):
        assert (outcomes[category].disposition, outcomes[category].records) == (
            Disposition.DELETED,
            1,
        ), category
    order = await harness.db[ORDERS].find_one({"_id": user.order_id})
    assert order is not None
    assert order["iccid"] == user.iccid
    assert "email" not in order["end_user"]
    assert "reference" not in order["end_user"]
    for value in (user.email, user.reference):
        assert await harness.mentions(value) == []
    assert await harness.mentions(user.iccid) == [f"{ORDERS}:{user.order_id}"]
    assert len(await harness.mentions(other.iccid)) == 3  # order, callback, delivery
    assert await harness.ids(ATTEMPTS) == {attempts[other.email]}


async def test_a_repeated_erasure_changes_nothing(harness: Harness) -> None:
    """Erasing the same ICCID twice: the second finds nothing left to delete."""
    partner = "ptn_erase_b"
    user = EndUser.sample(partner)
    await harness.endpoint(partner)
    await harness.order(user)
    await harness.callback(user.iccid)
    await harness.completed(user)
    subject = SubjectRef(iccid=user.iccid)

    first = by_category(await harness.erase(subject))
    counts = {name: await harness.db[name].count_documents({}) for name in (ORDERS, DELIVERIES)}
    second = by_category(await harness.erase(subject))

    assert first["provider_callbacks"].records == 1
    assert first["webhook_deliveries"].records == 1
    for category in ("provider_callbacks", "webhook_deliveries", "webhook_attempts"):
        assert second[category].disposition == Disposition.NONE_HELD, category
    assert second["orders"].disposition == Disposition.PSEUDONYMISED
    after = {name: await harness.db[name].count_documents({}) for name in (ORDERS, DELIVERIES)}
    assert after == counts == {ORDERS: 1, DELIVERIES: 0}


async def test_erasing_a_partner_deletes_its_endpoints_and_delivery_logs(
    harness: Harness,
) -> None:
    """Erasure by partner id deletes its webhook endpoints, deliveries and attempts; another
    partner's stay untouched."""
    gone, staying = EndUser.sample("ptn_erase_gone"), EndUser.sample("ptn_erase_stay")
    for user in (gone, staying):
        await harness.endpoint(user.partner_id)
        await harness.order(user)
        [delivery] = await harness.completed(user)
        await harness.attempt(delivery, user.partner_id)

    outcomes = by_category(await harness.erase(SubjectRef(partner_id=gone.partner_id)))

    assert outcomes["webhook_endpoints"].disposition == Disposition.DELETED
    assert outcomes["webhook_endpoints"].records == 1
    for name in (ENDPOINTS, DELIVERIES, ATTEMPTS):
        assert await harness.ids(name, {"partner_id": gone.partner_id}) == set(), name
        assert len(await harness.ids(name, {"partner_id": staying.partner_id})) == 1, name
    assert await harness.ids(CALLBACKS) == set()
