"""A data-owning service's export, cut into parts for the bus (and put back together).

The export's canonical JSON (the text whose SHA-256 the signed receipt covers) is encoded as
UTF-8 and cut into parts of at most `EXPORT_PART_BYTES` bytes; each part travels base64 in a
`PrivacyExportPart`. No single message has to carry a large export. An export that fits in
one part still travels inside the result, as before parts existed.

Each part is written as an outbox document of its own in `_privacy_export_parts`
(`write_parts`, `_id` = `<task id>/<index>`), before the receipt document that carries the
signed result: no document holds more than one part, so an export is not bounded by the
store's 16 MB document limit. A crash between these writes re-runs the task: a part written
already is not written again (its `_id`), one left from an export that has changed since is
replaced before it is published, and the privacy side keeps the parts that match the signed
digest whatever order they arrive in.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from contracts.privacy_exports import PrivacyExportPart
from servicekit.messages import Outgoing
from servicekit.outbox import PENDING, with_outbox
from servicekit.receipts import canonical_json

JSON_READY = TypeAdapter(dict[str, Any])
EXPORT_PARTS = "_privacy_export_parts"
"""A data owner's outgoing export parts, one outbox document per part."""


class PartsMismatch(ValueError):
    """Parts that do not make a whole export: missing, extra or inconsistent."""


@dataclass(frozen=True)
class ExportInParts:
    """An export cut into parts, with the SHA-256 of the whole."""

    parts: list[PrivacyExportPart]
    sha256: str

    @property
    def count(self) -> int:
        """How many parts."""
        return len(self.parts)


def export_bytes(export: dict[str, Any]) -> bytes:
    """The export's canonical JSON as UTF-8 (its values as pydantic renders them in JSON)."""
    return canonical_json(JSON_READY.dump_python(export, mode="json")).encode()


def split_export(
    *, request_id: str, task_id: str, service: str, export: dict[str, Any], part_bytes: int
) -> ExportInParts:
    """Cut an export into numbered parts of at most `part_bytes` bytes each (at least one)."""
    if part_bytes < 1:
        raise ValueError("parts hold at least one byte")
    whole = export_bytes(export)
    pieces = [whole[start : start + part_bytes] for start in range(0, len(whole), part_bytes)]
    parts = [
        PrivacyExportPart(
            request_id=request_id,
            task_id=task_id,
            service=service,
            index=index,
            count=len(pieces),
            data=base64.b64encode(piece).decode(),
        )
        for index, piece in enumerate(pieces)
    ]
    return ExportInParts(parts=parts, sha256=hashlib.sha256(whole).hexdigest())


def parts_if_large(
    *,
    request_id: str,
    task_id: str,
    service: str,
    export: dict[str, Any] | None,
    part_bytes: int,
) -> ExportInParts | None:
    """The export in parts when it is larger than one part; None when there is no export or
    it is small enough to travel inside the result (as it always did)."""
    if export is None or len(export_bytes(export)) <= part_bytes:
        return None
    return split_export(
        request_id=request_id,
        task_id=task_id,
        service=service,
        export=export,
        part_bytes=part_bytes,
    )


def join_parts(parts: Iterable[PrivacyExportPart]) -> bytes:
    """The export's bytes from all of its parts, in any order; `PartsMismatch` if incomplete."""
    ordered = sorted(parts, key=lambda part: part.index)
    if not ordered:
        raise PartsMismatch("no part of the export arrived")
    count = ordered[0].count
    if [part.index for part in ordered] != list(range(count)) or any(
        part.count != count for part in ordered
    ):
        raise PartsMismatch(f"the export has {count} parts, {len(ordered)} arrived")
    return b"".join(base64.b64decode(part.data, validate=True) for part in ordered)


async def write_parts(
    collection: AsyncCollection[dict[str, Any]],
    in_parts: ExportInParts,
    outgoing: Callable[[PrivacyExportPart], Outgoing],
) -> int:
    """Write each part as its own outbox document (once per task and index); how many were
    new. Parts of the same task cut from another export (an earlier run that crashed before
    its result was written, over data changed since) are removed first if still unsent;
    documents whose part was published already are removed too (they only held the part)."""
    if not in_parts.parts:
        return 0
    task_id = in_parts.parts[0].task_id
    await collection.delete_many({PENDING: 0})
    await collection.delete_many({"task_id": task_id, "export_sha256": {"$nin": [in_parts.sha256]}})
    written = 0
    for part in in_parts.parts:
        document = {
            "_id": f"{task_id}/{part.index}",
            "task_id": task_id,
            "index": part.index,
            "count": part.count,
            "export_sha256": in_parts.sha256,
        }
        try:
            await collection.insert_one(with_outbox(document, outgoing(part)))
        except DuplicateKeyError:
            continue  # written by an earlier run of the task over the same export
        written += 1
    return written
