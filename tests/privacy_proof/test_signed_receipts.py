"""Signed receipts: every data owner signs its result, and privacy records only what verifies."""

from __future__ import annotations

import base64
import json

import pytest
from proof_support import FAKE, Alone, Proof, closed, request_document, submit_erasure
from pydantic import SecretStr

from privacy import receipts
from privacy.audit import AuditKind, verify_chain
from servicekit.privacy import MissingSigningKey, receipt_signer
from servicekit.receipts import (
    ReceiptKeyError,
    ReceiptSigner,
    canonical_receipt,
    generate_signing_key,
)
from servicekit.receipts import signature_is_valid as valid
from servicekit.settings import ServiceSettings
from support.privacy_owners import DATA_OWNERS, task_result
from support.waiting import eventually


async def _audit_kinds(proof: Proof, request_id: str) -> list[str]:
    cursor = proof.db["audit_trail"].find({"request_id": request_id}).sort("seq", 1)
    return [entry["kind"] async for entry in cursor]


async def _receipts_of(proof: Proof, request_id: str) -> list[dict[str, object]]:
    return [doc async for doc in proof.db[receipts.RECEIPTS].find({"request_id": request_id})]


async def test_every_owner_signs_with_its_own_key_and_privacy_accepts_it(fanout: Proof) -> None:
    """An erasure through the real fan-out completes with one accepted receipt per data owner,
    each signed by that owner's own announced key and kept for re-verification."""
    view = await submit_erasure(fanout.client, "ada@example.com")
    await eventually(lambda: closed(fanout.db, view.id), timeout=20, what="the request closed")
    request = await request_document(fanout.db, view.id)
    assert request["status"] == "completed"
    kept = {doc["service"]: doc for doc in await _receipts_of(fanout, view.id)}
    assert set(kept) == set(DATA_OWNERS)
    own_keys = {owner.name: owner.receipt_signer for owner in fanout.owners}
    assert len({signer.key_id for signer in own_keys.values() if signer}) == len(DATA_OWNERS)
    for service, receipt in kept.items():
        signer = own_keys[service]
        assert signer is not None
        assert receipt["verdict"] == "accepted"
        assert receipt["key_id"] == signer.key_id
        assert valid(signer.public_key, str(receipt["signed"]), str(receipt["signature"]))
        assert request["tasks"][service]["receipt"] == receipt["_id"]
    report = await receipts.verify_receipts(fanout.db)
    assert report.ok
    assert report.checked == len(DATA_OWNERS)


async def test_a_receipt_with_outcomes_changed_after_signing_is_refused(alone: Alone) -> None:
    """Outcomes altered after signing: the result is not recorded, the task stays open with the
    reason, the receipt is kept as refused and the refusal is audited."""
    view = await submit_erasure(alone.client, "bob@example.com")
    signed = alone.forger.signer.sign(alone.forger.result(view.id, records=2))
    tampered = signed.model_copy(
        update={"outcomes": [signed.outcomes[0].model_copy(update={"records": 0})]}
    )
    await alone.forger.send(tampered)
    await eventually(lambda: _receipts_of(alone, view.id), what="the receipt kept")
    task = (await request_document(alone.db, view.id))["tasks"][FAKE]
    assert task["status"] == "in_progress"
    assert "receipt" not in task
    assert task["last_error"].startswith("receipt refused: the signature does not match")
    [kept] = await _receipts_of(alone, view.id)
    assert kept["verdict"] == "bad_signature"
    assert kept["signature"] == tampered.signature
    assert json.loads(str(kept["signed"]))["outcomes"][0]["records"] == 0
    await eventually(
        lambda: _audited(alone, view.id, AuditKind.RECEIPT_REFUSED), what="refusal audited"
    )


async def test_receipts_signed_by_another_key_or_unsigned_are_refused(alone: Alone) -> None:
    """Signed by a key alpha never announced (under its own id or alpha's), or not signed at
    all: each is refused with its reason; then alpha's genuine receipt completes the request."""
    view = await submit_erasure(alone.client, "cy@example.com")
    other = ReceiptSigner.from_secret(generate_signing_key())
    result = alone.forger.result(view.id, records=2)
    unknown = other.sign(result)
    impostor = unknown.model_copy(update={"key_id": alone.forger.signer.key_id})
    for forged in (unknown, impostor, result):
        await alone.forger.send(forged)
    await eventually(lambda: _kept_at_least(alone, view.id, 3), what="three receipts kept")
    await eventually(lambda: _refusals_audited(alone, view.id, 3), what="three refusals audited")
    verdicts = sorted(str(doc["verdict"]) for doc in await _receipts_of(alone, view.id))
    assert verdicts == ["bad_signature", "unknown_key", "unsigned"]
    assert await _audit_kinds(alone, view.id) == [
        "request_created",
        "status_changed",
        "status_changed",
        "task_sent",
        *["receipt_refused"] * 3,
    ]
    assert (await request_document(alone.db, view.id))["status"] == "in_progress"
    await alone.forger.send(alone.forger.signer.sign(result))
    await eventually(lambda: closed(alone.db, view.id), what="the genuine receipt accepted")
    # The closing is audited after the write that closes the request (decision 0013).
    await eventually(
        lambda: _audited(alone, view.id, AuditKind.REQUEST_COMPLETED), what="closing audited"
    )
    kinds = await _audit_kinds(alone, view.id)
    assert kinds[-2:] == ["receipt_accepted", "request_completed"]
    assert (await verify_chain(alone.db)).ok


async def test_verify_receipts_finds_an_accepted_receipt_altered_in_the_store(
    alone: Alone,
) -> None:
    """Re-verification catches a kept receipt whose signed text was edited, and a task whose
    recorded outcomes no longer match its signed receipt."""
    view = await submit_erasure(alone.client, "dee@example.com")
    genuine = alone.forger.signer.sign(alone.forger.result(view.id, records=3))
    await alone.forger.send(genuine)
    await eventually(lambda: closed(alone.db, view.id), what="the request completed")
    assert (await receipts.verify_receipts(alone.db)).ok
    task = (await request_document(alone.db, view.id))["tasks"][FAKE]
    task["outcomes"][0]["records"] = 0
    await alone.db["requests"].update_one({"_id": view.id}, {"$set": {f"tasks.{FAKE}": task}})
    report = await receipts.verify_receipts(alone.db)
    assert [p["problem"] for p in report.problems] == [
        "the task's recorded outcomes differ from the signed receipt"
    ]
    forged_text = canonical_receipt(genuine).replace('"records":3', '"records":1')
    await alone.db[receipts.RECEIPTS].update_one(
        {"request_id": view.id}, {"$set": {"signed": forged_text}}
    )
    report = await receipts.verify_receipts(alone.db)
    assert "the signature does not match" in report.problems[0]["problem"]


def test_the_signature_covers_every_field_of_the_result() -> None:
    """Changing any signed field of a result (or its export) invalidates the signature."""
    signer = ReceiptSigner.from_secret(generate_signing_key())
    base = task_result("dsr_1", FAKE, records=2)
    signed = signer.sign(base.model_copy(update={"export": {"notes": [{"text": "a"}]}}))
    assert signed.signature is not None
    assert valid(signer.public_key, canonical_receipt(signed), signed.signature)
    changes = {
        "request_id": "dsr_other",
        "task_id": "dsr_other.alpha",
        "service": "beta",
        "succeeded": False,
        "error": "RuntimeError",
        "completed_at": signed.completed_at.replace(year=2020),
        "export": {"notes": [{"text": "b"}]},
        "outcomes": [],
    }
    for name, value in changes.items():
        changed = signed.model_copy(update={name: value})
        assert not valid(signer.public_key, canonical_receipt(changed), signed.signature), name
    raw = base64.b64decode(signed.signature)
    flipped = base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode()
    assert not valid(signer.public_key, canonical_receipt(signed), flipped)


async def _audited(proof: Proof, request_id: str, kind: str) -> bool:
    return kind in await _audit_kinds(proof, request_id)


async def _refusals_audited(proof: Proof, request_id: str, count: int) -> bool:
    kinds = await _audit_kinds(proof, request_id)
    return kinds.count(AuditKind.RECEIPT_REFUSED) >= count


async def _kept_at_least(proof: Proof, request_id: str, count: int) -> bool:
    return len(await _receipts_of(proof, request_id)) >= count


def test_a_data_owner_without_its_signing_key_is_refused_clearly() -> None:
    """Joining the fan-out without RECEIPT_SIGNING_KEY, or with a malformed one, fails with a
    message that names the setting and never echoes the value."""
    with pytest.raises(MissingSigningKey, match="RECEIPT_SIGNING_KEY"):
        receipt_signer("accounts", ServiceSettings(receipt_signing_key=None))
    malformed = ServiceSettings(receipt_signing_key=SecretStr("bm90LTMyLWJ5dGVz"))
    with pytest.raises(ReceiptKeyError) as refused:
        receipt_signer("accounts", malformed)
    assert "bm90LTMyLWJ5dGVz" not in str(refused.value)
    assert "bm90LTMyLWJ5dGVz" not in repr(malformed)
