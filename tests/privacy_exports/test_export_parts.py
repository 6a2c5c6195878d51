"""Exports on the bus: cut into parts, put back together, and still covered by the receipt."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from exports_support import notes_of

from contracts.privacy import PrivacyAction, PrivacyTaskCompleted
from servicekit.clock import utcnow
from servicekit.export_parts import (
    PartsMismatch,
    export_bytes,
    join_parts,
    parts_if_large,
    split_export,
)
from servicekit.receipts import (
    ReceiptSigner,
    canonical_receipt,
    generate_signing_key,
    signature_is_valid,
)

EXPORT = {"notes": notes_of("ada@example.com", 40), "profile": {"email": "ada@example.com"}}


def test_parts_hold_at_most_the_part_size_and_join_to_the_canonical_json() -> None:
    """Every part is at most EXPORT_PART_BYTES; joined (in any order) they are the export's
    canonical JSON, whose SHA-256 the split reports."""
    in_parts = split_export(
        request_id="dsr_1", task_id="dsr_1.alpha", service="alpha", export=EXPORT, part_bytes=500
    )
    whole = export_bytes(EXPORT)
    assert in_parts.count == -(-len(whole) // 500) > 5
    assert all(len(base64.b64decode(p.data)) <= 500 for p in in_parts.parts)
    assert {p.count for p in in_parts.parts} == {in_parts.count}
    assert join_parts(reversed(in_parts.parts)) == whole
    assert json.loads(whole) == EXPORT
    assert in_parts.sha256 == hashlib.sha256(whole).hexdigest()


def test_a_small_export_still_travels_inside_the_result() -> None:
    """An export that fits in one part is not cut; a larger one is; no export, no parts."""
    size = len(export_bytes(EXPORT))
    common = {"request_id": "dsr_1", "task_id": "dsr_1.alpha", "service": "alpha"}
    assert parts_if_large(**common, export=EXPORT, part_bytes=size) is None
    assert parts_if_large(**common, export=None, part_bytes=10) is None
    cut = parts_if_large(**common, export=EXPORT, part_bytes=size - 1)
    assert cut is not None
    assert cut.count == 2


def test_joining_refuses_a_missing_part() -> None:
    """Parts with a gap do not make an export."""
    in_parts = split_export(
        request_id="dsr_1", task_id="dsr_1.alpha", service="alpha", export=EXPORT, part_bytes=500
    )
    with pytest.raises(PartsMismatch):
        join_parts(in_parts.parts[:-1])
    with pytest.raises(PartsMismatch):
        join_parts([])


def _result(**fields: object) -> PrivacyTaskCompleted:
    return PrivacyTaskCompleted.model_validate(
        {
            "request_id": "dsr_1",
            "task_id": "dsr_1.alpha",
            "service": "alpha",
            "action": PrivacyAction.EXPORT,
            "succeeded": True,
            "completed_at": utcnow(),
            **fields,
        }
    )


def test_a_receipt_in_parts_signs_the_same_text_as_one_carrying_the_export() -> None:
    """The signed text covers the export's SHA-256 either way, so receipts signed before parts
    existed verify unchanged and a result in parts is signed over the same digest."""
    in_parts = split_export(
        request_id="dsr_1", task_id="dsr_1.alpha", service="alpha", export=EXPORT, part_bytes=500
    )
    inline = _result(export=EXPORT)
    moment = inline.completed_at
    parted = _result(
        export_parts=in_parts.count, export_sha256=in_parts.sha256, completed_at=moment
    )
    assert canonical_receipt(parted) == canonical_receipt(inline)
    assert json.loads(canonical_receipt(parted))["export_sha256"] == in_parts.sha256
    signer = ReceiptSigner.from_secret(generate_signing_key())
    signed = signer.sign(inline)
    assert signed.signature is not None
    assert signature_is_valid(signer.public_key, canonical_receipt(parted), signed.signature)
    other = _result(export_parts=1, export_sha256="0" * 64, completed_at=moment)
    assert not signature_is_valid(signer.public_key, canonical_receipt(other), signed.signature)
