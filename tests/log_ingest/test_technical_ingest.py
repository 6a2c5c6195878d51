"""Shipped technical records land in the logs store through the real bus: each under its batch
message id and position, personal fields sealed per the key rule, bad batches dead-lettered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ingest_support import TECHNICAL, Ingest, consumed, dead_letter, publish_raw, raw_text

from contracts.logs import TechnicalRecord, TechnicalRecordsShipped
from servicekit.ids import new_id
from support.waiting import eventually

AT = datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=UTC)
EMAIL = "ada.lovelace@example.com"
IP = "198.51.100.23"
AGENT = "curl/8.5.0 (ingest test)"


def record(event: str, **values: Any) -> TechnicalRecord:
    """A technical record as a service's shipper sends it."""
    return TechnicalRecord.model_validate(
        {"at": AT, "service": "accounts", "level": "info", "event": event, **values}
    )


def subject_of_token(token: str) -> str:
    """The subject whose key sealed a token."""
    assert token.startswith("enc1.")
    return token.split(".")[1]


async def test_a_shipped_batch_lands_sealed_by_the_key_rule(ingest: Ingest) -> None:
    """Each record is stored as `<message id>:<n>` with its ids in clear and its email, IP and
    user agent sealed: with the user's key, else the partner's, else the IP's, else the
    email's; blind indexes beside; the other fields kept as shipped."""
    personal = {"email": EMAIL, "ip": IP, "user_agent": AGENT}
    batch = TechnicalRecordsShipped(
        records=[
            record("by_user", user_id="usr_1", partner_id="ptn_1", **personal),
            record("by_partner", partner_id="ptn_1", **personal),
            record("by_ip", **personal, fields={"attempt": 2, "ok": False, "ratio": 0.5}),
            record("by_email", email=EMAIL, correlation_id="cor_9", request_id="req_9"),
            record("nobody", level="error", fields={"error": "TimeoutError()"}),
        ]
    )
    outgoing = ingest.publisher.bus.outgoing(batch)
    await ingest.publisher.bus.publish_many([outgoing])
    documents = {d["event"]: d for d in await ingest.stored(TECHNICAL, 5)}
    assert sorted(d["_id"] for d in documents.values()) == [
        f"{outgoing.message_id}:{n:03d}" for n in range(5)
    ]
    text = raw_text(list(documents.values()))
    assert EMAIL not in text
    assert IP not in text
    assert AGENT not in text
    ip_bidx, email_bidx = ingest.vault.index("ip", IP), ingest.vault.index("email", EMAIL)
    expected_subjects = {
        "by_user": "usr_1",
        "by_partner": "ptn_1",
        "by_ip": f"ip_{ip_bidx[:32]}",
        "by_email": f"email_{email_bidx[:32]}",
    }
    for event, subject in expected_subjects.items():
        assert subject_of_token(documents[event]["email"]) == subject, event
        assert documents[event]["email_bidx"] == email_bidx
    assert documents["by_ip"]["ip_bidx"] == ip_bidx
    opened = await ingest.vault.open(
        documents["by_user"]["_id"], documents["by_user"], ["email", "ip", "user_agent"]
    )
    assert opened == personal
    assert documents["by_ip"]["fields"] == {"attempt": 2, "ok": False, "ratio": 0.5}
    assert documents["by_email"]["correlation_id"] == "cor_9"
    assert documents["nobody"]["level"] == "error"
    assert documents["nobody"]["at"] == AT
    assert documents["nobody"]["day"] == "2026-11-26"
    assert not any(key in documents["nobody"] for key in ("email", "ip", "partner_id"))


async def test_a_redelivered_batch_is_stored_once(ingest: Ingest) -> None:
    """The same batch message twice leaves each record once."""
    batch = TechnicalRecordsShipped(records=[record("one"), record("two", partner_id="ptn_2")])
    outgoing = ingest.publisher.bus.outgoing(batch)
    before = consumed(TechnicalRecordsShipped.TYPE)
    await ingest.publisher.bus.publish_many([outgoing, outgoing])

    async def both_consumed() -> bool:
        return consumed(TechnicalRecordsShipped.TYPE) >= before + 2

    await eventually(both_consumed, what="both copies consumed")
    assert len(await ingest.documents(TECHNICAL)) == 2


async def test_a_batch_with_a_bad_record_is_dead_lettered_and_changes_nothing(
    ingest: Ingest,
) -> None:
    """A batch that fails the contract (an unknown level, a dotted field name) goes to the
    logs queue's DLQ with the reason, and none of its records is stored; good batches still
    are."""
    good = {"at": "2026-11-26T10:00:00Z", "service": "accounts", "level": "info", "event": "ok"}
    bad_level = {**good, "level": "loud"}
    bad_key = {**good, "fields": {"a.b": 1}}
    for bad in (bad_level, bad_key):
        message_id = new_id("msg")
        await publish_raw(
            ingest.settings, TechnicalRecordsShipped.TYPE, {"records": [good, bad]}, message_id
        )
        letter = await dead_letter(ingest.settings, "logs")
        assert letter.message_id == message_id
        reason = str((letter.headers or {})["x-death-reason"])
        assert reason.startswith("invalid body: records.1.")
    await publish_raw(
        ingest.settings, TechnicalRecordsShipped.TYPE, {"records": [good]}, new_id("msg")
    )
    [stored] = await ingest.stored(TECHNICAL, 1)
    assert stored["event"] == "ok"
    assert len(await ingest.documents(TECHNICAL)) == 1
