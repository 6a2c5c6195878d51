"""Money on the wire: integer minor units and an active ISO 4217 currency code, never floats."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Final

from pydantic import AfterValidator, Field, StrictInt

from contracts.base import Contract


def _codes(text: str) -> list[str]:
    return text.split()


MINOR_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        **dict.fromkeys(
            _codes(
                """AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL BSD BTN BWP
                BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP
                GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW
                KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR
                MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR
                SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS
                UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"""
            ),
            2,
        ),
        **dict.fromkeys(
            _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"), 0
        ),
        **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
    }
)
"""Active ISO 4217 currency codes and their minor-unit exponents (digits after the point).

Fund codes, precious metals and test codes (CLF, XAU, XDR, XXX, ...) are left out: no
partner holds a balance in them. Withdrawn codes (HRK, SLL, ANG, BGN, ZWL) are left out too.
"""

MAX_MINOR_UNITS: Final = 10**15
"""The largest amount in minor units: within int64, and exact as a JSON number (< 2**53)."""


def _active_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError("not an active ISO 4217 currency code")
    return code


Currency = Annotated[
    str,
    Field(
        description="Active ISO 4217 currency code, upper case.",
        examples=["EUR"],
        json_schema_extra={"enum": sorted(MINOR_UNITS)},
    ),
    AfterValidator(_active_currency),
]
"""An active ISO 4217 currency code (`EUR`, `USD`, `JPY`, ...)."""

MinorUnits = Annotated[
    StrictInt,
    Field(
        ge=-MAX_MINOR_UNITS,
        le=MAX_MINOR_UNITS,
        description="Amount in the currency's minor units (cents for EUR); an integer, never a"
        " float.",
        examples=[1500],
    ),
]


class Money(Contract):
    """An amount of money: integer minor units and the currency they count in."""

    amount: MinorUnits
    currency: Currency

    def decimal(self) -> str:
        """The amount as a decimal string in major units: `1234 EUR` -> `"12.34"`."""
        return format_minor_units(self.amount, self.currency)


def _positive(money: Money) -> Money:
    if money.amount <= 0:
        raise ValueError("the amount must be greater than zero")
    return money


PositiveMoney = Annotated[
    Money,
    AfterValidator(_positive),
    Field(description="An amount of money greater than zero (a price, a debit, a top-up)."),
]
"""Money whose amount is greater than zero."""


def format_minor_units(amount: int, currency: str) -> str:
    """Minor units as an exact decimal string (no floats): `-5 EUR` is `"-0.05"`, `7 JPY` `"7"`."""
    digits = MINOR_UNITS[currency]
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}" if digits else f"{sign}{whole}"
