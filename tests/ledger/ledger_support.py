"""Helpers of the ledger tests: settings, actors, money, and harnesses over the store or the bus."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from accounts.ledger import Ledger
from accounts.ledger_store import BALANCES, LEDGER
from accounts.settings import AccountsSettings
from contracts import Event, Query, Reply
from contracts.accounts import Actor, Role, Scope
from contracts.ledger import BalanceLow
from contracts.money import Money
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.metrics import MESSAGES_CONSUMED
from servicekit.outbox import OUTBOX
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.waiting import eventually

R = TypeVar("R", bound=Reply)
E = TypeVar("E", bound=Event)
Doc = dict[str, Any]

PARTNER = "ptn_ledger_a"
OTHER_PARTNER = "ptn_ledger_b"
PROVISIONING = Actor(kind="platform", id="provisioning")
OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)
OWNER = Actor(kind="user", id="usr_owner_a", partner_id=PARTNER, role=Role.OWNER)
VIEWER = Actor(kind="user", id="usr_viewer_a", partner_id=PARTNER, role=Role.VIEWER)
BILLING_KEY = Actor(kind="api_key", id="key_a", partner_id=PARTNER, scopes=[Scope.BILLING_READ])
ORDERS_KEY = Actor(kind="api_key", id="key_a2", partner_id=PARTNER, scopes=[Scope.ORDERS_WRITE])
OTHER_OWNER = Actor(kind="user", id="usr_owner_b", partner_id=OTHER_PARTNER, role=Role.OWNER)
THRESHOLDS = [10_000, 1_000]
SENTINEL = "ptn_sentinel"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def eur(amount: int) -> Money:
    """An amount in euro cents."""
    return Money(amount=amount, currency="EUR")


def accounts_settings(base: ServiceSettings, **overrides: Any) -> AccountsSettings:
    """Accounts settings on top of a test namespace, with fresh keys."""
    return AccountsSettings(
        **{
            **base.model_dump(),
            "api_key_pepper": "test-pepper-for-the-ledger-0123456789",
            "master_keys": LocalMasterKeys.generate(),
            "blind_index_key": BlindIndex.generate_key(),
            "low_balance_thresholds": THRESHOLDS,
            **overrides,
        }
    )


async def outbox_messages(db: AsyncDatabase[Doc], message_type: str) -> list[Doc]:
    """Messages of a type written to the ledger's outboxes (entries and balances) so far."""
    found = []
    for collection in (LEDGER, BALANCES):
        async for document in db[collection].find({}, {OUTBOX: 1}):
            found += [m for m in document.get(OUTBOX, []) if m["type"] == message_type]
    return found


async def applied_sum(db: AsyncDatabase[Doc], partner_id: str) -> int:
    """The sum of the partner's applied entries, computed from the entries themselves."""
    total = 0
    async for entry in db[LEDGER].find({"partner_id": partner_id, "status": "applied"}):
        total += int(entry["amount"])
    return total


@dataclass
class Direct:
    """The ledger on a database of one test, without a bus: events stay in the outboxes."""

    db: AsyncDatabase[Doc]
    ledger: Ledger

    async def available(self, partner_id: str = PARTNER) -> int:
        """The cached balance."""
        return (await self.ledger.balance(partner_id)).available.amount


@dataclass
class OverTheBus:
    """A running accounts service and a caller that asks it and hears its events."""

    accounts: Service
    caller: Service
    events: list[Event] = field(default_factory=list)

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask accounts over request/reply."""
        return await self.caller.bus.request(query, to="accounts", reply=reply, timeout=10)

    async def send(self, *commands: Any) -> None:
        """Send commands to accounts, all at once (confirmed in windows)."""
        await self.caller.bus.publish_many(
            [self.caller.bus.outgoing(c, to="accounts") for c in commands]
        )

    def heard(self, kind: type[E]) -> list[E]:
        """Events of one type heard so far."""
        return [event for event in self.events if isinstance(event, kind)]

    async def hear(self, kind: type[E], count: int, timeout: float = 20.0) -> list[E]:
        """Wait until at least `count` events of a type have been heard; all of them."""

        async def enough() -> list[E] | None:
            found = self.heard(kind)
            return found if len(found) >= count else None

        await eventually(enough, timeout=timeout, what=f"{count} {kind.TYPE}")
        return self.heard(kind)


def consumed(message_type: str) -> float:
    """Deliveries of a type accounts has finished with so far (handled or skipped)."""
    return sum(
        MESSAGES_CONSUMED.labels("accounts", message_type, outcome)._value.get()
        for outcome in ("handled", "duplicate", "dead_lettered")
    )


async def settled(harness: OverTheBus, message_type: str, baseline: float, count: int) -> None:
    """Wait until accounts has finished `count` more deliveries of a type, published every
    event they caused, and the caller has heard all of those (a sentinel event comes after)."""

    async def finished() -> bool:
        return consumed(message_type) - baseline >= count

    async def published() -> bool:
        return await harness.accounts.outbox.backlog() == 0

    await eventually(finished, what=f"{count} {message_type} handled")
    await eventually(published, what="the outbox drained")
    sentinel = BalanceLow(partner_id=SENTINEL, balance=eur(0), threshold=eur(1))
    await harness.caller.bus.publish(sentinel)

    async def heard() -> bool:
        return any(isinstance(e, BalanceLow) and e.partner_id == SENTINEL for e in harness.events)

    await eventually(heard, what="the sentinel event")
