"""The billing profile: the payment processor's customer token, the card brand and last four.

No card number is ever accepted (the contract refuses anything that looks like one). The
token, brand and last four are sealed with the partner's data key (decision 0004), so
shredding that key makes a stored profile unreadable, in backups too.

`billing_profiles`, one per partner (`_id` = partner id):
    {processor, customer_token: enc1…, card_brand: enc1…, last4: enc1…, updated: {at}}
"""

from __future__ import annotations

from datetime import datetime

from accounts.store import Db
from contracts.billing import BillingProfileView, CardBrand, SetBillingProfile
from servicekit.errors import ServiceError
from servicekit.vault import Vault

PROFILES = "billing_profiles"
SEALED_FIELDS = ("customer_token", "card_brand", "last4")
NO_PROFILE = "the partner has no billing profile"


async def set_profile(
    db: Db, vault: Vault, request: SetBillingProfile, now: datetime
) -> BillingProfileView:
    """Replace the partner's billing profile; setting the same profile again changes nothing."""
    partner_id = request.partner_id
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the store keeps milliseconds
    sealed = await vault.seal(
        partner_id,
        partner_id,
        {
            "customer_token": request.customer_token,
            "card_brand": request.card_brand.value,
            "last4": request.last4,
        },
    )
    await db[PROFILES].update_one(
        {"_id": partner_id},
        {"$set": {"processor": request.processor, **sealed, "updated": {"at": now}}},
        upsert=True,
    )
    return BillingProfileView(
        partner_id=partner_id,
        processor=request.processor,
        customer_token=request.customer_token,
        card_brand=request.card_brand,
        last4=request.last4,
        updated_at=now,
    )


async def get_profile(db: Db, vault: Vault, partner_id: str) -> BillingProfileView:
    """The partner's billing profile; not found when there is none or its key was shredded."""
    document = await db[PROFILES].find_one({"_id": partner_id})
    if document is None:
        raise ServiceError("not_found", NO_PROFILE)
    opened = await vault.open(partner_id, document, SEALED_FIELDS)
    token, brand, last4 = (opened[field] for field in SEALED_FIELDS)
    if token is None or brand is None or last4 is None:
        raise ServiceError("not_found", NO_PROFILE)
    return BillingProfileView(
        partner_id=partner_id,
        processor=document["processor"],
        customer_token=token,
        card_brand=CardBrand(brand),
        last4=last4,
        updated_at=document["updated"]["at"],
    )
