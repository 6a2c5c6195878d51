"""The erasure ledger: hashed identifiers recorded, announced to every service, applied again."""

from __future__ import annotations

import json

import pytest
from privacy_ledger_support import OWNER, Ledgered, submit

from contracts.erasure_ledger import (
    ErasureReapplied,
    GetReapplyRun,
    ReapplyErasure,
    ReapplyErasures,
    ReapplyRunView,
    ReapplyStarted,
    SubjectErased,
)
from contracts.privacy import (
    CategoryOutcome,
    Disposition,
    ExportSubject,
    RequestType,
    SubjectRef,
)
from privacy.ledger import LEDGER
from servicekit.errors import RemoteCallError
from servicekit.inbox import INBOX_COLLECTION
from support.privacy_owners import FakeOwner, privacy_service
from support.services import fresh_namespace, running
from support.waiting import eventually

EMAIL = "Erased.Person@Example.com"
ICCID = "8949000000000000017"


async def test_an_erasure_is_recorded_as_hashes_and_announced(ledgered: Ledgered) -> None:
    """Starting an erasure writes one ledger entry holding the email only as its blind index
    (the ICCID, platform-assigned, also in clear) and announces the same to every service."""
    view = await submit(ledgered.client, RequestType.ERASURE, SubjectRef(email=EMAIL, iccid=ICCID))
    entry = await eventually(
        lambda: ledgered.db[LEDGER].find_one({"_id": view.id}), what="the ledger entry"
    )
    by_kind = {i["kind"]: i for i in entry["identifiers"]}
    assert by_kind["email"] == {"kind": "email", "index": ledgered.blind.of("email", EMAIL)}
    assert by_kind["iccid"]["value"] == ICCID
    assert EMAIL.lower() not in json.dumps(entry, default=str).lower()
    found = await ledgered.db[LEDGER].find_one(
        {"indexes": {"$in": [ledgered.blind.of("email", EMAIL.lower())]}}
    )
    assert found is not None
    assert found["_id"] == view.id
    [event] = await eventually(
        lambda: ledgered.owner.heard_of(SubjectErased), what="the erasure announced"
    )
    assert event.request_id == view.id
    assert {i.kind: i.index for i in event.identifiers} == {
        k: i["index"] for k, i in by_kind.items()
    }


async def test_other_request_types_leave_the_ledger_alone(ledgered: Ledgered) -> None:
    """An access request writes no ledger entry and announces no erasure."""
    await submit(ledgered.client, RequestType.ACCESS, SubjectRef(email=EMAIL))
    await eventually(lambda: ledgered.owner.heard_of(ExportSubject), what="beta's task")
    assert await ledgered.db[LEDGER].count_documents({}) == 0
    assert ledgered.owner.of_type(SubjectErased) == []


async def test_an_erasure_without_the_ledger_key_is_refused_and_creates_nothing(
    amqp_url: str, mongo_url: str
) -> None:
    """Privacy without BLIND_INDEX_KEY refuses an erasure (`unavailable`, naming the
    setting) and stores no request; other types still work."""
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", OWNER]) as base:
        privacy = privacy_service(base, blind_index_key=None)
        owner = FakeOwner.create(OWNER, base)
        async with running(privacy, owner.service):
            await owner.register(privacy.db)
            with pytest.raises(RemoteCallError) as refused:
                await submit(owner.service, RequestType.ERASURE, SubjectRef(email=EMAIL))
            assert refused.value.code == "unavailable"
            assert "BLIND_INDEX_KEY" in str(refused.value)
            assert await privacy.db["requests"].count_documents({}) == 0
            view = await submit(owner.service, RequestType.ACCESS, SubjectRef(email=EMAIL))
            assert view.status == "in_progress"


async def test_reapply_sends_every_entry_to_every_owner_and_counts_answers(
    ledgered: Ledgered,
) -> None:
    """`ReapplyErasures` sends each ledger entry to beta; beta's answers are counted on the
    run, each once however often it comes (erased again: deleted and pseudonymised records;
    a failure counted as failed)."""
    first = await submit(ledgered.client, RequestType.ERASURE, SubjectRef(email="a@example.com"))
    second = await submit(ledgered.client, RequestType.ERASURE, SubjectRef(iccid=ICCID))
    await eventually(lambda: _count(ledgered, 2), what="two ledger entries")
    started = await ledgered.client.bus.request(
        ReapplyErasures(by="officer"), to="privacy", reply=ReapplyStarted, timeout=10
    )
    assert (started.entries, started.services) == (2, [OWNER])
    commands = await eventually(
        lambda: ledgered.owner.heard_of(ReapplyErasure, 2), what="both entries sent to beta"
    )
    assert {c.request_id for c in commands} == {first.id, second.id}
    assert {c.run_id for c in commands} == {started.run_id}
    outcome = CategoryOutcome(category="notes", records=3, disposition=Disposition.DELETED)
    answers = [
        ErasureReapplied(
            run_id=started.run_id,
            request_id=first.id,
            service=OWNER,
            succeeded=True,
            outcomes=[outcome],
        ),
        ErasureReapplied(
            run_id=started.run_id,
            request_id=second.id,
            service=OWNER,
            succeeded=False,
            error="store down",
        ),
    ]
    # The first answer twice, as two messages (beta answered a redelivered command again).
    bus = ledgered.client.bus
    copies = [bus.outgoing(answers[0]), bus.outgoing(answers[0])]
    await bus.publish_many(copies)
    await eventually(lambda: _handled(ledgered, [c.message_id for c in copies]), what="both")
    await bus.publish(answers[1])

    async def counted() -> ReapplyRunView | None:
        run = await bus.request(
            GetReapplyRun(run_id=started.run_id), to="privacy", reply=ReapplyRunView, timeout=10
        )
        return run if run.failed == 1 else None

    run = await eventually(counted, what="both answers counted")
    assert (run.expected, run.answered, run.failed, run.erased_again) == (2, 2, 1, 3)


async def _handled(ledgered: Ledgered, message_ids: list[str]) -> bool:
    """Whether privacy has handled (and recorded in its inbox) every one of these messages."""
    found = ledgered.db[INBOX_COLLECTION].find({"_id": {"$in": message_ids}}, {"_id": 1})
    return len([document async for document in found]) == len(message_ids)


async def _count(ledgered: Ledgered, wanted: int) -> bool:
    return bool(await ledgered.db[LEDGER].count_documents({}) == wanted)
