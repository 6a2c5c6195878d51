"""Money and billing contracts: currencies, exact decimals, no floats, no card numbers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.billing import looks_like_card_number
from contracts.ledger import CreditBalance, CreditKind, DebitBalance
from contracts.money import MINOR_UNITS, Money, format_minor_units

PLATFORM = {"kind": "platform", "id": "provisioning"}


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1234, "EUR", "12.34"),
        (-5, "EUR", "-0.05"),
        (100, "EUR", "1.00"),
        (0, "USD", "0.00"),
        (7, "JPY", "7"),
        (-1500, "KRW", "-1500"),
        (1234, "KWD", "1.234"),
        (10**15, "EUR", "10000000000000.00"),
    ],
)
def test_minor_units_format_as_exact_decimals(amount: int, currency: str, text: str) -> None:
    """Decimals follow each currency's exponent, computed from integers (no float rounding)."""
    assert format_minor_units(amount, currency) == text
    assert Money(amount=amount, currency=currency).decimal() == text


@pytest.mark.parametrize("currency", ["XYZ", "eur", "EURO", "HRK", "XAU", ""])
def test_only_active_iso_4217_codes_are_currencies(currency: str) -> None:
    """Unknown, lower-case, withdrawn and non-currency codes are refused."""
    with pytest.raises(ValidationError):
        Money(amount=1, currency=currency)


def test_the_currency_table_holds_the_usual_exponents() -> None:
    """A few facts of ISO 4217 the table must get right."""
    assert (MINOR_UNITS["EUR"], MINOR_UNITS["JPY"], MINOR_UNITS["BHD"]) == (2, 0, 3)
    assert all(len(code) == 3 and code.isupper() for code in MINOR_UNITS)


@pytest.mark.parametrize("amount", [12.5, 12.0, "1250", True, 10**15 + 1])
def test_an_amount_is_an_integer_of_minor_units(amount: object) -> None:
    """Floats (even whole ones), text, booleans and amounts beyond the limit are refused."""
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": amount, "currency": "EUR"})


@pytest.mark.parametrize("amount", [0, -1])
def test_a_debit_is_positive(amount: int) -> None:
    """A debit of zero or less is refused by the contract."""
    with pytest.raises(ValidationError):
        DebitBalance.model_validate(
            {
                "actor": PLATFORM,
                "partner_id": "ptn_1",
                "order_id": "ord_1",
                "amount": {"amount": amount, "currency": "EUR"},
            }
        )


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "378282246310005",
        "cus_5555555555554444",
        "6011111111111117 and more",
    ],
)
def test_card_numbers_are_recognised(text: str) -> None:
    """Luhn-valid runs of 13-19 digits, with or without separators, anywhere in the text."""
    assert looks_like_card_number(text)


@pytest.mark.parametrize(
    "text", ["4111111111111112", "4242", "cus_NffrFeUfNV2Hib", "2026-11-27 12:30", "12345678901"]
)
def test_other_numbers_are_not_card_numbers(text: str) -> None:
    """Luhn-invalid or short digit runs are not card numbers."""
    assert not looks_like_card_number(text)


def test_a_credit_reference_may_not_be_a_card_number() -> None:
    """A payment reference holding a card number is refused by the contract."""
    with pytest.raises(ValidationError) as refused:
        CreditBalance(
            actor=PLATFORM,  # type: ignore[arg-type]
            partner_id="ptn_1",
            kind=CreditKind.TOP_UP,
            reference="pay-4111111111111111",
            amount=Money(amount=100, currency="EUR"),
        )
    assert "card number" in str(refused.value)
