"""Erasure through the real provisioning service: end-user fields shredded and removed, orders,
top-ups and eSIMs kept pseudonymised for 7 years, callbacks and webhook logs of the subject
deleted, a partner's key (its eSIMs' matching ids) shredded, and a repeat changes nothing."""

from __future__ import annotations

from datetime import timedelta

from contracts.privacy import Disposition, LegalBasis, SubjectRef
from provisioning.callbacks import CALLBACKS
from provisioning.inventory import TRANSACTION_RETENTION_DAYS
from provisioning.privacy import ERASED_BODY_HASH
from provisioning.store import ESIMS, ORDERS
from provisioning.webhook_store import ATTEMPTS, DELIVERIES, ENDPOINTS
from servicekit.keyring import KEY_COLLECTION
from support.privacy_standin import by_category
from support.provisioning_owner import EndUser, ProvisioningOwner

SEVEN_YEARS = timedelta(days=TRANSACTION_RETENTION_DAYS)


async def test_erasing_an_end_user_keeps_only_the_pseudonymised_order(
    harness: ProvisioningOwner,
) -> None:
    """Erasure by email shreds the order's key, removes the end user's fields and blind
    indexes, deletes callbacks, deliveries and attempts, and keeps the order and the eSIM,
    reported retained for 7 years from their creation; others' records stay readable."""
    partner = "ptn_erase_a"
    user, other = EndUser.sample(partner), EndUser.sample(partner)
    await harness.endpoint(partner)
    attempts = {}
    for someone in (user, other):
        await harness.order(someone)
        await harness.callback(someone.iccid)
        [delivery] = await harness.completed(someone)
        attempts[someone.email] = await harness.attempt(delivery, partner)
    token, others_token = await harness.sealed_email(user), await harness.sealed_email(other)

    result = await harness.erase(SubjectRef(email=user.email))

    outcomes = by_category(result)
    assert (outcomes["end_user_data"].disposition, outcomes["end_user_data"].records) == (
        Disposition.DELETED,
        1,
    )
    order = await harness.db[ORDERS].find_one({"_id": user.order_id})
    assert order is not None
    for category in ("orders", "esim_profiles"):
        kept = outcomes[category]
        assert (kept.disposition, kept.records) == (Disposition.PSEUDONYMISED, 1), category
        assert kept.legal_basis == LegalBasis.LEGAL_OBLIGATION
        assert kept.retained_until == (order["created_at"] + SEVEN_YEARS).date()
    for category in ("provider_callbacks", "webhook_deliveries", "webhook_attempts"):
        assert (outcomes[category].disposition, outcomes[category].records) == (
            Disposition.DELETED,
            1,
        ), category
    assert "end_user" not in order
    assert order["end_user_erasure"]["at"] is not None
    assert order["body_hash"] == ERASED_BODY_HASH
    assert order["iccids"] == [user.iccid]
    assert await harness.opens(user.order_id, "email", token) is None
    assert await harness.db[KEY_COLLECTION].find_one({"_id": user.order_id}) is None
    assert await harness.opens(other.order_id, "email", others_token) == other.email
    for value in (user.email, user.reference, harness.vault.index("email", user.email)):
        assert await harness.mentions(value) == [], value
    assert sorted(await harness.mentions(user.iccid)) == [
        f"{ESIMS}:{user.iccid}",
        f"{ORDERS}:{user.order_id}",
    ]
    assert len(await harness.mentions(other.iccid)) == 4  # order, eSIM, callback, delivery
    assert await harness.ids(ATTEMPTS) == {attempts[other.email]}


async def test_a_repeated_erasure_changes_nothing(harness: ProvisioningOwner) -> None:
    """Erasing the same ICCID twice: the second finds nothing left to delete or shred."""
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

    assert first["end_user_data"].records == 1
    assert first["provider_callbacks"].records == 1
    assert first["webhook_deliveries"].records == 1
    for category in ("end_user_data", "provider_callbacks", "webhook_deliveries"):
        assert second[category].disposition == Disposition.NONE_HELD, category
    assert second["orders"].disposition == Disposition.PSEUDONYMISED
    after = {name: await harness.db[name].count_documents({}) for name in (ORDERS, DELIVERIES)}
    assert after == counts == {ORDERS: 1, DELIVERIES: 0}


async def test_top_ups_of_the_end_users_esim_are_kept_and_reported(
    harness: ProvisioningOwner,
) -> None:
    """An end user found by reference also has the top-ups of her eSIM (found by ICCID):
    kept as transaction records, reported retained; another eSIM's top-up is not counted."""
    user, other = EndUser.sample("ptn_erase_topup"), EndUser.sample("ptn_erase_topup")
    await harness.order(user)
    await harness.order(other)
    topup_id = await harness.topup(user)
    await harness.topup(other)

    outcomes = by_category(await harness.erase(SubjectRef(end_user_ref=user.reference)))

    kept = outcomes["topups"]
    assert (kept.disposition, kept.records) == (Disposition.PSEUDONYMISED, 1)
    assert kept.legal_basis == LegalBasis.LEGAL_OBLIGATION
    topup = await harness.db[ORDERS].find_one({"_id": topup_id})
    assert topup is not None
    assert kept.retained_until == (topup["created_at"] + SEVEN_YEARS).date()
    assert await harness.db[ORDERS].count_documents({}) == 4


async def test_erasing_a_partner_deletes_its_endpoints_and_delivery_logs(
    harness: ProvisioningOwner,
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


async def test_erasing_a_partner_shreds_its_esims_matching_ids_and_end_users(
    harness: ProvisioningOwner,
) -> None:
    """A partner's erasure keeps its orders and eSIMs (7 years) but shreds the partner's key,
    so the eSIMs' matching ids no longer open, and its end users' fields; another partner's
    eSIM still opens."""
    gone, staying = EndUser.sample("ptn_shred_gone"), EndUser.sample("ptn_shred_stay")
    for user in (gone, staying):
        await harness.order(user)
    token = await harness.sealed_email(gone)

    outcomes = by_category(await harness.erase(SubjectRef(partner_id=gone.partner_id)))

    assert outcomes["esim_profiles"].disposition == Disposition.PSEUDONYMISED
    assert outcomes["esim_profiles"].retained_until is not None
    assert outcomes["end_user_data"].records == 1
    esims = {e["_id"]: e async for e in harness.db[ESIMS].find({})}
    assert set(esims) == {gone.iccid, staying.iccid}
    assert await harness.opens(gone.iccid, "matching_id", esims[gone.iccid]["matching_id"]) is None
    opened = await harness.opens(staying.iccid, "matching_id", esims[staying.iccid]["matching_id"])
    assert opened == staying.matching_id
    assert await harness.db[KEY_COLLECTION].find_one({"_id": gone.partner_id}) is None
    assert await harness.opens(gone.order_id, "email", token) is None
    order = await harness.db[ORDERS].find_one({"_id": gone.order_id})
    assert order is not None
    assert "end_user" not in order
