"""Partner scope in the logs: a partner's request reaches only records under its own partner
id; the same email, IP address or user under another partner, anonymous records and another
partner's id are untouched (and their keys not shredded); without a scope all are reached."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.privacy import (
    Disposition,
    EraseSubject,
    ExportSubject,
    LocateSubject,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from logs.order_facts import ORDER_FACTS
from logs.store import API_REQUESTS, TECHNICAL
from servicekit.restrictions import RESTRICTED_SUBJECTS, Flags
from support.logs_owner import LogsOwner, sample_agent, sample_ip
from support.privacy_standin import by_category

Doc = dict[str, object]
A, B = "ptn_scope_a", "ptn_scope_b"


@dataclass(frozen=True)
class Records:
    """One person's email and IP address in records of partner A, of partner B and in an
    anonymous sign-in failure."""

    email: str
    ip: str
    a: list[Doc]
    b: list[Doc]
    anonymous: Doc


async def _records(harness: LogsOwner) -> Records:
    email, ip = f"scope.{sample_agent()[-8:]}@example.org", sample_ip()
    a, b = [], []
    for partner, user, stored in ((A, "usr_scope_a", a), (B, "usr_scope_b", b)):
        agent = sample_agent()
        stored.append(await harness.api_request(partner_id=partner, ip=ip, user_agent=agent))
        stored.append(
            await harness.technical(
                partner_id=partner, user_id=user, email=email, ip=ip, user_agent=agent
            )
        )
        await harness.order_fact(partner)
    anonymous = await harness.technical(email=email, ip=ip, user_agent=sample_agent())
    return Records(email=email, ip=ip, a=a, b=b, anonymous=anonymous)


async def _still_readable(harness: LogsOwner, documents: list[Doc]) -> None:
    """Each document is stored still, and its sealed user agent opens."""
    for document in documents:
        collection = API_REQUESTS if "route" in document else TECHNICAL
        assert await harness.db[collection].count_documents({"_id": document["_id"]}) == 1
        assert await harness.opens(dict(document), "user_agent") is not None


async def _counts(harness: LogsOwner, subject: SubjectRef, scope: str | None) -> dict[str, int]:
    result = await harness.run(
        LocateSubject(**harness.task(), subject=subject, scope_partner_id=scope)
    )
    return {name: o.records for name, o in by_category(result).items()}


async def test_a_partners_erasure_deletes_its_own_records_only(harness: LogsOwner) -> None:
    """Erasing email and IP scoped to A deletes A's API request and sign-in record; B's and
    the anonymous record are there and readable (no address key was shredded)."""
    held = await _records(harness)
    subject = SubjectRef(email=held.email, ip=held.ip)

    result = await harness.run(EraseSubject(**harness.task(), subject=subject, scope_partner_id=A))

    outcomes = by_category(result)
    assert outcomes["api_request_logs"].records == 1
    assert outcomes["technical_logs"].records == 1
    for document in held.a:
        assert await harness.db[API_REQUESTS].count_documents({"_id": document["_id"]}) == 0
        assert await harness.db[TECHNICAL].count_documents({"_id": document["_id"]}) == 0
    await _still_readable(harness, [*held.b, held.anonymous])


async def test_a_partners_user_key_is_shredded_only_when_all_its_records_are_its_own(
    harness: LogsOwner,
) -> None:
    """Erasing A's user scoped to A shreds that user's key (a copy no longer opens); naming
    B's user scoped to A finds and shreds nothing."""
    held = await _records(harness)
    [_, a_sign_in] = held.a

    await harness.run(
        EraseSubject(
            **harness.task(), subject=SubjectRef(user_id="usr_scope_a"), scope_partner_id=A
        )
    )
    others = await _counts(harness, SubjectRef(user_id="usr_scope_b"), A)
    await harness.run(
        EraseSubject(
            **harness.task(), subject=SubjectRef(user_id="usr_scope_b"), scope_partner_id=A
        )
    )

    assert await harness.opens(dict(a_sign_in), "user_agent") is None
    assert others["technical_logs"] == 0
    await _still_readable(harness, [*held.b, held.anonymous])


async def test_a_partners_export_holds_only_its_own_records(harness: LogsOwner) -> None:
    """An export by email and IP scoped to A holds A's API request and sign-in record only,
    opened; unscoped, the locate counts B's and the anonymous record too."""
    held = await _records(harness)
    subject = SubjectRef(email=held.email, ip=held.ip)

    result = await harness.run(ExportSubject(**harness.task(), subject=subject, scope_partner_id=A))
    everywhere = await _counts(harness, subject, None)

    assert result.export is not None
    exported = [*result.export["api_request_logs"], *result.export["technical_logs"]]
    assert sorted(r["record_id"] for r in exported) == sorted(str(d["_id"]) for d in held.a)
    assert all(r["partner_id"] == A and r["ip"] == held.ip for r in exported)
    assert (everywhere["api_request_logs"], everywhere["technical_logs"]) == (2, 3)


async def test_a_partners_restriction_is_its_own_flag(harness: LogsOwner) -> None:
    """A restriction scoped to A is A's own register entry: the email is restricted for A's
    records, not for B's; B sees no entry, ops see A's; A lifting it unflags A's records."""
    held = await _records(harness)
    subject = SubjectRef(email=held.email)
    register = harness.service.restrictions

    result = await harness.run(
        RestrictSubject(**harness.task(), subject=subject, scope_partner_id=A)
    )

    assert by_category(result)["technical_logs"].records == 1
    [entry] = await harness.db[RESTRICTED_SUBJECTS].find({}).to_list()
    assert (entry["scope_partner_id"], entry["flags"]) == (A, {"restricted": True})
    assert await register.flags_of(subject.identifiers(), A) == Flags(restricted=True)
    assert await register.flags_of(subject.identifiers(), B) == Flags()
    assert (await _counts(harness, subject, B))["restricted_subjects"] == 0
    assert (await _counts(harness, subject, None))["restricted_subjects"] == 1
    lift = RestrictSubject(**harness.task(), subject=subject, scope_partner_id=A, restricted=False)
    unflagged = await harness.run(lift)
    assert by_category(unflagged)["restricted_subjects"].disposition == Disposition.UNRESTRICTED
    assert await register.flags_of(subject.identifiers(), A) == Flags()


async def test_a_partners_rectification_answers_for_its_own_records(harness: LogsOwner) -> None:
    """A rectification scoped to A counts A's records only (logs are not rectified)."""
    held = await _records(harness)
    subject = SubjectRef(email=held.email)

    result = await harness.run(
        RectifySubject(
            **harness.task(), subject=subject, scope_partner_id=A, changes={"email": "x@y.org"}
        )
    )

    assert by_category(result)["technical_logs"].records == 1
    await _still_readable(harness, [*held.a, *held.b, held.anonymous])


async def test_another_partners_id_touches_nothing(harness: LogsOwner) -> None:
    """Scoped to A, the subject `partner_id` = B finds nothing, and erasing or restricting
    by it deletes nothing, shreds no key and flags nothing of B's."""
    held = await _records(harness)
    subject = SubjectRef(partner_id=B)

    counts = await _counts(harness, subject, A)
    await harness.run(EraseSubject(**harness.task(), subject=subject, scope_partner_id=A))
    await harness.run(RestrictSubject(**harness.task(), subject=subject, scope_partner_id=A))

    assert set(counts.values()) == {0}
    await _still_readable(harness, [*held.a, *held.b, held.anonymous])
    assert await harness.db[ORDER_FACTS].count_documents({"partner_id": B}) == 1
    assert await harness.service.restrictions.flags_of({"partner_id": B}, B) == Flags()


async def test_without_a_scope_every_record_is_erased(harness: LogsOwner) -> None:
    """Unscoped, erasing email and IP deletes A's, B's and the anonymous records."""
    held = await _records(harness)

    await harness.run(
        EraseSubject(**harness.task(), subject=SubjectRef(email=held.email, ip=held.ip))
    )

    assert await harness.db[API_REQUESTS].count_documents({}) == 0
    assert await harness.db[TECHNICAL].count_documents({}) == 0
