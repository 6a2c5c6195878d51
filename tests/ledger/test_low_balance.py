"""Low-balance events: once per threshold crossed downward, again only after rising above."""

from __future__ import annotations

import asyncio

from ledger_support import OPS, PARTNER, PROVISIONING, T0, Direct, OverTheBus, eur, outbox_messages

from contracts.ledger import BalanceCredited, BalanceLow, CreditBalance, CreditKind, DebitBalance


async def _lows(direct: Direct) -> list[tuple[int, int]]:
    """(threshold, balance) of every low-balance event written, in threshold order."""
    events = [
        BalanceLow.model_validate_json(m["body"])
        for m in await outbox_messages(direct.db, BalanceLow.TYPE)
    ]
    return sorted(((e.threshold.amount, e.balance.amount) for e in events), reverse=True)


async def test_a_threshold_crossed_downward_raises_one_event_per_crossing(direct: Direct) -> None:
    """Falling below 100.00 raises one event; staying below raises none; rising above and
    falling again raises another; falling below 10.00 raises its own."""
    ledger = direct.ledger
    await ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(20_000), T0)
    await ledger.debit(PARTNER, "ord_1", eur(5_000), T0)
    assert await _lows(direct) == []
    await ledger.debit(PARTNER, "ord_2", eur(6_000), T0)
    await ledger.debit(PARTNER, "ord_3", eur(1_000), T0)
    assert await _lows(direct) == [(10_000, 9_000)]
    await ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_2", eur(5_000), T0)
    await ledger.debit(PARTNER, "ord_4", eur(4_000), T0)
    assert await _lows(direct) == [(10_000, 9_000), (10_000, 9_000)]
    await ledger.debit(PARTNER, "ord_5", eur(8_500), T0)
    assert await _lows(direct) == [(10_000, 9_000), (10_000, 9_000), (1_000, 500)]


async def test_opening_a_balance_raises_no_low_balance_event(direct: Direct) -> None:
    """A small first top-up leaves the balance below a threshold it never was above: no event."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(500), T0)
    await direct.ledger.debit(PARTNER, "ord_1", eur(100), T0)
    assert await _lows(direct) == []


async def test_one_debit_crossing_two_thresholds_raises_both(direct: Direct) -> None:
    """From 200.00 to 5.00 in one debit crosses both thresholds: one event each."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(20_000), T0)
    await direct.ledger.debit(PARTNER, "ord_1", eur(19_500), T0)
    assert await _lows(direct) == [(10_000, 500), (1_000, 500)]


async def test_concurrent_debits_across_a_threshold_raise_it_once(direct: Direct) -> None:
    """Ten debits at once taking 105.00 down to 5.00 raise each threshold exactly once."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(10_500), T0)
    await asyncio.gather(
        *(direct.ledger.debit(PARTNER, f"ord_{n}", eur(1_000), T0) for n in range(10))
    )
    assert await direct.available() == 500
    assert [threshold for threshold, _ in await _lows(direct)] == [10_000, 1_000]


async def test_the_low_balance_event_reaches_subscribers(billing: OverTheBus) -> None:
    """Over the bus, a debit that crosses a threshold publishes accounts.balance_low.v1."""
    top_up = CreditBalance(
        actor=OPS, partner_id=PARTNER, kind=CreditKind.TOP_UP, reference="pi_1", amount=eur(10_000)
    )
    await billing.send(top_up)
    await billing.hear(BalanceCredited, 1)
    await billing.send(
        DebitBalance(actor=PROVISIONING, partner_id=PARTNER, order_id="ord_1", amount=eur(100))
    )
    [low] = await billing.hear(BalanceLow, 1)
    assert (low.partner_id, low.threshold, low.balance) == (PARTNER, eur(10_000), eur(9_900))
