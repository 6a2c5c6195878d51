"""Locate and export through the real provisioning service: every collection that mentions
the subject is found by its indexed fields (sealed ones by their blind index), and an export
never shows a matching id, an activation code or a webhook secret."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.privacy import Disposition, ExportSubject, LocateSubject, SubjectRef
from provisioning.store import ESIMS, ORDERS
from provisioning.webhook_store import DELIVERIES
from servicekit.clock import utcnow
from servicekit.settings import ServiceSettings
from support.privacy_standin import by_category
from support.provisioning_owner import EndUser, ProvisioningOwner
from support.services import running


async def test_locate_counts_the_records_of_each_category(harness: ProvisioningOwner) -> None:
    """An ICCID finds its order, top-up, eSIM, callbacks, deliveries and their attempts; a
    partner id also finds its endpoints; categories without records are reported as none
    held."""
    partner = "ptn_locate"
    user, other = EndUser.sample(partner), EndUser.sample(partner)
    await harness.endpoint(partner)
    await harness.order(user)
    await harness.order(other)
    await harness.topup(user)
    await harness.callback(user.iccid)
    await harness.callback(user.iccid)
    [delivery] = await harness.completed(user)
    await harness.attempt(delivery, partner)
    await harness.completed(other)

    by_iccid = by_category(
        await harness.run(LocateSubject(**harness.task(), subject=SubjectRef(iccid=user.iccid)))
    )
    by_partner = by_category(
        await harness.run(LocateSubject(**harness.task(), subject=SubjectRef(partner_id=partner)))
    )

    assert {name: o.records for name, o in by_iccid.items()} == {
        "end_user_data": 1,
        "orders": 1,
        "topups": 1,
        "esim_profiles": 1,
        "provider_callbacks": 2,
        "webhook_endpoints": 0,
        "webhook_deliveries": 1,
        "webhook_attempts": 1,
    }
    assert by_iccid["provider_callbacks"].disposition == Disposition.FOUND
    assert by_iccid["webhook_endpoints"].disposition == Disposition.NONE_HELD
    assert by_partner["webhook_endpoints"].records == 1
    assert by_partner["webhook_deliveries"].records == 2
    assert (by_partner["orders"].records, by_partner["esim_profiles"].records) == (2, 2)


async def test_email_and_reference_are_found_only_through_their_blind_index(
    harness: ProvisioningOwner,
) -> None:
    """No order holds the end user's email or reference in plaintext; locating by either
    (the email in other letter case too) finds her order through the indexed blind index."""
    user, other = EndUser.sample("ptn_blind"), EndUser.sample("ptn_blind")
    await harness.order(user)
    await harness.order(other)

    subjects = [
        SubjectRef(email=user.email),
        SubjectRef(email=user.email.upper()),
        SubjectRef(end_user_ref=user.reference),
    ]
    found = [
        by_category(await harness.run(LocateSubject(**harness.task(), subject=subject)))
        for subject in subjects
    ]

    raw = [document async for document in harness.db[ORDERS].find({})]
    assert user.email not in repr(raw).lower()
    assert user.reference not in repr(raw)
    assert await harness.mentions(user.email) == []
    bidx = harness.vault.index("email", user.email)
    assert [d["_id"] for d in raw if d["end_user"]["email_bidx"] == bidx] == [user.order_id]
    for outcomes in found:
        assert (outcomes["orders"].records, outcomes["esim_profiles"].records) == (1, 1)
    indexes = await harness.db[ORDERS].index_information()
    indexed = {tuple(key for key, _ in index["key"]) for index in indexes.values()}
    assert {("end_user.email_bidx",), ("end_user.reference_bidx",), ("iccids",)} <= indexed


async def test_deliveries_carry_the_payloads_subject_in_indexed_fields(
    harness: ProvisioningOwner,
) -> None:
    """A queued delivery stores its payload's order id (and an eSIM event's ICCID)
    top-level, both indexed."""
    user = EndUser.sample("ptn_indexed")
    await harness.endpoint(user.partner_id)
    [completed_id] = await harness.completed(user)
    [installed_id] = await harness.installed(user)

    completed = await harness.db[DELIVERIES].find_one({"_id": completed_id})
    installed = await harness.db[DELIVERIES].find_one({"_id": installed_id})
    indexes = await harness.db[DELIVERIES].index_information()

    assert completed is not None
    assert installed is not None
    assert completed["order_id"] == user.order_id
    assert installed["iccid"] == user.iccid
    indexed = {tuple(key for key, _ in index["key"]) for index in indexes.values()}
    assert {("iccid",), ("order_id",), ("created_at",)} <= indexed


async def test_export_shows_the_subjects_records_but_no_credential(
    harness: ProvisioningOwner,
) -> None:
    """A partner's export lists its order with the end user opened, the top-up, the eSIM
    with usage and validity, the callbacks, its endpoint, the delivery with its payload and
    the attempt; no matching id, LPA string or sealed secret is in it."""
    user = EndUser.sample("ptn_export")
    endpoint_id = await harness.endpoint(user.partner_id)
    await harness.order(user)
    topup_id = await harness.topup(user)
    await harness.callback(user.iccid)
    [delivery_id] = await harness.completed(user)
    await harness.attempt(delivery_id, user.partner_id)
    ends = utcnow() + timedelta(days=30)
    await harness.db[ESIMS].update_one(
        {"_id": user.iccid}, {"$set": {"validity": {"ends_at": ends, "warned": 0}}}
    )
    esim = await harness.db[ESIMS].find_one({"_id": user.iccid})
    assert esim is not None

    result = await harness.run(
        ExportSubject(**harness.task(), subject=SubjectRef(partner_id=user.partner_id))
    )

    export = result.export
    assert export is not None
    [order] = export["orders"]
    assert order["end_user"] == {"email": user.email, "reference": user.reference}
    assert order["iccids"] == [user.iccid]
    assert [(t["topup_id"], t["iccid"]) for t in export["topups"]] == [(topup_id, user.iccid)]
    [exported_esim] = export["esims"]
    assert exported_esim["iccid"] == user.iccid
    assert exported_esim["data_remaining_bytes"] == esim["data_remaining_bytes"]
    assert exported_esim["validity_days"] == esim["validity_days"]
    exported_end = datetime.fromisoformat(exported_esim["validity_ends_at"])
    assert abs(exported_end - ends) < timedelta(milliseconds=1)
    assert [c["iccid"] for c in export["provider_callbacks"]] == [user.iccid]
    assert [e["id"] for e in export["webhook_endpoints"]] == [endpoint_id]
    [delivery] = export["webhook_deliveries"]
    assert delivery["payload"]["data"]["iccids"] == [user.iccid]
    assert [a["delivery_id"] for a in export["webhook_attempts"]] == [delivery_id]
    text = repr(export)
    for credential in (user.matching_id, user.activation_code, "LPA:", esim["matching_id"]):
        assert credential not in text, credential
    assert "sealed-secret-stand-in" not in text
    assert "secret" not in export["webhook_endpoints"][0]
    assert "matching_id" not in exported_esim


async def test_an_end_users_export_opens_her_sealed_fields(harness: ProvisioningOwner) -> None:
    """Exported by email, the end user's own order shows her email and reference in clear;
    another end user's order is not in it."""
    user, other = EndUser.sample("ptn_export_user"), EndUser.sample("ptn_export_user")
    await harness.order(user)
    await harness.order(other)

    result = await harness.run(
        ExportSubject(**harness.task(), subject=SubjectRef(email=user.email))
    )

    assert result.export is not None
    [order] = result.export["orders"]
    assert order["order_id"] == user.order_id
    assert order["end_user"] == {"email": user.email, "reference": user.reference}
    assert other.email not in repr(result.export)


async def test_without_keys_a_privacy_task_fails_instead_of_answering(
    namespace: ServiceSettings,
) -> None:
    """Provisioning without MASTER_KEYS/BLIND_INDEX_KEY cannot find or open sealed end-user
    fields: a locate fails (reported as failed), rather than claim nothing is held."""
    harness = ProvisioningOwner.build(namespace, master_keys=None, blind_index_key=None)
    async with running(harness.caller, harness.service):
        command = LocateSubject(**harness.task(), subject=SubjectRef(email="someone@example.com"))
        result = await harness.run(command, succeed=False)

    assert result.outcomes == []
    assert result.error is not None
    assert result.error.startswith("ServiceError")
