"""Booking entries: once per reference, refunds within the debit, credits, refusals."""

from __future__ import annotations

import pytest
from ledger_support import OTHER_PARTNER, PARTNER, T0, Direct, applied_sum, eur, outbox_messages

from accounts.ledger_store import BALANCES, LEDGER
from contracts.ledger import (
    BalanceCredited,
    BalanceCreditRefused,
    BalanceDebited,
    BalanceDebitRefused,
    BalanceRefunded,
    CreditKind,
    EntryKind,
    EntryStatus,
)
from contracts.money import Money
from servicekit.errors import ServiceError


async def _funded(direct: Direct, amount: int = 10_000) -> None:
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_fund", eur(amount), T0)


async def _documents(direct: Direct) -> tuple[int, int]:
    return (
        await direct.db[LEDGER].count_documents({}),
        await direct.db[BALANCES].count_documents({}),
    )


async def test_a_top_up_opens_the_balance_in_its_currency_and_credits_it(direct: Direct) -> None:
    """The first top-up opens the balance in the top-up's currency and books a credit event."""
    entry = await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(2_500), T0)
    assert (entry.kind, entry.status, entry.amount) == (EntryKind.TOP_UP, "applied", eur(2_500))
    assert entry.reference == "top_up:pi_1"
    assert await direct.available() == 2_500
    credited = await outbox_messages(direct.db, BalanceCredited.TYPE)
    assert [BalanceCredited.model_validate_json(m["body"]).balance for m in credited] == [
        eur(2_500)
    ]


async def test_the_same_top_up_reference_credits_once(direct: Direct) -> None:
    """A top-up booked twice under one reference credits once and returns the same entry."""
    first = await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(700), T0)
    again = await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_1", eur(700), T0)
    assert again == first
    assert await direct.available() == 700
    assert len(await outbox_messages(direct.db, BalanceCredited.TYPE)) == 1


async def test_a_debit_is_applied_once_per_order(direct: Direct) -> None:
    """The same order debited again (a redelivery) gets the same entry and changes nothing."""
    await _funded(direct)
    first = await direct.ledger.debit(PARTNER, "ord_1", eur(1_250), T0)
    again = await direct.ledger.debit(PARTNER, "ord_1", eur(1_250), T0)
    assert first == again
    assert (first.status, first.amount, first.reference) == ("applied", eur(-1_250), "debit:ord_1")
    assert await direct.available() == 10_000 - 1_250
    assert len(await outbox_messages(direct.db, BalanceDebited.TYPE)) == 1


async def test_the_same_order_with_other_terms_is_a_conflict_and_changes_nothing(
    direct: Direct,
) -> None:
    """Debiting an order again with another amount is refused as a conflict; nothing changes."""
    await _funded(direct)
    await direct.ledger.debit(PARTNER, "ord_1", eur(1_000), T0)
    before = await _documents(direct)
    with pytest.raises(ServiceError) as refused:
        await direct.ledger.debit(PARTNER, "ord_1", eur(999), T0)
    assert refused.value.code == "conflict"
    assert await _documents(direct) == before
    assert await direct.available() == 9_000


async def test_a_debit_that_does_not_fit_is_refused_and_stays_refused(direct: Direct) -> None:
    """A debit larger than the balance is refused and recorded; after a top-up the same order
    is still refused (idempotent on the order), while a new order goes through."""
    await _funded(direct, 500)
    refused = await direct.ledger.debit(PARTNER, "ord_big", eur(501), T0)
    assert refused.status == EntryStatus.REFUSED
    await direct.ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_more", eur(1_000), T0)
    assert (await direct.ledger.debit(PARTNER, "ord_big", eur(501), T0)).status == "refused"
    assert (await direct.ledger.debit(PARTNER, "ord_new", eur(501), T0)).status == "applied"
    assert await direct.available() == 999
    events = await outbox_messages(direct.db, BalanceDebitRefused.TYPE)
    assert [BalanceDebitRefused.model_validate_json(m["body"]).reason for m in events] == [
        "insufficient_funds"
    ]


async def test_a_debit_before_any_balance_is_refused(direct: Direct) -> None:
    """A partner that never topped up has no balance: its debit is refused with an event."""
    entry = await direct.ledger.debit(OTHER_PARTNER, "ord_1", eur(100), T0)
    assert entry.status == EntryStatus.REFUSED
    assert len(await outbox_messages(direct.db, BalanceDebitRefused.TYPE)) == 1
    with pytest.raises(ServiceError) as missing:
        await direct.ledger.balance(OTHER_PARTNER)
    assert missing.value.code == "not_found"


async def test_a_debit_in_another_currency_is_rejected_and_nothing_is_written(
    direct: Direct,
) -> None:
    """A debit in USD against a EUR balance is invalid and writes nothing."""
    await _funded(direct)
    before = await _documents(direct)
    with pytest.raises(ServiceError) as refused:
        await direct.ledger.debit(PARTNER, "ord_usd", Money(amount=100, currency="USD"), T0)
    assert refused.value.code == "invalid_request"
    assert await _documents(direct) == before


@pytest.mark.parametrize(
    ("kind", "amount"),
    [(CreditKind.TOP_UP, -100), (CreditKind.TOP_UP, 0), (CreditKind.ADJUSTMENT, 0)],
)
async def test_a_credit_that_is_not_positive_is_rejected_and_nothing_is_written(
    direct: Direct, kind: CreditKind, amount: int
) -> None:
    """A top-up must be positive and an adjustment non-zero; otherwise nothing is written."""
    await _funded(direct)
    before = await _documents(direct)
    with pytest.raises(ServiceError) as refused:
        await direct.ledger.credit(PARTNER, kind, "adj_1", eur(amount), T0)
    assert refused.value.code == "invalid_request"
    assert await _documents(direct) == before


async def test_a_negative_adjustment_is_guarded_like_a_debit(direct: Direct) -> None:
    """A negative adjustment applies while the balance covers it and is refused beyond."""
    await _funded(direct, 1_000)
    taken = await direct.ledger.credit(PARTNER, CreditKind.ADJUSTMENT, "t_1", eur(-600), T0)
    refused = await direct.ledger.credit(PARTNER, CreditKind.ADJUSTMENT, "t_2", eur(-600), T0)
    assert (taken.status, refused.status) == ("applied", "refused")
    assert await direct.available() == 400
    events = await outbox_messages(direct.db, BalanceCreditRefused.TYPE)
    assert [BalanceCreditRefused.model_validate_json(m["body"]).reference for m in events] == [
        "t_2"
    ]


async def test_a_refund_gives_back_the_whole_debit_by_default_once(direct: Direct) -> None:
    """A refund without an amount returns the whole debit; asked again it changes nothing."""
    await _funded(direct)
    await direct.ledger.debit(PARTNER, "ord_1", eur(3_000), T0)
    refund = await direct.ledger.refund(PARTNER, "ord_1", None, T0)
    again = await direct.ledger.refund(PARTNER, "ord_1", eur(3_000), T0)
    assert refund == again
    assert (refund.kind, refund.amount, refund.reference) == ("refund", eur(3_000), "refund:ord_1")
    assert await direct.available() == 10_000
    assert len(await outbox_messages(direct.db, BalanceRefunded.TYPE)) == 1


async def test_a_partial_refund_is_at_most_the_debit(direct: Direct) -> None:
    """A refund above the debited amount is rejected; a smaller one goes through."""
    await _funded(direct)
    await direct.ledger.debit(PARTNER, "ord_1", eur(3_000), T0)
    before = await _documents(direct)
    with pytest.raises(ServiceError) as too_much:
        await direct.ledger.refund(PARTNER, "ord_1", eur(3_001), T0)
    assert too_much.value.code == "invalid_request"
    assert await _documents(direct) == before
    assert (await direct.ledger.refund(PARTNER, "ord_1", eur(1_000), T0)).amount == eur(1_000)
    with pytest.raises(ServiceError) as second:
        await direct.ledger.refund(PARTNER, "ord_1", eur(500), T0)
    assert second.value.code == "conflict"
    assert await direct.available() == 8_000


@pytest.mark.parametrize(
    ("partner", "order", "code"),
    [
        (PARTNER, "ord_unknown", "not_found"),
        (OTHER_PARTNER, "ord_1", "not_found"),
        (PARTNER, "ord_refused", "invalid_request"),
    ],
)
async def test_a_refund_needs_an_applied_debit_of_the_partner(
    direct: Direct, partner: str, order: str, code: str
) -> None:
    """No refund of an unknown order, of another partner's order, or of a refused debit."""
    await _funded(direct, 5_000)
    await direct.ledger.debit(PARTNER, "ord_1", eur(1_000), T0)
    await direct.ledger.debit(PARTNER, "ord_refused", eur(9_000), T0)
    before = await _documents(direct)
    with pytest.raises(ServiceError) as refused:
        await direct.ledger.refund(partner, order, None, T0)
    assert refused.value.code == code
    assert await _documents(direct) == before


async def test_entries_carry_no_personal_data(direct: Direct) -> None:
    """A stored entry holds ids, amounts, references and times only, no name, email or phone."""
    await _funded(direct)
    await direct.ledger.debit(PARTNER, "ord_1", eur(100), T0)
    allowed = {
        "_id",
        "partner_id",
        "kind",
        "amount",
        "currency",
        "reference",
        "order_id",
        "status",
        "created_at",
        "correlation_id",
        "settlement",
        "_outbox",
        "_outbox_pending",
    }
    async for entry in direct.db[LEDGER].find():
        assert set(entry) <= allowed
    assert await applied_sum(direct.db, PARTNER) == await direct.available()
