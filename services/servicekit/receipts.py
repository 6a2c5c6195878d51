"""Signed privacy receipts: each data-owning service signs its results with its own Ed25519 key.

The signature covers `canonical_receipt(result)`: a versioned, key-sorted, compact JSON of
the request id, task id, service, action, success, outcomes, error, completion time (to the
millisecond, as the store keeps it) and the SHA-256 of the export when there is one (of the
export inside the result, or as stated by a result whose export travels in parts). The
privacy service recomputes it from the message it received and verifies it against the
public key the service announced with its inventory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.privacy import PrivacyTaskCompleted

RECEIPT_FORMAT = "esim-privacy-receipt.v1"
KEY_BYTES = 32


class ReceiptKeyError(ValueError):
    """A signing or public key that is not base64 of 32 raw Ed25519 bytes."""


def canonical_json(value: Any) -> str:
    """Key-sorted, compact JSON: one text for one value, whoever serialises it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    """SHA-256 of a text's UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def millisecond_utc(moment: datetime) -> str:
    """An aware time as UTC ISO 8601 to the millisecond (the precision the store keeps)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def to_millisecond(moment: datetime) -> datetime:
    """A time cut to the millisecond, so the event and the stored receipt say the same."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def export_digest(result: PrivacyTaskCompleted) -> str | None:
    """SHA-256 of the export's canonical JSON: computed when the export travels inside the
    result, as stated (`export_sha256`) when it travels in parts, else None."""
    if result.export is None:
        return result.export_sha256
    exported = result.model_dump(mode="json", include={"export"})["export"]
    return sha256_hex(canonical_json(exported))


def canonical_receipt(result: PrivacyTaskCompleted) -> str:
    """The text a receipt's signature covers."""
    return canonical_json(
        {
            "format": RECEIPT_FORMAT,
            "request_id": result.request_id,
            "task_id": result.task_id,
            "service": result.service,
            "action": result.action.value,
            "succeeded": result.succeeded,
            "outcomes": [outcome.model_dump(mode="json") for outcome in result.outcomes],
            "error": result.error,
            "completed_at": millisecond_utc(result.completed_at),
            "export_sha256": export_digest(result),
        }
    )


def _raw_key(encoded: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as failure:
        raise ReceiptKeyError(f"the {what} is not valid base64") from failure
    if len(raw) != KEY_BYTES:
        raise ReceiptKeyError(f"the {what} must be {KEY_BYTES} raw bytes, base64-encoded")
    return raw


def key_id_of(public_key: str) -> str:
    """The id of a public key (base64 of its raw bytes): derived from it, so never spoofed."""
    return "ed25519:" + hashlib.sha256(_raw_key(public_key, "public key")).hexdigest()[:16]


def generate_signing_key() -> str:
    """A new Ed25519 private key as base64 of its 32 raw bytes (`RECEIPT_SIGNING_KEY`)."""
    raw = Ed25519PrivateKey.generate().private_bytes_raw()
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class ReceiptSigner:
    """Signs a service's privacy results; its public half travels with the inventory."""

    private_key: Ed25519PrivateKey
    public_key: str
    key_id: str

    @classmethod
    def from_secret(cls, encoded: str) -> ReceiptSigner:
        """A signer from base64 of 32 raw private-key bytes; the key is never echoed."""
        private_key = Ed25519PrivateKey.from_private_bytes(_raw_key(encoded, "signing key"))
        raw_public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        public_key = base64.b64encode(raw_public).decode()
        return cls(private_key=private_key, public_key=public_key, key_id=key_id_of(public_key))

    def sign(self, result: PrivacyTaskCompleted) -> PrivacyTaskCompleted:
        """The result with its signature and key id."""
        signature = self.private_key.sign(canonical_receipt(result).encode())
        return result.model_copy(
            update={"signature": base64.b64encode(signature).decode(), "key_id": self.key_id}
        )


def signature_is_valid(public_key: str, signed_text: str, signature: str) -> bool:
    """Whether `signature` (base64) is the key's Ed25519 signature of `signed_text`."""
    try:
        key = Ed25519PublicKey.from_public_bytes(_raw_key(public_key, "public key"))
        key.verify(base64.b64decode(signature, validate=True), signed_text.encode())
    except (InvalidSignature, ReceiptKeyError, binascii.Error, ValueError):
        return False
    return True
