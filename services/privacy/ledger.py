"""The erasure ledger: which subjects were erased, as salted hashes, so erasures outlive a
restore from backup and a replay of old messages.

One entry per erasure request: `{_id: request_id, scope_partner_id?, identifiers: [{kind,
index, value?}], indexes: [index, ...], erased_at}`. `index` is the identifier's blind index
(HMAC-SHA256 under `BLIND_INDEX_KEY`: the salted hash the services also index their sealed
fields by); `indexes` repeats them as a plain array, asked with `$in` (decision 0002 on
indexed arrays). `value` is kept only for identifiers the platform assigns (partner id, user
id, ICCID), which the services hold unsealed. The entry is written when the erasure's fan-out
starts, and the same identifiers go out as `privacy.subject_erased.v1` in that write, so every
service learns of the erasure even if it is down at the time (its queue keeps the event).

`privacy.reapply` sends every entry (or those since a time) to every data owner as
`privacy.reapply_erasure.v1`; each answers `privacy.erasure_reapplied.v1`, counted on the
run's document, so `python -m privacy reapply-erasures` can show the progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from contracts.privacy import RequestType
from privacy.erasure_events import erased_identifiers, required_blind_index
from privacy.settings import PrivacySettings
from privacy.store import Db
from servicekit.grouped import inserts_into

LEDGER = "erasure_ledger"
REAPPLY_RUNS = "reapply_runs"
REAPPLY_ANSWERS = "reapply_answers"
"""One document per answer of a reapply run, keyed by run, service and request, so that a
redelivered or duplicated answer is counted once."""


async def create_indexes(db: Db) -> None:
    """Entries are found by the hash of any of their identifiers, and read back by time."""
    await db[LEDGER].create_index("indexes")
    await db[LEDGER].create_index("erased_at")
    await db[REAPPLY_RUNS].create_index("started_at")
    await db[REAPPLY_ANSWERS].create_index("run_id")


async def record(
    db: Db, settings: PrivacySettings, request: Mapping[str, Any], erased_at: datetime
) -> None:
    """Write the request's ledger entry (once; a second call changes nothing)."""
    if request["type"] != RequestType.ERASURE.value:
        return
    identifiers = erased_identifiers(request["subject"], required_blind_index(settings))
    entry: dict[str, Any] = {
        "_id": request["_id"],
        "identifiers": [i.model_dump(exclude_none=True) for i in identifiers],
        "indexes": [i.index for i in identifiers],
        "erased_at": erased_at,
    }
    if request.get("scope_partner_id") is not None:
        entry["scope_partner_id"] = request["scope_partner_id"]
    await inserts_into(db[LEDGER]).insert(entry)  # with the other erasures starting meanwhile
