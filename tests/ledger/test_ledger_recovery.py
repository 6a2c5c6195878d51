"""Crashes between the steps of a booking, recovery, and the pruning of outcome markers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NoReturn

import pytest
from ledger_support import (
    PARTNER,
    T0,
    Direct,
    Doc,
    OverTheBus,
    accounts_settings,
    applied_sum,
    eur,
    outbox_messages,
)

from accounts import billing_handlers, ledger_store
from accounts.ledger import Ledger
from accounts.ledger_store import BALANCES, LEDGER, OUTCOMES
from contracts.ledger import BalanceDebited, CreditKind, EntryStatus
from servicekit.clock import utcnow
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.vault import Vault
from support.services import fresh_namespace, running
from support.waiting import eventually

LATER = T0 + timedelta(minutes=5)


class Crash(Exception):
    """The process died here."""


def _crash(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise Crash


async def _entry(direct: Direct, order_id: str) -> Doc:
    entry = await direct.db[LEDGER].find_one({"order_id": order_id})
    assert entry is not None
    return entry


async def _outcomes(direct: Direct) -> list[str]:
    balance = await direct.db[BALANCES].find_one({"_id": PARTNER})
    assert balance is not None
    return list(balance[OUTCOMES])


async def _crash_before_settling(direct: Direct, order_id: str, monkeypatch: Any) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(ledger_store, "try_apply", _crash)
        with pytest.raises(Crash):
            await direct.ledger.debit(PARTNER, order_id, eur(400), T0)


async def _crash_after_settling(direct: Direct, order_id: str, monkeypatch: Any) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(direct.ledger, "_finish", _crash)
        with pytest.raises(Crash):
            await direct.ledger.debit(PARTNER, order_id, eur(400), T0)


async def test_a_debit_left_pending_before_the_balance_took_it_is_applied_by_recovery(
    direct: Direct, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Crash after the entry was written, before the balance moved: recovery applies it once."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(1_000), T0)
    await _crash_before_settling(direct, "ord_1", monkeypatch)
    assert (await _entry(direct, "ord_1"))["status"] == "pending"
    assert await direct.available() == 1_000
    assert await direct.ledger.recover_pending(LATER) == 1
    assert await direct.ledger.recover_pending(LATER) == 0
    assert (await _entry(direct, "ord_1"))["status"] == "applied"
    assert await direct.available() == 600
    assert len(await outbox_messages(direct.db, BalanceDebited.TYPE)) == 1


async def test_a_debit_the_balance_took_before_the_crash_is_not_applied_again(
    direct: Direct, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Crash after the balance moved, before the entry recorded it: recovery records the
    outcome and its event without moving the balance a second time."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(1_000), T0)
    await _crash_after_settling(direct, "ord_1", monkeypatch)
    assert (await _entry(direct, "ord_1"))["status"] == "pending"
    assert await direct.available() == 600
    assert await direct.ledger.recover_pending(LATER) == 1
    assert (await _entry(direct, "ord_1"))["status"] == "applied"
    assert await direct.available() == 600
    assert len(await outbox_messages(direct.db, BalanceDebited.TYPE)) == 1


async def test_recovery_leaves_entries_in_flight_alone(
    direct: Direct, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry pending for less than the recovery age belongs to a booking still running."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(1_000), T0)
    await _crash_before_settling(direct, "ord_1", monkeypatch)
    assert await direct.ledger.recover_pending(T0 + timedelta(seconds=10)) == 0
    assert (await _entry(direct, "ord_1"))["status"] == "pending"


async def test_a_redelivered_debit_finishes_the_entry_a_crash_left_pending(
    direct: Direct, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same debit again, after a crash mid-way, completes it without recovery."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(1_000), T0)
    await _crash_after_settling(direct, "ord_1", monkeypatch)
    entry = await direct.ledger.debit(PARTNER, "ord_1", eur(400), T0)
    assert entry.status == EntryStatus.APPLIED
    assert await direct.available() == 600
    assert len(await outbox_messages(direct.db, BalanceDebited.TYPE)) == 1


async def test_after_a_prune_a_settler_that_read_an_older_epoch_cannot_apply_again(
    direct: Direct,
) -> None:
    """Once a settled entry's marker is pruned, a write under the epoch read before the prune
    is refused, and a settler that starts afresh sees the entry settled."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(1_000), T0)
    await direct.ledger.debit(PARTNER, "ord_1", eur(400), T0)
    entry = await _entry(direct, "ord_1")
    epoch_before = (await direct.db[BALANCES].find_one({"_id": PARTNER}) or {})["epoch"]
    assert await ledger_store.prune_outcomes(direct.db, PARTNER) == 2
    assert await _outcomes(direct) == []
    assert await ledger_store.try_apply(direct.db, entry, epoch_before) is None
    again = await direct.ledger.debit(PARTNER, "ord_1", eur(400), T0)
    assert again.status == EntryStatus.APPLIED
    assert await direct.available() == 600


async def test_a_settled_entry_is_not_applied_twice_even_under_the_current_epoch(
    direct: Direct,
) -> None:
    """While its marker is kept, an entry the balance took cannot be applied again."""
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(1_000), T0)
    await direct.ledger.debit(PARTNER, "ord_1", eur(400), T0)
    balance = await direct.db[BALANCES].find_one({"_id": PARTNER})
    assert balance is not None
    entry = await _entry(direct, "ord_1")
    assert await ledger_store.try_apply(direct.db, entry, balance["epoch"]) is None
    assert await direct.available() == 600


async def test_outcome_markers_are_pruned_as_entries_settle(direct: Direct) -> None:
    """With pruning every 4 outcomes, 30 bookings leave the balance with a few markers only,
    and the balance stays the sum of its applied entries."""
    ledger = Ledger(direct.db, direct.ledger.bus, low_balance_thresholds=[], prune_every=4)
    await ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(2_000), T0)
    for n in range(29):
        await ledger.debit(PARTNER, f"ord_{n}", eur(100), T0)
    assert len(await _outcomes(direct)) < 4
    assert await direct.available() == 0
    assert await applied_sum(direct.db, PARTNER) == 0
    assert await direct.db[LEDGER].count_documents({"status": "refused"}) == 9


async def test_the_running_service_recovers_a_pending_debit_at_start(
    amqp_url: str, mongo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A debit a crash left pending is finished by the service's background job when it starts,
    and its result event reaches subscribers."""
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "caller"]) as base:
        settings = accounts_settings(base)
        accounts = Service.create("accounts", settings)
        billing_handlers.register(
            accounts,
            billing_handlers.make_ledger(accounts, settings),
            Vault.from_settings(accounts.db, settings),
        )
        caller = Service.create("caller", base, stateless=True)
        harness = OverTheBus(accounts=accounts, caller=caller)

        async def heard(event: BalanceDebited, _context: MessageContext) -> None:
            harness.events.append(event)

        caller.router.on(BalanceDebited, heard)
        crashed = Direct(accounts.db, Ledger(accounts.db, accounts.bus, low_balance_thresholds=[]))
        an_hour_ago = utcnow() - timedelta(hours=1)
        await crashed.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(1_000), an_hour_ago)
        with monkeypatch.context() as patch:
            patch.setattr(ledger_store, "try_apply", _crash)
            with pytest.raises(Crash):
                await crashed.ledger.debit(PARTNER, "ord_1", eur(400), an_hour_ago)
        async with running(caller, accounts):  # the caller's queue exists before recovery
            [event] = await harness.hear(BalanceDebited, 1)

            async def settled() -> bool:
                return (await _entry(crashed, "ord_1"))["status"] == "applied"

            await eventually(settled, what="the pending debit recovered")
        assert event.entry.order_id == "ord_1"
        assert event.balance == eur(600)
