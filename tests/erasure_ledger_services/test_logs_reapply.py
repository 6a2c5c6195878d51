"""The logs service and the erasure ledger: an erasure applied again after a restore from
backup (also a partner's scoped one), and shipped records older than an erasure dropped."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY
from reapply_support import Backup, Reapplier, erased_again, ledger_identifiers

from contracts.erasure_ledger import ReapplyErasure, SubjectErased
from contracts.logs import TechnicalRecord, TechnicalRecordsShipped
from contracts.privacy import EraseSubject, SubjectRef
from logs.store import API_REQUESTS, TECHNICAL
from servicekit.clock import utcnow
from servicekit.erasures import ERASED_SUBJECTS, REAPPLIED
from servicekit.ids import new_id
from support.logs_owner import LogsOwner, sample_agent, sample_ip
from support.waiting import eventually

COLLECTIONS = [API_REQUESTS, TECHNICAL]


async def test_restored_logs_of_a_user_are_erased_again(
    logs: tuple[LogsOwner, Reapplier],
) -> None:
    """A user's records (by user id and by email only), erased, restored from a backup with
    their keys, are deleted again by the reapply and their keys shredded again; the answer
    counts them, and another user's record is untouched."""
    harness, reapplier = logs
    email = f"{new_id('u')}@partner.example.com"
    signed_in = await harness.technical(partner_id="ptn_l", user_id="usr_gone", ip=sample_ip())
    failed = await harness.technical(email=email, ip=sample_ip(), user_agent=sample_agent())
    other = await harness.technical(partner_id="ptn_l", user_id="usr_stays", email="k@x.io")
    backup = await Backup.take(harness.db, COLLECTIONS)
    subject = SubjectRef(user_id="usr_gone", email=email)
    await harness.run(EraseSubject(**harness.task(), subject=subject))
    await backup.restore(harness.db)
    assert await harness.opens(failed, "email") == email

    answer = await reapplier.reapply(subject, harness.vault.index)

    assert erased_again(answer) == {"technical_logs": 2}
    assert await harness.sign_in_ids() == {other["_id"]}
    assert await harness.opens(signed_in, "ip") is None
    assert await harness.opens(failed, "email") is None
    assert await harness.opens(other, "email") == "k@x.io"


async def test_a_scoped_reapply_erases_only_the_partners_records(
    logs: tuple[LogsOwner, Reapplier],
) -> None:
    """A partner's erasure of an IP address, applied again after a restore, deletes that
    partner's records of the address and leaves another partner's and anonymous ones."""
    harness, reapplier = logs
    ip, agent = sample_ip(), sample_agent()
    await harness.api_request(partner_id="ptn_asks", ip=ip, user_agent=agent)
    theirs = await harness.api_request(partner_id="ptn_other", ip=ip, user_agent=agent)
    anonymous = await harness.api_request(partner_id=None, ip=ip, user_agent=agent)
    backup = await Backup.take(harness.db, COLLECTIONS)
    subject = SubjectRef(ip=ip)
    scoped = EraseSubject(**harness.task(), subject=subject, scope_partner_id="ptn_asks")
    await harness.run(scoped)
    await backup.restore(harness.db)
    assert len(await harness.ids(API_REQUESTS)) == 3

    answer = await reapplier.reapply(subject, harness.vault.index, scope="ptn_asks")

    assert erased_again(answer) == {"api_request_logs": 1}
    assert await harness.ids(API_REQUESTS) == {theirs["_id"], anonymous["_id"]}
    assert await harness.opens(theirs, "ip") == ip
    assert await harness.opens(anonymous, "user_agent") == agent


def _dropped() -> float:
    value = REGISTRY.get_sample_value("privacy_late_records_dropped_total", {"service": "logs"})
    return value or 0.0


def _sign_in(at_offset: timedelta, **personal: str) -> TechnicalRecord:
    """A failed sign-in shipped by accounts, `at_offset` from now."""
    fields = {"service": "accounts", "level": "warning", "event": "sign_in_failed"}
    return TechnicalRecord.model_validate({"at": utcnow() + at_offset, **fields, **personal})


async def test_late_records_of_an_erased_subject_are_dropped(
    logs: tuple[LogsOwner, Reapplier],
) -> None:
    """Shipped records about an erased email or IP address that occurred before the erasure
    are dropped and counted; those after it, and about others, are kept."""
    harness, _ = logs
    email, ip, other_ip = f"{new_id('late')}@example.com", sample_ip(), sample_ip()
    subject = SubjectRef(email=email, ip=ip)
    erased = SubjectErased(
        request_id=new_id("dsr"),
        identifiers=ledger_identifiers(subject, harness.vault.index),
        erased_at=utcnow(),
    )
    await harness.caller.bus.publish(erased)
    await eventually(
        lambda: harness.db[ERASED_SUBJECTS].find_one({"_id": erased.request_id}),
        what="logs remembers the erasure",
    )
    before = _dropped()
    records = [
        _sign_in(-timedelta(minutes=5), email=email.upper(), ip=other_ip),
        _sign_in(-timedelta(minutes=5), ip=ip),
        _sign_in(timedelta(seconds=5), email=email, ip=ip),
        _sign_in(-timedelta(minutes=5), email="someone@else.example", ip=other_ip),
    ]
    message = TechnicalRecordsShipped(records=records)
    await harness.caller.bus.publish(message)

    async def stored() -> int | None:
        count = await harness.db[TECHNICAL].count_documents({})
        return count if count == 2 else None

    await eventually(stored, what="the kept records stored")
    assert _dropped() - before == 2
    kept = await harness.db[TECHNICAL].find({}).to_list()
    assert sorted([await harness.opens(k, "email") or "" for k in kept]) == [
        email,
        "someone@else.example",
    ]


def _reapplies_handled() -> float:
    labels = {"service": "logs", "type": ReapplyErasure.TYPE, "outcome": "handled"}
    return REGISTRY.get_sample_value("bus_messages_consumed_total", labels) or 0.0


async def test_a_run_applies_each_entry_once(logs: tuple[LogsOwner, Reapplier]) -> None:
    """A second command of the same run and erasure request (another message id) is handled
    without erasing or answering again: the answer is written once, with its marker."""
    harness, reapplier = logs
    ip = sample_ip()
    await harness.api_request(partner_id=None, ip=ip, user_agent=sample_agent())
    backup = await Backup.take(harness.db, COLLECTIONS)
    subject = SubjectRef(ip=ip)
    first = await reapplier.reapply(subject, harness.vault.index)
    assert erased_again(first) == {"api_request_logs": 1}
    await backup.restore(harness.db)
    handled = _reapplies_handled()
    again = ReapplyErasure(
        run_id=first.run_id,
        request_id=first.request_id,
        identifiers=ledger_identifiers(subject, harness.vault.index),
        erased_at=utcnow(),
    )
    await harness.caller.bus.publish(again, to="logs")

    async def consumed() -> bool:
        return _reapplies_handled() > handled

    await eventually(consumed, what="the repeated command handled")
    assert len(await harness.ids(API_REQUESTS)) == 1
    assert len(reapplier.answers) == 1
    assert await harness.db[REAPPLIED].count_documents({}) == 1
