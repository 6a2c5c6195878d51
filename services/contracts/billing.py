"""Billing-profile contracts: the payment processor's customer token, the card brand and the
last four digits; never a card number (anything that looks like one is refused).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Field, model_validator

from contracts.accounts import Actor
from contracts.base import Query, Reply

PartnerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["ptn_01hx3y"])]

_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9])*")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """Whether `text` holds 13-19 digits in a row (single spaces or dashes between them
    allowed) that pass the Luhn check: a primary account number, which we never accept."""
    for run in _DIGIT_RUN.findall(text):
        digits = run.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and _luhn_valid(digits):
            return True
    return False


def _texts_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _texts_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts_in(item)


def refuse_card_numbers(data: Any) -> Any:
    """Raise if any value in `data` (strings and integers, nested) looks like a card number."""
    if any(looks_like_card_number(text) for text in _texts_in(data)):
        raise ValueError(
            "a field looks like a card number; send the payment processor's token, never a card"
            " number"
        )
    return data


class CardBrand(StrEnum):
    """Card brands as payment processors report them."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"
    MAESTRO = "maestro"
    CARTES_BANCAIRES = "cartes_bancaires"
    EFTPOS = "eftpos"
    UNKNOWN = "unknown"


class SetBillingProfile(Query):
    """Set the partner's billing profile: the processor's customer token, the card brand and its
    last four digits. Anything that looks like a card number is refused."""

    TYPE: ClassVar[str] = "accounts.set_billing_profile.v1"

    actor: Actor
    partner_id: PartnerId
    processor: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", examples=["stripe"])
    customer_token: str = Field(
        pattern=r"^[A-Za-z0-9_-]{6,128}$",
        description="The processor's customer reference, never card data.",
        examples=["cus_NffrFeUfNV2Hib"],
    )
    card_brand: CardBrand
    last4: str = Field(pattern=r"^[0-9]{4}$", examples=["4242"])

    @model_validator(mode="before")
    @classmethod
    def _no_card_numbers(cls, data: Any) -> Any:
        return refuse_card_numbers(data)


class GetBillingProfile(Query):
    """The partner's billing profile; answered by `accounts.billing_profile.v1`."""

    TYPE: ClassVar[str] = "accounts.get_billing_profile.v1"

    actor: Actor
    partner_id: PartnerId


class BillingProfileView(Reply):
    """A partner's billing profile."""

    TYPE: ClassVar[str] = "accounts.billing_profile.v1"

    partner_id: PartnerId
    processor: str
    customer_token: str
    card_brand: CardBrand
    last4: str
    updated_at: datetime
