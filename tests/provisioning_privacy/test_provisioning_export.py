"""Locate and export through the real provisioning service: every collection that mentions
the subject is found by its indexed fields, and an export never shows a webhook secret."""

from __future__ import annotations

from provisioning_privacy_support import EndUser, Harness, by_category, task

from contracts.privacy import Disposition, ExportSubject, LocateSubject, SubjectRef
from provisioning.webhook_store import DELIVERIES


async def test_locate_counts_the_records_of_each_category(harness: Harness) -> None:
    """An ICCID finds its order, callbacks, deliveries and their attempts; a partner id also
    finds its endpoints; categories without records are reported as none held."""
    partner = "ptn_locate"
    user, other = EndUser.sample(partner), EndUser.sample(partner)
    await harness.endpoint(partner)
    await harness.order(user)
    await harness.order(other)
    await harness.callback(user.iccid)
    await harness.callback(user.iccid)
    [delivery] = await harness.completed(user)
    await harness.attempt(delivery, partner)
    await harness.completed(other)

    by_iccid = by_category(
        await harness.run(LocateSubject(**task(), subject=SubjectRef(iccid=user.iccid)))
    )
    by_partner = by_category(
        await harness.run(LocateSubject(**task(), subject=SubjectRef(partner_id=partner)))
    )

    assert {name: o.records for name, o in by_iccid.items()} == {
        "orders": 1,
        "provider_callbacks": 2,
        "webhook_endpoints": 0,
        "webhook_deliveries": 1,
        "webhook_attempts": 1,
    }
    assert by_iccid["provider_callbacks"].disposition == Disposition.FOUND
    assert by_iccid["webhook_endpoints"].disposition == Disposition.NONE_HELD
    assert by_partner["webhook_endpoints"].records == 1
    assert by_partner["webhook_deliveries"].records == 2


async def test_deliveries_carry_the_payloads_subject_in_indexed_fields(harness: Harness) -> None:
    """A queued delivery stores its payload's ICCID and order id top-level, both indexed."""
    user = EndUser.sample("ptn_indexed")
    await harness.endpoint(user.partner_id)
    [delivery_id] = await harness.completed(user)

    delivery = await harness.db[DELIVERIES].find_one({"_id": delivery_id})
    indexes = await harness.db[DELIVERIES].index_information()

    assert delivery is not None
    assert (delivery["iccid"], delivery["order_id"]) == (user.iccid, user.order_id)
    indexed = {tuple(key for key, _ in index["key"]) for index in indexes.values()}
    assert {("iccid",), ("order_id",), ("created_at",)} <= indexed


async def test_export_shows_the_subjects_records_but_no_secret(harness: Harness) -> None:
    """A partner's export lists its order, the callbacks of its eSIM, its endpoint, the
    delivery with its payload and the attempt; the sealed secret is not in it."""
    user = EndUser.sample("ptn_export")
    endpoint_id = await harness.endpoint(user.partner_id)
    await harness.order(user)
    await harness.callback(user.iccid)
    [delivery_id] = await harness.completed(user)
    await harness.attempt(delivery_id, user.partner_id)

    result = await harness.run(
        ExportSubject(**task(), subject=SubjectRef(partner_id=user.partner_id))
    )

    export = result.export
    assert export is not None
    [order] = export["orders"]
    assert order["end_user"] == {"email": user.email, "reference": user.reference}
    assert [c["iccid"] for c in export["provider_callbacks"]] == [user.iccid]
    assert [e["id"] for e in export["webhook_endpoints"]] == [endpoint_id]
    [delivery] = export["webhook_deliveries"]
    assert delivery["payload"]["data"]["iccid"] == user.iccid
    assert [a["delivery_id"] for a in export["webhook_attempts"]] == [delivery_id]
    assert "sealed-secret-stand-in" not in repr(export)
    assert "secret" not in export["webhook_endpoints"][0]
