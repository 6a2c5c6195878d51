"""Who receives each category of personal data, and how transfers abroad are safeguarded.

The record of processing joins this table to the inventories the services announce. It is
kept here, beside the registry, because recipients are decided by contracts with third
parties (policy section 4) rather than by the code that stores the data. A category that is
not listed goes to hosting only. Safeguards are those of policy section 9.
"""

from __future__ import annotations

from dataclasses import dataclass

HOSTING = "Hosting and monitoring providers (processors under a data processing agreement)"
NETWORK_PROVIDERS = "eSIM network providers (the minimum needed to provision a profile)"
PAYMENT_PROCESSOR = "Payment processor (processor tokens and transaction references)"
PARTNER_ENDPOINTS = "The partner's own webhook endpoints (data the partner controls)"

SAFEGUARDS = (
    "Standard contractual clauses approved by the relevant authorities",
    "Data processing agreements with every service provider",
    "Compliance with applicable cross-border transfer regulations",
)
"""The transfer safeguards of policy section 9; they apply to every recipient abroad."""


@dataclass(frozen=True)
class Recipients:
    """The recipients of one category of personal data and the safeguards of transfers."""

    recipients: tuple[str, ...]
    safeguards: tuple[str, ...] = SAFEGUARDS


DEFAULT = Recipients((HOSTING,))

RECIPIENTS: dict[str, Recipients] = {
    "billing_profile": Recipients((HOSTING, PAYMENT_PROCESSOR)),
    "balance_ledger": Recipients((HOSTING, PAYMENT_PROCESSOR)),
    "end_user_data": Recipients((HOSTING, NETWORK_PROVIDERS, PARTNER_ENDPOINTS)),
    "orders": Recipients((HOSTING, NETWORK_PROVIDERS)),
    "topups": Recipients((HOSTING, NETWORK_PROVIDERS)),
    "esim_profiles": Recipients((HOSTING, NETWORK_PROVIDERS, PARTNER_ENDPOINTS)),
    "provider_callbacks": Recipients((HOSTING, NETWORK_PROVIDERS)),
    "webhook_deliveries": Recipients((HOSTING, PARTNER_ENDPOINTS)),
    "webhook_attempts": Recipients((HOSTING, PARTNER_ENDPOINTS)),
}
"""Recipients per category name (the names of the services' inventories)."""


def recipients_of(category: str) -> Recipients:
    """The recipients and safeguards of a category (hosting only when not listed)."""
    return RECIPIENTS.get(category, DEFAULT)
