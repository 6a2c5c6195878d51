"""The audit trail: append-only, hash-chained, gapless under concurrency, tamper-evident."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from proof_support import Proof, closed, submit_erasure
from pymongo import AsyncMongoClient

from privacy import audit
from privacy.audit import AuditKind
from support.names import unique_namespace
from support.privacy_owners import DATA_OWNERS, Db
from support.waiting import eventually

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def trail(mongo_url: str) -> AsyncIterator[Db]:
    """An empty audit trail in a database of its own."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url, tz_aware=True)
    name = f"{unique_namespace()}_privacy"
    db: Db = client[name]  # type: ignore[assignment]
    await audit.create_indexes(db)
    try:
        yield db
    finally:
        await client.drop_database(name)
        await client.close()


async def _append_some(db: Db, count: int) -> None:
    for n in range(count):
        await audit.append(
            db,
            AuditKind.TASK_SENT,
            key=f"sent:{n}",
            now=T0 + timedelta(seconds=n),
            request_id=f"dsr_{n}",
            detail={"service": "accounts", "task_id": f"dsr_{n}.accounts"},
        )


async def test_the_chain_verifies_after_a_real_request(fanout: Proof) -> None:
    """A request through the real fan-out leaves its creation, its states on the way in, one
    sent task and one accepted receipt per data owner and its completion in the trail, seq
    1..n, and the chain verifies."""
    view = await submit_erasure(fanout.client, "eve@example.com")
    await eventually(lambda: closed(fanout.db, view.id), timeout=20, what="the request closed")
    await eventually(
        lambda: fanout.db[audit.AUDIT].find_one(
            {"request_id": view.id, "kind": "request_completed"}
        ),
        what="closing",
    )
    entries = [entry async for entry in fanout.db[audit.AUDIT].find({}).sort("seq", 1)]
    assert [entry["seq"] for entry in entries] == list(range(1, len(entries) + 1))
    assert [entry["_id"] for entry in entries] == list(range(1, len(entries) + 1))
    kinds = [entry["kind"] for entry in entries if entry.get("request_id") == view.id]
    arrival = ["request_created", "status_changed", "status_changed"]
    assert kinds[:6] == [*arrival, *["task_sent"] * len(DATA_OWNERS)]
    assert sorted(kinds[6:-1]) == ["receipt_accepted"] * len(DATA_OWNERS)
    changes = [e["detail"] for e in entries if e["kind"] == "status_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("received", "verified"),
        ("verified", "in_progress"),
    ]
    assert kinds[-1] == "request_completed"
    registered = [entry for entry in entries if entry["kind"] == "receipt_key_registered"]
    assert {entry["detail"]["service"] for entry in registered} == set(DATA_OWNERS)
    report = await audit.verify_chain(fanout.db)
    assert report.ok
    assert report.entries == len(entries)
    assert "eve@example.com" not in json.dumps([e["detail"] for e in entries])


async def test_editing_one_entry_is_reported_at_that_link(trail: Db) -> None:
    """Changing an entry's contents breaks its own hash; recomputing that hash breaks the next
    entry's prev_hash; verify_chain names the first broken link each time."""
    db = trail
    await _append_some(db, 5)
    assert (await audit.verify_chain(db)).ok
    await db[audit.AUDIT].update_one({"_id": 3}, {"$set": {"detail.service": "logs"}})
    report = await audit.verify_chain(db)
    assert (report.ok, report.broken_at, report.entries) == (False, 3, 2)
    assert report.reason == "the entry's contents do not match its hash"
    edited = await db[audit.AUDIT].find_one({"_id": 3})
    assert edited is not None
    rehashed = audit.link_hash(audit.hashed_form(edited))
    await db[audit.AUDIT].update_one({"_id": 3}, {"$set": {"hash": rehashed}})
    report = await audit.verify_chain(db)
    assert (report.broken_at, report.reason) == (4, "prev_hash is not the hash of entry 3")


async def test_deleting_one_entry_is_reported_as_missing(trail: Db) -> None:
    """A deleted entry leaves a gap that verify_chain reports by its seq."""
    db = trail
    await _append_some(db, 4)
    await db[audit.AUDIT].delete_one({"_id": 2})
    report = await audit.verify_chain(db)
    assert (report.ok, report.broken_at) == (False, 2)
    assert report.reason == "entry 2 is missing (the next entry is 3)"


async def test_concurrent_appends_from_two_writers_keep_the_chain_gapless(
    trail: Db, mongo_url: str
) -> None:
    """Forty appends racing from two clients (as two replicas would) end as seq 1..40, one
    entry per key, and the chain verifies; appending a key again adds nothing."""
    db = trail
    other: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        replica: Db = other[db.name]  # type: ignore[assignment]
        writers = [db if n % 2 else replica for n in range(40)]
        seqs = await asyncio.gather(
            *(
                audit.append(writer, AuditKind.TASK_SENT, key=f"sent:{n}", now=T0)
                for n, writer in enumerate(writers)
            )
        )
        again = await audit.append(replica, AuditKind.TASK_SENT, key="sent:7", now=T0)
    finally:
        await other.close()
    assert sorted(seqs) == list(range(1, 41))
    assert again == seqs[7]
    assert await db[audit.AUDIT].count_documents({}) == 40
    report = await audit.verify_chain(db)
    assert (report.ok, report.entries) == (True, 40)


async def test_many_appends_at_once_in_one_process_are_committed_together(trail: Db) -> None:
    """Two hundred appends at once from one process, some keys asked twice in the same
    moment: every key gets one entry and both askers its seq, seq 1..150 without gaps, and
    the chain verifies."""
    keys = [f"sent:{n % 150}" for n in range(200)]
    seqs = await asyncio.gather(
        *(audit.append(trail, AuditKind.TASK_SENT, key=key, now=T0) for key in keys)
    )
    by_key: dict[str, set[int]] = {}
    for key, seq in zip(keys, seqs, strict=True):
        by_key.setdefault(key, set()).add(seq)
    assert all(len(found) == 1 for found in by_key.values())
    assert sorted(seq for found in by_key.values() for seq in found) == list(range(1, 151))
    report = await audit.verify_chain(trail)
    assert (report.ok, report.entries) == (True, 150)


async def test_the_export_verifies_offline_and_shows_tampering(trail: Db) -> None:
    """The JSON export holds every entry in hashed form and its report; re-checking it alone
    passes, and fails at the entry changed in the export."""
    db = trail
    await _append_some(db, 3)
    exported = json.loads(await audit.export_chain(db))
    assert exported["verification"]["ok"] is True
    assert [entry["seq"] for entry in exported["entries"]] == [1, 2, 3]
    assert exported["entries"][0]["at"] == "2026-11-26T12:00:00.000+00:00"
    assert audit.check_links(exported["entries"]).ok
    exported["entries"][1]["request_id"] = "dsr_other"
    report = audit.check_links(exported["entries"])
    assert (report.ok, report.broken_at) == (False, 2)


async def test_an_empty_trail_verifies(trail: Db) -> None:
    """No entries is an intact chain of length zero."""
    db = trail
    report = await audit.verify_chain(db)
    assert (report.ok, report.entries, report.head_hash) == (True, 0, audit.GENESIS)
