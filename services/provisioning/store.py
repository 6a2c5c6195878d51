"""The provisioning service's collections and the indexes its privacy answers go through.

Orders and top-ups share `orders` (shape: `provisioning.purchase_store`); eSIM profiles are in
`esims` (`provisioning.esim_store`). The end user's email and reference are sealed, so a
subject is found by their blind indexes, never by plaintext.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

ORDERS = "orders"
ESIMS = "esims"
RECTIFICATIONS = "rectifications"

Db = AsyncDatabase[dict[str, Any]]

SUBJECT_FIELDS = {
    "email": "end_user.email_bidx",
    "end_user_ref": "end_user.reference_bidx",
    "iccid": "iccids",
    "partner_id": "partner_id",
}
"""Which order field each subject identifier is looked up by (each one indexed). The email
and the reference are matched by their blind index; an ICCID by membership in `iccids`."""

ESIM_SUBJECT_FIELDS = ("partner_id", "order_id")
"""The eSIM fields a subject is looked up by, besides the ICCID (`_id`)."""


async def create_indexes(db: Db) -> None:
    """Every subject lookup is by an index, and so is the retention sweep (`created_at`)."""
    for field in [*SUBJECT_FIELDS.values(), "created_at"]:
        await db[ORDERS].create_index(field)
    for field in [*ESIM_SUBJECT_FIELDS, "created_at"]:
        await db[ESIMS].create_index(field)
    await db[RECTIFICATIONS].create_index("order_id")
