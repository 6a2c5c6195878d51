"""Partner scope in provisioning: a partner's request reaches only its own end users' orders,
eSIMs, callbacks and webhooks; the same email and reference under another partner, another
partner's ICCID and another partner's id are untouched; without a scope both are reached."""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts.privacy import (
    Disposition,
    EraseSubject,
    ExportSubject,
    LocateSubject,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from provisioning.callbacks import CALLBACKS
from provisioning.store import ESIMS, ORDERS
from provisioning.webhook_store import DELIVERIES, ENDPOINTS
from support.privacy_standin import by_category, task_of
from support.provisioning_owner import EndUser, ProvisioningOwner


@dataclass(frozen=True)
class TwoPartners:
    """One end user's email and reference, with an order under partner A and one under B."""

    a: EndUser
    b: EndUser


async def _two_partners(harness: ProvisioningOwner) -> TwoPartners:
    a = EndUser.sample("ptn_scope_a")
    b = replace(EndUser.sample("ptn_scope_b"), email=a.email, reference=a.reference)
    for user in (a, b):
        await harness.endpoint(user.partner_id)
        await harness.order(user)
        await harness.callback(user.iccid)
        await harness.completed(user)
    return TwoPartners(a=a, b=b)


async def _b_untouched(harness: ProvisioningOwner, b: EndUser) -> None:
    """B's order still opens to the end user's email; its eSIM's matching id (the
    partner's key) opens; its callback, endpoint and pending delivery are there, and a new
    event about B's order still queues a webhook."""
    order = await harness.db[ORDERS].find_one({"_id": b.order_id})
    assert order is not None
    assert await harness.opens(b.order_id, "email", order["end_user"]["email"]) == b.email
    esim = await harness.db[ESIMS].find_one({"_id": b.iccid})
    assert esim is not None
    assert await harness.opens(b.iccid, "matching_id", esim["matching_id"]) == b.matching_id
    assert await harness.ids(CALLBACKS, {"iccid": b.iccid})
    assert await harness.ids(ENDPOINTS, {"partner_id": b.partner_id})
    deliveries = harness.db[DELIVERIES].find({"partner_id": b.partner_id})
    assert [d["status"] async for d in deliveries] == ["pending"]
    assert len(await harness.completed(b)) == 1


async def _held(
    harness: ProvisioningOwner, subject: SubjectRef, scope: str | None
) -> dict[str, int]:
    command = LocateSubject(**harness.task(), subject=subject, scope_partner_id=scope)
    result = await harness.run(command)
    return {name: o.records for name, o in by_category(result).items() if o.records}


def _scoped(subject: SubjectRef, scope: str) -> dict[str, object]:
    return {**task_of("provisioning"), "subject": subject, "scope_partner_id": scope}


async def test_a_partners_erasure_erases_its_own_end_user_only(harness: ProvisioningOwner) -> None:
    """Erasing the email scoped to A erases A's end-user fields and deletes A's callback and
    deliveries; B's order, eSIM, callback, endpoint and delivery are as they were."""
    two = await _two_partners(harness)

    result = await harness.run(
        EraseSubject(**_scoped(SubjectRef(email=two.a.email), "ptn_scope_a"))
    )

    outcomes = by_category(result)
    assert outcomes["end_user_data"].records == 1
    assert outcomes["provider_callbacks"].records == 1
    assert outcomes["webhook_deliveries"].records == 1
    order = await harness.db[ORDERS].find_one({"_id": two.a.order_id})
    assert order is not None
    assert "end_user" not in order
    await _b_untouched(harness, two.b)


async def test_a_partners_export_holds_only_its_own_records(harness: ProvisioningOwner) -> None:
    """An export by reference scoped to A lists A's order, eSIM and callback only."""
    two = await _two_partners(harness)
    subject = SubjectRef(end_user_ref=two.a.reference)

    result = await harness.run(ExportSubject(**_scoped(subject, "ptn_scope_a")))

    assert result.export is not None
    assert [o["order_id"] for o in result.export["orders"]] == [two.a.order_id]
    assert [e["iccid"] for e in result.export["esims"]] == [two.a.iccid]
    assert [c["iccid"] for c in result.export["provider_callbacks"]] == [two.a.iccid]
    assert len(result.export["webhook_endpoints"]) == 0  # found by partner id only


async def test_a_partners_restriction_flags_its_own_order_only(harness: ProvisioningOwner) -> None:
    """A restriction by email scoped to A stops A's webhooks and gives up A's delivery; B's
    webhooks still flow and its delivery is still due."""
    two = await _two_partners(harness)

    result = await harness.run(
        RestrictSubject(**_scoped(SubjectRef(email=two.a.email), "ptn_scope_a"))
    )

    assert by_category(result)["end_user_data"].records == 1
    assert by_category(result)["webhook_deliveries"].records == 1
    assert await harness.completed(two.a) == []
    await _b_untouched(harness, two.b)


async def test_a_partners_rectification_corrects_its_own_order_only(
    harness: ProvisioningOwner,
) -> None:
    """A rectification of the email scoped to A re-seals A's order; B's order keeps the old
    email, and the corrected email is found under A only."""
    two = await _two_partners(harness)
    corrected = "corrected.traveller@example.net"

    result = await harness.run(
        RectifySubject(
            **_scoped(SubjectRef(email=two.a.email), "ptn_scope_a"), changes={"email": corrected}
        )
    )

    assert by_category(result)["end_user_data"].disposition == Disposition.RECTIFIED
    assert by_category(result)["end_user_data"].records == 1
    assert (await _held(harness, SubjectRef(email=corrected), None))["end_user_data"] == 1
    await _b_untouched(harness, two.b)


async def test_without_a_scope_both_partners_end_users_are_reached(
    harness: ProvisioningOwner,
) -> None:
    """Unscoped, the email finds both orders and eSIMs; an erasure erases both."""
    two = await _two_partners(harness)
    subject = SubjectRef(email=two.a.email)

    held = await _held(harness, subject, None)
    await harness.erase(subject)

    assert (held["end_user_data"], held["esim_profiles"], held["provider_callbacks"]) == (2, 2, 2)
    for user in (two.a, two.b):
        order = await harness.db[ORDERS].find_one({"_id": user.order_id})
        assert order is not None
        assert "end_user" not in order


async def test_another_partners_iccid_or_id_touches_nothing(harness: ProvisioningOwner) -> None:
    """Scoped to A, B's ICCID and B's partner id find nothing, and erasing or restricting by
    them leaves B's records (and B's key) as they were; A's own ICCID is found."""
    two = await _two_partners(harness)
    by_iccid, by_partner = SubjectRef(iccid=two.b.iccid), SubjectRef(partner_id="ptn_scope_b")

    assert await _held(harness, by_iccid, "ptn_scope_a") == {}
    assert await _held(harness, by_partner, "ptn_scope_a") == {}
    for subject in (by_iccid, by_partner):
        erased: PrivacyTaskCompleted = await harness.run(
            EraseSubject(**_scoped(subject, "ptn_scope_a"))
        )
        assert all(o.records == 0 for o in erased.outcomes)
        await harness.run(RestrictSubject(**_scoped(subject, "ptn_scope_a")))

    await _b_untouched(harness, two.b)
    own = await _held(harness, SubjectRef(iccid=two.a.iccid), "ptn_scope_a")
    assert (own["esim_profiles"], own["provider_callbacks"]) == (1, 1)
