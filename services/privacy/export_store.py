"""Collections of export packages: incoming parts, packages, and their files in chunks.

Parts are kept by task and index (a repeated part changes nothing). A package's ZIP file is
stored in chunks of 1 MiB (`export_files`), never inside a request document, so no document
nears the store's 16 MB limit. A package rebuilt (its request closed again after a late
answer) is stored under a new generation, and the earlier one's chunks are deleted.
Everything carries `expires_at` and is swept after it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from bson import Binary
from pymongo.errors import DuplicateKeyError

from contracts.privacy_exports import PrivacyExportPart
from privacy.export_package import PackageFile
from privacy.store import Db

PARTS = "export_parts"
PACKAGES = "export_packages"
FILES = "export_files"
CHUNK_BYTES = 1024 * 1024
KEPT_FOR = timedelta(days=7)
"""Packages are deleted 7 days after their request closed; stray parts 7 days after arrival."""


async def create_indexes(db: Db) -> None:
    """Parts are found by task and request, chunks by request; sweeps range over expiry."""
    await db[PARTS].create_index("task_id")
    await db[PARTS].create_index("request_id")
    await db[PARTS].create_index("expires_at")
    await db[PACKAGES].create_index("expires_at")
    await db[FILES].create_index("request_id")
    await db[FILES].create_index("expires_at")


async def keep_part(db: Db, part: PrivacyExportPart, now: datetime) -> bool:
    """Store a part (keyed by task and index); whether it was new or replaced another.

    A repeat changes nothing. A part that differs from the one kept at its index replaces it:
    the data owner ran the task again after a crash and cut the export anew (its signed
    result covers the new one; the package keeps only what matches that digest)."""
    key = f"{part.task_id}/{part.index}"
    document = {"_id": key, **part.model_dump(mode="json"), "expires_at": now + KEPT_FOR}
    try:
        await db[PARTS].insert_one(document)
    except DuplicateKeyError:
        kept = await db[PARTS].find_one({"_id": key})
        if kept is None or (kept.get("data"), kept.get("count")) == (part.data, part.count):
            return False
        await db[PARTS].update_one({"_id": key}, {"$set": {"data": part.data, "count": part.count}})
    return True


async def parts_of(db: Db, task_id: str) -> list[PrivacyExportPart]:
    """The parts of a task's export that arrived, in order."""
    found = db[PARTS].find({"task_id": task_id}).sort("index", 1)
    fields = set(PrivacyExportPart.model_fields)
    return [
        PrivacyExportPart.model_validate({k: v for k, v in doc.items() if k in fields})
        async for doc in found
    ]


async def drop_parts(db: Db, request_id: str) -> int:
    """Forget a request's parts (its package holds the data now); how many."""
    return (await db[PARTS].delete_many({"request_id": request_id})).deleted_count


def chunk_id(request_id: str, index: int, generation: int = 0) -> str:
    """The id of one chunk of a request's package (of its `generation`-th rebuild)."""
    if generation:
        return f"{request_id}/g{generation}/{index:06d}"
    return f"{request_id}/{index:06d}"


async def save_file(
    db: Db, request_id: str, file: PackageFile, expires_at: datetime, generation: int = 0
) -> int:
    """Store a package's file in chunks (once: repeats change nothing); how many chunks."""
    pieces = [file.data[i : i + CHUNK_BYTES] for i in range(0, file.size, CHUNK_BYTES)] or [b""]
    for index, piece in enumerate(pieces):
        with contextlib.suppress(DuplicateKeyError):
            await db[FILES].insert_one(
                {
                    "_id": chunk_id(request_id, index, generation),
                    "request_id": request_id,
                    "generation": generation,
                    "index": index,
                    "data": Binary(piece),
                    "expires_at": expires_at,
                }
            )
    return len(pieces)


async def drop_other_files(db: Db, request_id: str, generation: int) -> int:
    """Delete the chunks of a request's earlier packages (a rebuild replaced them); how many."""
    result = await db[FILES].delete_many(
        {"request_id": request_id, "generation": {"$nin": [generation]}}
    )
    return result.deleted_count


async def chunk(db: Db, request_id: str, index: int) -> bytes | None:
    """One chunk of a request's package as it stands (its latest build), if stored."""
    described = await package(db, request_id)
    generation = int(((described or {}).get("file") or {}).get("generation", 0))
    document = await db[FILES].find_one({"_id": chunk_id(request_id, index, generation)})
    return bytes(document["data"]) if document is not None else None


async def package(db: Db, request_id: str) -> dict[str, Any] | None:
    """A request's package document, if there is one."""
    return await db[PACKAGES].find_one({"_id": request_id})


async def sweep_expired(db: Db, now: datetime) -> dict[str, int]:
    """Delete packages, their files and stray parts whose 7 days have passed; how many."""
    expired = {"expires_at": {"$lt": now}}
    return {
        "export_packages": (await db[PACKAGES].delete_many(expired)).deleted_count,
        "export_file_chunks": (await db[FILES].delete_many(expired)).deleted_count,
        "export_parts": (await db[PARTS].delete_many(expired)).deleted_count,
    }
