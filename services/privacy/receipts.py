"""Receipts of the data-owning services: their keys, the check of every result, and re-checks.

Each service announces its Ed25519 public key with its inventory; the registry keeps every
key a service ever announced (`receipt_keys`, `_id` = `service/key_id`), so receipts signed
before a key rotation still verify. Every result that arrives is kept (`receipts`, accepted or
refused, with the exact text that was signed and its signature) so `verify_receipts` can
check them all again later.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from contracts.privacy import CategoryOutcome, InventoryAnnounced, PrivacyTaskCompleted
from privacy import store
from privacy.store import Db
from servicekit.grouped import inserts_into
from servicekit.receipts import (
    ReceiptKeyError,
    canonical_receipt,
    key_id_of,
    sha256_hex,
    signature_is_valid,
)

RECEIPTS = "receipts"
RECEIPT_KEYS = "receipt_keys"

log = structlog.get_logger("privacy.receipts")


class Verdict(StrEnum):
    """Whether a receipt was accepted, and if not, why."""

    ACCEPTED = "accepted"
    UNSIGNED = "unsigned"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"


REFUSAL_REASONS = {
    Verdict.UNSIGNED: "the result carries no signature",
    Verdict.UNKNOWN_KEY: "the result is signed with a key the service never announced",
    Verdict.BAD_SIGNATURE: "the signature does not match the result (altered, or another key)",
}


async def create_indexes(db: Db) -> None:
    """Receipts are found by task."""
    await db[RECEIPTS].create_index("task_id")


async def register_key(db: Db, event: InventoryAnnounced, now: datetime) -> str | None:
    """Add the announced public key to the registry (once); its key id, or None if unusable."""
    if event.receipt_public_key is None:
        log.warning("inventory_without_receipt_key", announcing_service=event.service)
        return None
    try:
        key_id = key_id_of(event.receipt_public_key)
    except ReceiptKeyError as failure:
        log.warning("receipt_key_malformed", announcing_service=event.service, error=str(failure))
        return None
    if event.receipt_key_id not in (None, key_id):
        log.warning("receipt_key_id_mismatch", announcing_service=event.service, key_id=key_id)
        return None
    document = {
        "_id": f"{event.service}/{key_id}",
        "service": event.service,
        "key_id": key_id,
        "public_key": event.receipt_public_key,
        "registration": {"at": now},
    }
    with contextlib.suppress(DuplicateKeyError):
        await db[RECEIPT_KEYS].insert_one(document)
    return key_id


_KNOWN_KEYS: dict[tuple[str, str], str] = {}
"""Public keys already read, by (database, key id): a registered key never changes."""


async def public_key(db: Db, service: str, key_id: str) -> str | None:
    """The public key a service announced under this id, if it did."""
    slot = (db.name, f"{service}/{key_id}")
    known = _KNOWN_KEYS.get(slot)
    if known is not None:
        return known
    document = await db[RECEIPT_KEYS].find_one({"_id": slot[1]})
    if document is None:
        return None
    key = _KNOWN_KEYS[slot] = str(document["public_key"])
    return key


async def verdict_on(
    db: Db, service: str, signed: str, signature: str | None, key_id: str | None
) -> Verdict:
    """Check a signed text against the key the service registered under `key_id`."""
    if not signature or not key_id:
        return Verdict.UNSIGNED
    key = await public_key(db, service, key_id)
    if key is None:
        return Verdict.UNKNOWN_KEY
    return Verdict.ACCEPTED if signature_is_valid(key, signed, signature) else Verdict.BAD_SIGNATURE


@dataclass(frozen=True)
class CheckedReceipt:
    """A result's receipt as kept: its id, the signed text, the verdict on it, and the
    document it is kept as."""

    receipt_id: str
    verdict: Verdict
    signed: str
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def accepted(self) -> bool:
        """Whether the result may be recorded as the task's result."""
        return self.verdict is Verdict.ACCEPTED


async def check(db: Db, result: PrivacyTaskCompleted, now: datetime) -> CheckedReceipt:
    """Verify a result's receipt: the verdict, and the document to keep it as (`keep`)."""
    signed = canonical_receipt(result)
    verdict = await verdict_on(db, result.service, signed, result.signature, result.key_id)
    as_received = signed + (result.signature or "") + (result.key_id or "")
    receipt_id = f"{result.task_id}/{sha256_hex(as_received)[:16]}"
    document: dict[str, Any] = {
        "_id": receipt_id,
        "request_id": result.request_id,
        "task_id": result.task_id,
        "service": result.service,
        "verdict": verdict.value,
        "signed": signed,
        "received": {"at": now},
    }
    if result.signature:
        document["signature"] = result.signature
    if result.key_id:
        document["key_id"] = result.key_id
    if verdict is not Verdict.ACCEPTED:
        log.warning(
            "receipt_refused",
            request_id=result.request_id,
            task_id=result.task_id,
            reporting_service=result.service,
            verdict=verdict.value,
        )
    return CheckedReceipt(receipt_id, verdict, signed, document)


async def keep(db: Db, receipt: CheckedReceipt) -> None:
    """Keep a checked receipt, accepted or not (once per distinct receipt), written together
    with the receipts other handlers keep meanwhile."""
    await inserts_into(db[RECEIPTS]).insert(receipt.document)


@dataclass
class ReceiptsReport:
    """The result of checking every kept receipt again."""

    checked: int = 0
    refused: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No accepted receipt fails its check now."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {"ok": self.ok, **asdict(self)}


def _outcomes(values: list[Any]) -> list[dict[str, Any]]:
    return [CategoryOutcome.model_validate(value).model_dump(mode="json") for value in values]


async def _recorded_differently(db: Db, receipt: dict[str, Any]) -> bool:
    """Whether the task's recorded outcomes differ from what the accepted receipt signed."""
    request = await db[store.REQUESTS].find_one({"_id": receipt["request_id"]})
    task = (request or {}).get("tasks", {}).get(receipt["service"], {})
    if task.get("receipt") != receipt["_id"]:
        return False
    signed_outcomes = json.loads(receipt["signed"])["outcomes"]
    return _outcomes(task.get("outcomes", [])) != _outcomes(signed_outcomes)


async def recheck(db: Db, receipt: dict[str, Any]) -> str | None:
    """Why a kept, accepted receipt no longer holds, or None when it does."""
    verdict = await verdict_on(
        db, receipt["service"], receipt["signed"], receipt.get("signature"), receipt.get("key_id")
    )
    if verdict is not Verdict.ACCEPTED:
        return REFUSAL_REASONS[verdict]
    if await _recorded_differently(db, receipt):
        return "the task's recorded outcomes differ from the signed receipt"
    return None


async def verify_receipts(db: Db) -> ReceiptsReport:
    """Check every kept receipt again: accepted ones must still verify and match their task."""
    report = ReceiptsReport()
    async for receipt in db[RECEIPTS].find({}).sort("_id", 1):
        report.checked += 1
        if receipt.get("verdict") != Verdict.ACCEPTED.value:
            report.refused += 1
            continue
        problem = await recheck(db, receipt)
        if problem is not None:
            report.problems.append({"receipt_id": str(receipt["_id"]), "problem": problem})
    return report
