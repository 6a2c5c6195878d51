"""Who may read balances and statements, set billing profiles, and move money."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ledger_support import (
    BILLING_KEY,
    OPS,
    ORDERS_KEY,
    OTHER_OWNER,
    OWNER,
    PARTNER,
    VIEWER,
    OverTheBus,
    eur,
)

from accounts.ledger_store import LEDGER
from contracts.accounts import Actor
from contracts.billing import BillingProfileView, CardBrand, SetBillingProfile
from contracts.ledger import (
    BalanceCredited,
    BalanceCreditRefused,
    BalanceDebitRefused,
    BalanceView,
    CreditBalance,
    CreditKind,
    DebitBalance,
    GetBalance,
    GetStatement,
    ListTransactions,
    Statement,
    StatementFormat,
    TransactionPage,
)
from servicekit.clock import utcnow
from servicekit.errors import RemoteCallError


def _top_up(actor: Actor, reference: str) -> CreditBalance:
    return CreditBalance(
        actor=actor,
        partner_id=PARTNER,
        kind=CreditKind.TOP_UP,
        reference=reference,
        amount=eur(5_000),
    )


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (BILLING_KEY, None),
        (VIEWER, None),
        (OPS, None),
        (ORDERS_KEY, "forbidden"),
        (OTHER_OWNER, "not_found"),
    ],
)
async def test_reading_a_balance_needs_billing_read_for_that_partner(
    billing: OverTheBus, actor: Actor, code: str | None
) -> None:
    """A key with billing:read, a viewer and ops read the balance; a key without the scope is
    forbidden; another partner's owner does not even learn the partner exists."""
    await billing.send(_top_up(OPS, "pi_1"))
    await billing.hear(BalanceCredited, 1)
    query = GetBalance(actor=actor, partner_id=PARTNER)
    if code is None:
        assert (await billing.ask(query, BalanceView)).available == eur(5_000)
        return
    with pytest.raises(RemoteCallError) as refused:
        await billing.ask(query, BalanceView)
    assert refused.value.code == code


async def test_statements_and_transactions_are_read_with_billing_read(billing: OverTheBus) -> None:
    """The billing:read key gets the CSV statement and the transaction page over the bus."""
    await billing.send(_top_up(OPS, "pi_1"))
    await billing.hear(BalanceCredited, 1)
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    statement = await billing.ask(
        GetStatement(
            actor=BILLING_KEY,
            partner_id=PARTNER,
            period_from=start,
            period_to=end,
            format=StatementFormat.CSV,
        ),
        Statement,
    )
    assert statement.csv is not None
    assert statement.csv.splitlines()[1].endswith(",5000,50.00,EUR,5000,50.00")
    page = await billing.ask(
        ListTransactions(actor=BILLING_KEY, partner_id=PARTNER, period_from=start, period_to=end),
        TransactionPage,
    )
    assert [entry.reference for entry in page.data] == ["top_up:pi_1"]
    with pytest.raises(RemoteCallError) as refused:
        await billing.ask(
            ListTransactions(
                actor=ORDERS_KEY, partner_id=PARTNER, period_from=start, period_to=end
            ),
            TransactionPage,
        )
    assert refused.value.code == "forbidden"


@pytest.mark.parametrize(
    ("actor", "code"),
    [(VIEWER, "forbidden"), (BILLING_KEY, "forbidden"), (OTHER_OWNER, "not_found")],
)
async def test_setting_a_billing_profile_needs_billing_manage(
    billing: OverTheBus, actor: Actor, code: str
) -> None:
    """Viewers and read-only keys may not set the profile; nor may another partner's owner."""
    request = SetBillingProfile(
        actor=actor,
        partner_id=PARTNER,
        processor="stripe",
        customer_token="cus_NffrFeUfNV2Hib",
        card_brand=CardBrand.MASTERCARD,
        last4="4444",
    )
    with pytest.raises(RemoteCallError) as refused:
        await billing.ask(request, BillingProfileView)
    assert refused.value.code == code
    owner = request.model_copy(update={"actor": OWNER})
    assert (await billing.ask(owner, BillingProfileView)).last4 == "4444"


async def test_only_the_platform_moves_money(billing: OverTheBus) -> None:
    """A partner's owner cannot top up its own balance, nor can a partner key debit it: both
    are refused as forbidden and nothing is written."""
    await billing.send(
        _top_up(OWNER, "pi_self"),
        DebitBalance(actor=BILLING_KEY, partner_id=PARTNER, order_id="ord_1", amount=eur(100)),
    )
    [credit] = await billing.hear(BalanceCreditRefused, 1)
    [debit] = await billing.hear(BalanceDebitRefused, 1)
    assert (credit.reason, debit.reason) == ("forbidden", "forbidden")
    assert await billing.accounts.db[LEDGER].count_documents({}) == 0
