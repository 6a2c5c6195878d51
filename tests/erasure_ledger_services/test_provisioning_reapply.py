"""The provisioning service and the erasure ledger: an end user's erasure applied again after
a restore from backup (also a partner's scoped one), and a provider callback older than an
erasure of its eSIM's subject recorded without the ICCID."""

from __future__ import annotations

from datetime import timedelta

from reapply_support import Backup, Reapplier, erased_again, ledger_identifiers

from contracts.erasure_ledger import SubjectErased
from contracts.privacy import EraseSubject, SubjectRef
from provisioning.callbacks import CALLBACKS, ERASED_SUBJECT, CallbackReceiver, ProviderCallback
from provisioning.store import ESIMS, ORDERS
from servicekit.clock import utcnow
from servicekit.erasures import ERASED_SUBJECTS, ErasureRegister
from servicekit.ids import new_id
from servicekit.keyring import KEY_COLLECTION
from support.provisioning_owner import EndUser, ProvisioningOwner
from support.waiting import eventually

COLLECTIONS = [ORDERS, ESIMS, CALLBACKS]


async def test_a_restored_end_user_is_erased_again(
    provisioning: tuple[ProvisioningOwner, Reapplier],
) -> None:
    """An end user erased by email and reference, restored with the order's key, loses the
    end-user fields and key again and the callbacks about the eSIM; another end user's
    order stays readable."""
    harness, reapplier = provisioning
    user, other = EndUser.sample("ptn_r"), EndUser.sample("ptn_r")
    for someone in (user, other):
        await harness.order(someone)
        await harness.callback(someone.iccid)
    token, others_token = await harness.sealed_email(user), await harness.sealed_email(other)
    backup = await Backup.take(harness.db, COLLECTIONS)
    subject = SubjectRef(email=user.email, end_user_ref=user.reference)
    await harness.erase(subject)
    await backup.restore(harness.db)
    assert await harness.opens(user.order_id, "email", token) == user.email

    answer = await reapplier.reapply(subject, harness.vault.index)

    assert erased_again(answer) == {
        "end_user_data": 1,
        "orders": 1,
        "esim_profiles": 1,
        "provider_callbacks": 1,
    }
    assert await harness.opens(user.order_id, "email", token) is None
    assert await harness.db[KEY_COLLECTION].find_one({"_id": user.order_id}) is None
    for value in (user.email, user.reference):
        assert await harness.mentions(value) == [], value
    assert await harness.opens(other.order_id, "email", others_token) == other.email
    assert await harness.db[CALLBACKS].count_documents({"iccid": other.iccid}) == 1


async def test_a_scoped_reapply_leaves_the_other_partners_end_user(
    provisioning: tuple[ProvisioningOwner, Reapplier],
) -> None:
    """A partner's erasure of an email, applied again after a restore, erases its own end
    user's fields again and leaves the same email's order at another partner readable."""
    harness, reapplier = provisioning
    mine = EndUser.sample("ptn_asks")
    theirs = EndUser.sample("ptn_other")
    theirs = EndUser(**{**theirs.__dict__, "email": mine.email})
    for someone in (mine, theirs):
        await harness.order(someone)
    token, their_token = await harness.sealed_email(mine), await harness.sealed_email(theirs)
    backup = await Backup.take(harness.db, COLLECTIONS)
    subject = SubjectRef(email=mine.email)
    await harness.run(EraseSubject(**harness.task(), subject=subject, scope_partner_id="ptn_asks"))
    await backup.restore(harness.db)

    answer = await reapplier.reapply(subject, harness.vault.index, scope="ptn_asks")

    assert erased_again(answer)["end_user_data"] == 1
    assert await harness.opens(mine.order_id, "email", token) is None
    assert await harness.opens(theirs.order_id, "email", their_token) == mine.email


async def test_a_late_callback_about_an_erased_esim_keeps_no_iccid(
    provisioning: tuple[ProvisioningOwner, Reapplier],
) -> None:
    """Once the erasure of an ICCID is announced, a callback about it that occurred before is
    recorded without the ICCID and publishes nothing; one that occurred after is kept whole."""
    harness, _ = provisioning
    user = EndUser.sample("ptn_late")
    await harness.order(user)
    erased_at = utcnow()
    erased = SubjectErased(
        request_id=new_id("dsr"),
        identifiers=ledger_identifiers(SubjectRef(iccid=user.iccid), harness.vault.index),
        erased_at=erased_at,
    )
    await harness.caller.bus.publish(erased)
    await eventually(
        lambda: harness.db[ERASED_SUBJECTS].find_one({"_id": erased.request_id}),
        what="provisioning remembers the erasure",
    )
    receiver = CallbackReceiver(
        db=harness.db,
        secret=None,
        outgoing=harness.service.bus.outgoing,
        erasures=ErasureRegister(harness.db, harness.vault.blind_index),
    )
    data = {"data_used_bytes": 10, "data_remaining_bytes": 90}
    moments = {
        "whk_late": erased_at - timedelta(minutes=1),
        "whk_new": erased_at + timedelta(seconds=1),
    }
    for webhook_id, occurred_at in moments.items():
        callback = ProviderCallback(
            type="usage.updated", iccid=user.iccid, occurred_at=occurred_at, data=data
        )
        assert await receiver.record(webhook_id, callback)

    late = await harness.db[CALLBACKS].find_one({"_id": "whk_late"})
    new = await harness.db[CALLBACKS].find_one({"_id": "whk_new"})
    assert late is not None
    assert new is not None
    assert late["subject"] == ERASED_SUBJECT
    assert "iccid" not in late
    assert "data" not in late
    assert late["_outbox"] == []
    assert new["iccid"] == user.iccid
    assert new["data"] == data
