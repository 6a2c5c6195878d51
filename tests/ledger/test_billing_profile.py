"""The billing profile: processor tokens, brand and last four only; never a card number."""

from __future__ import annotations

from typing import Any, ClassVar, cast

import pytest
from ledger_support import OWNER, PARTNER, OverTheBus
from pydantic import ConfigDict

from accounts.billing import PROFILES
from accounts.settings import AccountsSettings
from contracts import Query
from contracts.accounts import Actor
from contracts.billing import (
    BillingProfileView,
    CardBrand,
    GetBillingProfile,
    SetBillingProfile,
)
from servicekit.errors import RemoteCallError
from servicekit.vault import Vault

PROFILE = SetBillingProfile(
    actor=OWNER,
    partner_id=PARTNER,
    processor="stripe",
    customer_token="cus_NffrFeUfNV2Hib",
    card_brand=CardBrand.VISA,
    last4="4242",
)


class UncheckedProfile(Query):
    """The set-profile message as a careless client might send it: no checks, extras allowed."""

    model_config = ConfigDict(extra="allow", frozen=True)
    TYPE: ClassVar[str] = SetBillingProfile.TYPE

    actor: Actor
    partner_id: str
    processor: str
    customer_token: str
    card_brand: str
    last4: str


async def _profile(billing: OverTheBus) -> BillingProfileView:
    return await billing.ask(GetBillingProfile(actor=OWNER, partner_id=PARTNER), BillingProfileView)


async def test_a_profile_set_is_read_back_and_stored_sealed(billing: OverTheBus) -> None:
    """The profile reads back as set; in the store the token, brand and last four are sealed."""
    saved = await billing.ask(PROFILE, BillingProfileView)
    read = await _profile(billing)
    assert read == saved
    assert (read.processor, read.customer_token, read.card_brand, read.last4) == (
        "stripe",
        "cus_NffrFeUfNV2Hib",
        CardBrand.VISA,
        "4242",
    )
    stored = await billing.accounts.db[PROFILES].find_one({"_id": PARTNER})
    assert stored is not None
    assert stored["processor"] == "stripe"
    for field in ("customer_token", "card_brand", "last4"):
        assert stored[field].startswith("enc1.")
    assert "cus_NffrFeUfNV2Hib" not in repr(stored)
    assert "4242" not in repr(stored)


VISA_TEST_PAN = "4111111111111111"
CARD_NUMBERS: dict[str, dict[str, Any]] = {
    "token is a card number": {"customer_token": VISA_TEST_PAN},
    "token holds a card number": {"customer_token": "cus_5555555555554444"},
    "last four is a card number": {"last4": "3782 822463 10005"},
    "card number in an extra field": {"card_number": "4000-0566-5566-5556"},
}


@pytest.mark.parametrize("case", sorted(CARD_NUMBERS))
async def test_anything_that_looks_like_a_card_number_is_refused_and_nothing_is_stored(
    billing: OverTheBus, case: str
) -> None:
    """A Luhn-valid 13-19 digit run anywhere in the request is refused with invalid_request,
    without echoing it, and the stored profile stays as it was."""
    await billing.ask(PROFILE, BillingProfileView)
    fields = {**PROFILE.model_dump(exclude={"actor"}), "card_brand": "visa", **CARD_NUMBERS[case]}
    with pytest.raises(RemoteCallError) as refused:
        await billing.ask(UncheckedProfile(actor=OWNER, **fields), BillingProfileView)
    assert refused.value.code == "invalid_request"
    assert "card number" in refused.value.message
    assert not any(char.isdigit() for char in refused.value.message)
    assert (await _profile(billing)).customer_token == "cus_NffrFeUfNV2Hib"
    assert await billing.accounts.db[PROFILES].count_documents({}) == 1


async def test_a_last_four_that_is_not_four_digits_is_refused(billing: OverTheBus) -> None:
    """`last4` is exactly four digits; anything else is an invalid request, nothing stored."""
    fields = {**PROFILE.model_dump(exclude={"actor"}), "card_brand": "visa", "last4": "424"}
    with pytest.raises(RemoteCallError) as refused:
        await billing.ask(UncheckedProfile(actor=OWNER, **fields), BillingProfileView)
    assert refused.value.code == "invalid_request"
    assert await billing.accounts.db[PROFILES].count_documents({}) == 0


async def test_shredding_the_partners_key_makes_the_profile_unreadable(
    billing: OverTheBus,
) -> None:
    """Once the partner's data key is destroyed, the stored profile reads as not found."""
    await billing.ask(PROFILE, BillingProfileView)
    settings = cast(AccountsSettings, billing.accounts.settings)
    await Vault.from_settings(billing.accounts.db, settings).shred(PARTNER)
    with pytest.raises(RemoteCallError) as missing:
        await _profile(billing)
    assert missing.value.code == "not_found"
