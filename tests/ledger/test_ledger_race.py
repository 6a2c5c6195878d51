"""The overdraft race: 50 debits at once against a balance that covers 10."""

from __future__ import annotations

import asyncio

from ledger_support import (
    OPS,
    PARTNER,
    PROVISIONING,
    T0,
    Direct,
    OverTheBus,
    applied_sum,
    eur,
    outbox_messages,
)

from accounts.ledger_store import LEDGER
from contracts.ledger import (
    BalanceCredited,
    BalanceDebited,
    BalanceDebitRefused,
    BalanceView,
    CreditBalance,
    CreditKind,
    DebitBalance,
    EntryStatus,
    GetBalance,
)

PRICE = 100
COVERED = 10


async def _watch_minimum(direct: Direct, stop: asyncio.Event) -> int:
    """The lowest balance seen while polling until `stop` is set."""
    lowest = await direct.available()
    while not stop.is_set():
        lowest = min(lowest, await direct.available())
        await asyncio.sleep(0)
    return lowest


async def test_fifty_concurrent_debits_apply_exactly_the_ten_the_balance_covers(
    direct: Direct,
) -> None:
    """50 debits gathered at once on a balance of 10 prices: 10 applied, 40 refused, never
    below zero, and the cached balance equals the sum of the applied entries."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_race", eur(PRICE * COVERED), T0)
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_minimum(direct, stop))
    outcomes = await asyncio.gather(
        *(direct.ledger.debit(PARTNER, f"ord_race_{n}", eur(PRICE), T0) for n in range(50))
    )
    stop.set()
    statuses = [entry.status for entry in outcomes]
    assert statuses.count(EntryStatus.APPLIED) == COVERED
    assert statuses.count(EntryStatus.REFUSED) == 50 - COVERED
    assert await watcher >= 0
    assert await direct.available() == 0
    assert await applied_sum(direct.db, PARTNER) == 0
    assert await direct.db[LEDGER].count_documents({"status": "pending"}) == 0
    debited = await outbox_messages(direct.db, BalanceDebited.TYPE)
    refused = await outbox_messages(direct.db, BalanceDebitRefused.TYPE)
    assert (len(debited), len(refused)) == (COVERED, 50 - COVERED)
    balances_after = [BalanceDebited.model_validate_json(m["body"]).balance.amount for m in debited]
    assert sorted(balances_after) == [PRICE * n for n in range(COVERED)]


async def test_each_order_debited_twice_at_once_is_applied_at_most_once(direct: Direct) -> None:
    """25 orders each debited twice concurrently on a balance of 10 prices: 10 orders applied
    once each, the duplicates get the same entry, and the balance stays exact."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_twice", eur(PRICE * COVERED), T0)
    orders = [f"ord_twice_{n}" for n in range(25)]
    outcomes = await asyncio.gather(
        *(direct.ledger.debit(PARTNER, order, eur(PRICE), T0) for order in orders + orders)
    )
    by_order: dict[str, set[tuple[str, EntryStatus]]] = {}
    for entry in outcomes:
        assert entry.order_id is not None
        by_order.setdefault(entry.order_id, set()).add((entry.entry_id, entry.status))
    assert all(len(seen) == 1 for seen in by_order.values()), "both copies got the same entry"
    applied = [order for order, seen in by_order.items() if next(iter(seen))[1] == "applied"]
    assert len(applied) == COVERED
    assert await direct.db[LEDGER].count_documents({"kind": "debit"}) == 25
    assert await direct.available() == 0
    assert await applied_sum(direct.db, PARTNER) == 0


async def test_fifty_debit_commands_over_the_bus_apply_exactly_ten(
    whole_accounts: OverTheBus,
) -> None:
    """50 DebitBalance commands published at once to the whole accounts service (prefetch 32):
    10 debited and 40 refused events, no balance below zero, cache equal to the entries' sum."""
    bus = whole_accounts
    await bus.send(
        CreditBalance(
            actor=OPS,
            partner_id=PARTNER,
            kind=CreditKind.TOP_UP,
            reference="pi_bus_race",
            amount=eur(PRICE * COVERED),
        )
    )
    await bus.hear(BalanceCredited, 1)
    await bus.send(
        *(
            DebitBalance(
                actor=PROVISIONING, partner_id=PARTNER, order_id=f"ord_bus_{n}", amount=eur(PRICE)
            )
            for n in range(50)
        )
    )
    debited = await bus.hear(BalanceDebited, COVERED)
    refused = await bus.hear(BalanceDebitRefused, 50 - COVERED)
    assert len({event.entry.order_id for event in debited}) == COVERED
    assert sorted(event.balance.amount for event in debited) == [PRICE * n for n in range(10)]
    assert {event.reason for event in refused} == {"insufficient_funds"}
    assert {event.entry.order_id for event in debited}.isdisjoint({e.order_id for e in refused})
    view = await bus.ask(GetBalance(actor=PROVISIONING, partner_id=PARTNER), BalanceView)
    assert view.available == eur(0)
    assert await applied_sum(bus.accounts.db, PARTNER) == 0
    assert len(bus.heard(BalanceDebited)) == COVERED
