"""Order facts: what each completed order sold, for package and country analytics.

Kept from `provisioning.order_completed.v1`, keyed by the order id, so a redelivered or
duplicated event inserts nothing twice. Only the partner id, the package, its countries and
the quantity are kept: never an ICCID or anything about the end user.
"""

from __future__ import annotations

import contextlib
from datetime import UTC
from typing import Any

from pymongo.errors import DuplicateKeyError

from contracts.orders import OrderCompleted
from logs.store import Db
from servicekit.messages import MessageContext

ORDER_FACTS = "order_facts"


def order_fact(event: OrderCompleted) -> dict[str, Any]:
    """The stored fact of a completed order (`countries` is empty when the event had none)."""
    completed_at = event.completed_at.astimezone(UTC)
    return {
        "_id": event.order_id,
        "partner_id": event.partner_id,
        "package_id": event.package_id,
        "countries": sorted(set(event.countries or [])),
        "quantity": len(event.iccids),
        "completed_at": completed_at,
        "day": completed_at.date().isoformat(),
    }


async def create_indexes(db: Db) -> None:
    """Analytics read facts by completion time; erasure finds a partner's by partner id."""
    await db[ORDER_FACTS].create_index("completed_at")
    await db[ORDER_FACTS].create_index("partner_id")


class OrderFacts:
    """The handler that keeps order facts."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def order_completed(self, event: OrderCompleted, _context: MessageContext) -> None:
        """Keep the fact once per order."""
        with contextlib.suppress(DuplicateKeyError):
            await self.db[ORDER_FACTS].insert_one(order_fact(event))
