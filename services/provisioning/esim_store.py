"""The eSIM profiles provisioning holds: one document per ICCID.

A profile's matching id is a credential: it is stored sealed with the owning partner's key,
so it is readable only through the vault and shredded with the partner.

```
{_id: iccid, partner_id, order_id, package_id, listing_key: "<order id>:<nn>",
 smdp_address, matching_id: "enc1.…", status: "released", data_used_bytes: 0,
 data_total_bytes, data_remaining_bytes (both absent when unlimited), validity_days,
 thresholds_notified: [], topups: [], created_at, _outbox, _outbox_pending,
 installation: {at, webhook_id}      (absent until the first install),
 validity: {ends_at, warned: 0 | 1}  (absent until the first install; a top-up moves it),
 expiry: {at}                        (once the provider reported the profile expired)}
```
Absent means absent, never null (decision 0002). Dates written into existing documents sit
inside subdocument values: nx-27017 stores a bare `$set` datetime as a string, and a `$max`
into an absent field as well (measured with nx-27017 0.8.1). `validity.warned` is 1 once the
end in `validity.ends_at` was announced (`esim.validity_ending`); a top-up sets a new end,
not yet announced. `thresholds_notified` holds `"<percent>:<data_total_bytes>"`, so a top-up
that raises the total arms the usage thresholds again.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from bson import Int64
from pymongo.errors import DuplicateKeyError

from contracts.catalogue import Package
from provisioning.modes import LIVE, Mode
from provisioning.provider import AllocatedProfile
from provisioning.store import ESIMS, Db
from servicekit.outbox import with_outbox
from servicekit.vault import Vault

MB = 1024 * 1024

Document = dict[str, Any]


def allowance_bytes(package: Package) -> Int64 | None:
    """The data a package grants, in bytes; None when unlimited.

    Always a 64-bit integer: FerretDB wraps a 32-bit `$inc` that overflows (1 GiB + 1 GiB
    became -2147483648) where MongoDB widens it (decision 0002)."""
    return None if package.data_mb is None else Int64(package.data_mb * MB)


async def esim_document(
    vault: Vault,
    *,
    profile: AllocatedProfile,
    position: int,
    partner_id: str,
    order_id: str,
    package: Package,
    now: datetime,
    mode: Mode = LIVE,
) -> Document:
    """A newly allocated profile, its matching id sealed with the partner's key (`mode`: its
    order's)."""
    sealed = await vault.seal(partner_id, profile.iccid, {"matching_id": profile.matching_id})
    total = allowance_bytes(package)
    data = {} if total is None else {"data_total_bytes": total, "data_remaining_bytes": total}
    return with_outbox(
        data
        | {
            "_id": profile.iccid,
            "partner_id": partner_id,
            "mode": mode,
            "order_id": order_id,
            "package_id": package.id,
            "listing_key": f"{order_id}:{position:02d}",
            "smdp_address": profile.smdp_address,
            "matching_id": sealed["matching_id"],
            "status": "released",
            "data_used_bytes": Int64(0),
            "validity_days": package.validity_days,
            "thresholds_notified": [],
            "topups": [],
            "created_at": now,
        }
    )


async def insert_once(db: Db, document: Document) -> None:
    """Store a profile; one already stored (a redelivered allocation) is left as it is."""
    with contextlib.suppress(DuplicateKeyError):
        await db[ESIMS].insert_one(document)


async def find_own(
    db: Db, partner_id: str, iccid: str, visible: Document | None = None
) -> Document | None:
    """The partner's eSIM with this ICCID, or None (another partner's, or one of the other
    mode (`visible`: `modes.visible_to`), is as unknown)."""
    return await db[ESIMS].find_one({"_id": iccid, "partner_id": partner_id} | (visible or {}))


async def apply_topup(
    db: Db, esim: Document, topup_id: str, package: Package, now: datetime
) -> bool:
    """Add a package's data and validity to the eSIM once per top-up, in one write; whether
    it was applied now. An unlimited package makes the eSIM unlimited; the validity runs
    from the later of now and the current end (announced again before the new end)."""
    added = allowance_bytes(package)
    update: Document = {"$addToSet": {"topups": topup_id}}
    if added is None:
        update["$unset"] = {"data_total_bytes": "", "data_remaining_bytes": ""}
    elif "data_total_bytes" in esim:
        update["$inc"] = {"data_total_bytes": added, "data_remaining_bytes": added}
    if "validity" in esim:
        start = max(esim["validity"]["ends_at"], now)
        update["$set"] = {"validity": validity_of(start + timedelta(days=package.validity_days))}
    else:
        update["$inc"] = {**update.get("$inc", {}), "validity_days": package.validity_days}
    criteria = {"_id": esim["_id"], "topups": {"$nin": [topup_id]}}
    result = await db[ESIMS].update_one(criteria, update)
    return result.modified_count > 0


def validity_of(ends_at: datetime) -> Document:
    """The `validity` subdocument of an end not announced yet."""
    return {"ends_at": ends_at, "warned": 0}


async def create_indexes(db: Db) -> None:
    """Listed by partner (newest first), looked up by order (privacy, listings), found by the
    end of their validity (the `esim.validity_ending` check)."""
    await db[ESIMS].create_index([("partner_id", 1), ("listing_key", -1)])
    await db[ESIMS].create_index("order_id")
    await db[ESIMS].create_index("validity.ends_at")
