"""Restriction and objection through the real logs service: the flags are the register's
(kept from the privacy service's broadcast, identifiers by blind index), set and lifted
independently, honoured by the analytics and kept after an erasure; rectification answered
as not applicable to logs."""

from __future__ import annotations

from contracts.privacy import (
    Disposition,
    EraseSubject,
    ExportSubject,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from logs.analytics import left_out
from servicekit.restrictions import RESTRICTED_SUBJECTS, Flags
from support.logs_owner import LogsOwner, sample_ip
from support.privacy_standin import by_category

REGISTER = RESTRICTED_SUBJECTS


async def restrict(
    harness: LogsOwner, subject: SubjectRef, *, restricted: bool, objection: bool = False
) -> None:
    """Send one restrict (or object) command, with its broadcast, and wait for its result."""
    command = RestrictSubject(
        **harness.task(), subject=subject, restricted=restricted, objection=objection
    )
    await harness.run(command)


async def flags(harness: LogsOwner, subject: SubjectRef, partner_id: str | None) -> Flags:
    """The subject's flags in the logs' register, for the partner's data."""
    return await harness.service.restrictions.flags_of(subject.identifiers(), partner_id)


async def test_restriction_is_kept_by_blind_index(harness: LogsOwner) -> None:
    """Restricting a partner and an IP keeps one register entry naming both (the IP by its
    blind index, never the address); the outcome says the partner's records are restricted."""
    ip = sample_ip()
    await harness.api_request(partner_id="ptn_r", ip=ip, user_agent="r/1")
    subject = SubjectRef(partner_id="ptn_r", ip=ip)

    result = await harness.run(RestrictSubject(**harness.task(), subject=subject))

    [entry] = await harness.db[REGISTER].find({}).to_list()
    bidx = harness.vault.index("ip", ip)
    assert {"partner_id=ptn_r", bidx} <= set(entry["keys"])
    assert entry["flags"] == {"restricted": True}
    assert ip not in repr(entry)
    assert await flags(harness, SubjectRef(ip=ip), None) == Flags(restricted=True)
    outcomes = by_category(result)
    assert (outcomes["api_request_logs"].disposition, outcomes["api_request_logs"].records) == (
        Disposition.RESTRICTED,
        1,
    )
    assert outcomes["restricted_subjects"].records == 2


async def test_objection_and_restriction_are_lifted_separately(harness: LogsOwner) -> None:
    """An objection and a restriction of one user are two flags: lifting the restriction
    keeps the objection; lifting that too leaves none."""
    subject = SubjectRef(user_id="usr_flags")
    await restrict(harness, subject, restricted=True, objection=True)
    await restrict(harness, subject, restricted=True)
    assert await flags(harness, subject, None) == Flags(restricted=True, objection=True)

    await restrict(harness, subject, restricted=False)
    assert await flags(harness, subject, None) == Flags(objection=True)

    await restrict(harness, subject, restricted=False, objection=True)
    assert await flags(harness, subject, None) == Flags()


async def test_analytics_leave_out_exactly_the_flagged_subjects(harness: LogsOwner) -> None:
    """What analytics leave out follows the register: a record of a restricted IP (by blind
    index) or of an objecting partner is left out, other records are not, and none once
    lifted."""
    ip = sample_ip()
    await restrict(harness, SubjectRef(ip=ip), restricted=True)
    await restrict(harness, SubjectRef(partner_id="ptn_obj"), restricted=True, objection=True)
    of_ip = {"partner_id": "ptn_any", "ip_bidx": harness.vault.index("ip", ip)}
    of_partner = {"partner_id": "ptn_obj"}
    other = {"partner_id": "ptn_other", "ip_bidx": harness.vault.index("ip", sample_ip())}

    book = await harness.service.restrictions.book()
    assert (left_out(book, of_ip), left_out(book, of_partner), left_out(book, other)) == (
        True,
        True,
        False,
    )

    await restrict(harness, SubjectRef(ip=ip), restricted=False)
    await restrict(harness, SubjectRef(partner_id="ptn_obj"), restricted=False, objection=True)
    lifted = await harness.service.restrictions.book()
    assert (left_out(lifted, of_ip), left_out(lifted, of_partner)) == (False, False)


async def test_lifting_what_was_never_set_leaves_the_subject_unflagged(
    harness: LogsOwner,
) -> None:
    """Lifting the restriction of a subject never restricted flags nothing."""
    subject = SubjectRef(partner_id="ptn_never")
    await restrict(harness, subject, restricted=False)

    assert await flags(harness, subject, "ptn_never") == Flags()


async def test_flags_outlive_an_erasure_and_show_in_the_export(harness: LogsOwner) -> None:
    """A restricted subject's export shows the register's entry; after its erasure the entry
    stays, reported retained, so records that arrive later stay out of analytics."""
    subject = SubjectRef(partner_id="ptn_kept")
    await restrict(harness, subject, restricted=True, objection=True)

    export = (await harness.run(ExportSubject(**harness.task(), subject=subject))).export
    erased = await harness.run(EraseSubject(**harness.task(), subject=subject))

    assert export is not None
    [shown] = export["restricted_subjects"]
    assert (shown["kinds"], shown["restricted"], shown["objection"]) == (["partner_id"], True, True)
    kept = by_category(erased)["restricted_subjects"]
    assert (kept.disposition, kept.records) == (Disposition.RETAINED, 1)
    assert await flags(harness, subject, "ptn_kept") == Flags(restricted=True, objection=True)


async def test_rectification_is_answered_as_not_applicable(harness: LogsOwner) -> None:
    """A rectification changes no log record and says that logs are not rectified."""
    record = await harness.api_request(partner_id="ptn_rect", ip=sample_ip(), user_agent="o/1")
    subject = SubjectRef(partner_id="ptn_rect")

    result = await harness.run(
        RectifySubject(**harness.task(), subject=subject, changes={"ip": "1.1.1.1"})
    )

    outcome = by_category(result)["api_request_logs"]
    assert (outcome.disposition, outcome.records) == (Disposition.FOUND, 1)
    assert outcome.note is not None
    assert "not rectified" in outcome.note
    assert await harness.db["api_requests"].find_one({"_id": record["_id"]}) == record
