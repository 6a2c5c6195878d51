"""Restriction and objection through the real logs service: one `restricted_subjects`
document per identifier, its flags set and lifted independently, removed when both are
lifted; rectification answered as not applicable to logs."""

from __future__ import annotations

from datetime import datetime

from logs_privacy_support import LogsHarness, by_category, sample_ip, task

from contracts.privacy import (
    Disposition,
    EraseSubject,
    ExportSubject,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from logs.analytics import RESTRICTED_SUBJECTS, excluded_subjects

FLAGS = RESTRICTED_SUBJECTS


async def restrict(
    harness: LogsHarness, subject: SubjectRef, *, restricted: bool, objection: bool = False
) -> None:
    """Send one restrict (or object) command and wait for its result."""
    command = RestrictSubject(**task(), subject=subject, restricted=restricted, objection=objection)
    await harness.run(command)


async def test_restriction_is_written_per_identifier(harness: LogsHarness) -> None:
    """Restricting a partner and an IP writes one flag document for each (the IP by its
    blind index, never the address), with the time it was set; the outcome says restricted."""
    ip = sample_ip()
    await harness.api_request(partner_id="ptn_r", ip=ip, user_agent="r/1")
    subject = SubjectRef(partner_id="ptn_r", ip=ip)

    result = await harness.run(RestrictSubject(**task(), subject=subject))

    bidx = harness.vault.index("ip", ip)
    flags = {d["_id"]: d async for d in harness.db[FLAGS].find({})}
    assert set(flags) == {"partner_id:ptn_r", f"ip:{bidx}"}
    assert {k: flags[f"ip:{bidx}"][k] for k in ("kind", "value", "restricted", "objection")} == {
        "kind": "ip",
        "value": bidx,
        "restricted": 1,
        "objection": 0,
    }
    assert isinstance(flags["partner_id:ptn_r"]["at"]["at"], datetime)
    assert ip not in repr(flags)
    outcomes = by_category(result)
    assert (outcomes["api_request_logs"].disposition, outcomes["api_request_logs"].records) == (
        Disposition.RESTRICTED,
        1,
    )
    assert outcomes["restricted_subjects"].records == 2


async def test_objection_and_restriction_are_lifted_separately(harness: LogsHarness) -> None:
    """An objection and a restriction of one user are two flags: lifting the restriction
    keeps the objection, lifting that too removes the document."""
    subject = SubjectRef(user_id="usr_flags")
    await restrict(harness, subject, restricted=True, objection=True)
    await restrict(harness, subject, restricted=True)

    flag = await harness.db[FLAGS].find_one({"_id": "user_id:usr_flags"})
    assert flag is not None
    assert (flag["restricted"], flag["objection"]) == (1, 1)

    await restrict(harness, subject, restricted=False)
    flag = await harness.db[FLAGS].find_one({"_id": "user_id:usr_flags"})
    assert flag is not None
    assert (flag["restricted"], flag["objection"]) == (0, 1)

    await restrict(harness, subject, restricted=False, objection=True)
    assert await harness.db[FLAGS].count_documents({}) == 0


async def test_analytics_exclude_exactly_the_flagged_subjects(harness: LogsHarness) -> None:
    """What analytics leave out at query time follows the flags: a restricted IP (by blind
    index) and an objecting partner are excluded, and no longer once lifted."""
    ip = sample_ip()
    await restrict(harness, SubjectRef(ip=ip), restricted=True)
    await restrict(harness, SubjectRef(partner_id="ptn_obj"), restricted=True, objection=True)

    excluded = await excluded_subjects(harness.db)
    assert (excluded["ip"], excluded["partner_id"]) == (
        {harness.vault.index("ip", ip)},
        {"ptn_obj"},
    )

    await restrict(harness, SubjectRef(ip=ip), restricted=False)
    await restrict(harness, SubjectRef(partner_id="ptn_obj"), restricted=False, objection=True)
    lifted = await excluded_subjects(harness.db)
    assert (lifted["ip"], lifted["partner_id"]) == (set(), set())


async def test_lifting_what_was_never_set_writes_nothing(harness: LogsHarness) -> None:
    """Lifting the restriction of a subject never restricted leaves no flag document."""
    await restrict(harness, SubjectRef(partner_id="ptn_never"), restricted=False)

    assert await harness.db[FLAGS].count_documents({}) == 0


async def test_flags_outlive_an_erasure_and_show_in_the_export(harness: LogsHarness) -> None:
    """A restricted subject's export shows its flag; after its erasure the flag stays,
    reported retained, so records that arrive later stay out of analytics."""
    subject = SubjectRef(partner_id="ptn_kept")
    await restrict(harness, subject, restricted=True, objection=True)

    export = (await harness.run(ExportSubject(**task(), subject=subject))).export
    erased = await harness.run(EraseSubject(**task(), subject=subject))

    assert export is not None
    [shown] = export["restricted_subjects"]
    assert (shown["kind"], shown["restricted"], shown["objection"]) == ("partner_id", False, True)
    kept = by_category(erased)["restricted_subjects"]
    assert (kept.disposition, kept.records) == (Disposition.RETAINED, 1)
    assert await harness.db[FLAGS].count_documents({"_id": "partner_id:ptn_kept"}) == 1


async def test_rectification_is_answered_as_not_applicable(harness: LogsHarness) -> None:
    """A rectification changes no log record and says that logs are not rectified."""
    record = await harness.api_request(partner_id="ptn_rect", ip=sample_ip(), user_agent="o/1")
    subject = SubjectRef(partner_id="ptn_rect")

    result = await harness.run(RectifySubject(**task(), subject=subject, changes={"ip": "1.1.1.1"}))

    outcome = by_category(result)["api_request_logs"]
    assert (outcome.disposition, outcome.records) == (Disposition.FOUND, 1)
    assert outcome.note is not None
    assert "not rectified" in outcome.note
    assert await harness.db["api_requests"].find_one({"_id": record["_id"]}) == record
