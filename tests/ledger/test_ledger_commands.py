"""Ledger commands over the bus: redeliveries, duplicates, refunds, and bad bodies."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from ledger_support import (
    OPS,
    PARTNER,
    PROVISIONING,
    OverTheBus,
    consumed,
    eur,
    settled,
)

from accounts.ledger_store import LEDGER
from contracts.ledger import (
    BalanceCredited,
    BalanceDebited,
    BalanceRefunded,
    BalanceRefundRefused,
    BalanceView,
    CreditBalance,
    CreditKind,
    DebitBalance,
    GetBalance,
    RefundBalance,
)
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.waiting import eventually


async def _fund(bus: OverTheBus, amount: int = 10_000) -> None:
    await bus.send(
        CreditBalance(
            actor=OPS,
            partner_id=PARTNER,
            kind=CreditKind.TOP_UP,
            reference="pi_1",
            amount=eur(amount),
        )
    )
    await bus.hear(BalanceCredited, 1)


async def _available(bus: OverTheBus) -> int:
    view = await bus.ask(GetBalance(actor=PROVISIONING, partner_id=PARTNER), BalanceView)
    return view.available.amount


def _debit(order_id: str, amount: int) -> DebitBalance:
    return DebitBalance(
        actor=PROVISIONING, partner_id=PARTNER, order_id=order_id, amount=eur(amount)
    )


async def test_a_redelivered_debit_and_a_repeated_one_debit_the_order_once(
    billing: OverTheBus,
) -> None:
    """The same message delivered twice and a second message for the same order debit once
    and announce it once."""
    await _fund(billing)
    baseline = consumed(DebitBalance.TYPE)
    bus = billing.caller.bus
    original = bus.outgoing(_debit("ord_1", 700), to="accounts")
    repeated = bus.outgoing(_debit("ord_1", 700), to="accounts")
    await bus.publish_many([original, original, repeated])
    await settled(billing, DebitBalance.TYPE, baseline, 3)
    assert [event.entry.order_id for event in billing.heard(BalanceDebited)] == ["ord_1"]
    assert await _available(billing) == 9_300
    assert await billing.accounts.db[LEDGER].count_documents({"kind": "debit"}) == 1


async def test_a_debit_with_other_terms_for_a_debited_order_changes_nothing(
    billing: OverTheBus,
) -> None:
    """A second debit of an order with another amount is a conflict: no event, no change."""
    await _fund(billing)
    await billing.send(_debit("ord_1", 700))
    await billing.hear(BalanceDebited, 1)
    baseline = consumed(DebitBalance.TYPE)
    await billing.send(_debit("ord_1", 800))
    await settled(billing, DebitBalance.TYPE, baseline, 1)
    assert len(billing.heard(BalanceDebited)) == 1
    assert await _available(billing) == 9_300


async def test_a_refund_command_gives_the_debit_back_and_a_bad_one_is_refused(
    billing: OverTheBus,
) -> None:
    """Refunding a debited order credits it back; refunding an unknown order is refused with
    a reason, and changes nothing."""
    await _fund(billing)
    await billing.send(_debit("ord_1", 700))
    await billing.hear(BalanceDebited, 1)
    await billing.send(
        RefundBalance(actor=PROVISIONING, partner_id=PARTNER, order_id="ord_1"),
        RefundBalance(actor=PROVISIONING, partner_id=PARTNER, order_id="ord_nope"),
    )
    [refunded] = await billing.hear(BalanceRefunded, 1)
    [refused] = await billing.hear(BalanceRefundRefused, 1)
    assert (refunded.entry.order_id, refunded.entry.amount, refunded.balance) == (
        "ord_1",
        eur(700),
        eur(10_000),
    )
    assert (refused.order_id, refused.reason) == ("ord_nope", "not_found")
    assert await _available(billing) == 10_000


GOOD: dict[str, Any] = {
    "actor": {"kind": "platform", "id": "provisioning"},
    "partner_id": PARTNER,
    "order_id": "ord_bad",
    "amount": {"amount": 500, "currency": "EUR"},
}
BAD_DEBITS = {
    "negative amount": {**GOOD, "amount": {"amount": -500, "currency": "EUR"}},
    "zero amount": {**GOOD, "amount": {"amount": 0, "currency": "EUR"}},
    "unknown currency": {**GOOD, "amount": {"amount": 500, "currency": "XYZ"}},
    "float amount": {**GOOD, "amount": {"amount": 5.0, "currency": "EUR"}},
    "amount as text": {**GOOD, "amount": {"amount": "500", "currency": "EUR"}},
    "oversize order id": {**GOOD, "order_id": "o" * 65},
    "oversize amount": {**GOOD, "amount": {"amount": 10**16, "currency": "EUR"}},
}


async def _dead_letter(settings: ServiceSettings) -> AbstractIncomingMessage:
    topology = Topology(settings.bus_namespace)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.get_queue(
            topology.dead_letter_queue(topology.service_queue("accounts"))
        )

        async def take() -> AbstractIncomingMessage | None:
            return await dlq.get(no_ack=True, fail=False)

        return await eventually(take, what="a dead letter")


@pytest.mark.parametrize("case", sorted(BAD_DEBITS))
async def test_a_debit_with_bad_input_is_dead_lettered_with_the_reason_and_writes_nothing(
    billing: OverTheBus, case: str
) -> None:
    """Negative or zero amounts, unknown currencies, floats, text and oversize fields never
    reach the ledger: the command is dead-lettered with a reason naming the field."""
    topology = Topology(billing.accounts.settings.bus_namespace)
    await billing.caller.bus.publish_raw(
        topology.commands,
        Topology.command_key("accounts", DebitBalance.TYPE),
        aio_pika.Message(
            json.dumps(BAD_DEBITS[case]).encode(),
            type=DebitBalance.TYPE,
            message_id=f"msg_bad_{case.replace(' ', '_')}",
        ),
    )
    dead = await _dead_letter(billing.accounts.settings)
    reason = str((dead.headers or {})["x-death-reason"])
    assert reason.startswith("invalid body")
    assert ("amount" in reason) or ("order_id" in reason)
    assert await billing.accounts.db[LEDGER].count_documents({}) == 0
