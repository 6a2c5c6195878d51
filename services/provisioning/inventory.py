"""The provisioning service's personal-data inventory, and the retention rules it states.

The day counts below are the single source: the inventory announces them and the retention
sweep (`provisioning.retention`) and the erasure outcomes (`provisioning.privacy`) apply them.

Provider callbacks (profile installed, usage updated, profile expired, per ICCID) are
technical records of the provider talking to us: the policy's "technical logs, 90 days".
They are not the transaction record (the order is), so erasure deletes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

TRANSACTION_RETENTION_DAYS = 7 * 365 + 2
"""Orders (transaction records) are kept for seven years, leap days included."""
TECHNICAL_LOG_RETENTION_DAYS = 90
"""Technical logs: webhook deliveries and their attempts, the provider's callbacks."""
CALLBACK_RETENTION_DAYS = TECHNICAL_LOG_RETENTION_DAYS
DELIVERY_LOG_RETENTION_DAYS = TECHNICAL_LOG_RETENTION_DAYS


def before(now: datetime, days: int) -> datetime:
    """The cutoff of a rule: records older than this have outlived `days`."""
    return now - timedelta(days=days)


class Category(StrEnum):
    """The categories of personal data provisioning holds, by their stable inventory names."""

    END_USER_DATA = "end_user_data"
    ORDERS = "orders"
    PROVIDER_CALLBACKS = "provider_callbacks"
    WEBHOOK_ENDPOINTS = "webhook_endpoints"
    WEBHOOK_DELIVERIES = "webhook_deliveries"
    WEBHOOK_ATTEMPTS = "webhook_attempts"


_ALL = list(PrivacyAction)
_KEPT = [PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.ERASE]
_LOG = [PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.ERASE, PrivacyAction.RESTRICT]

INVENTORY = [
    DataCategory(
        name=Category.END_USER_DATA,
        description="What the reseller gives us about its end user to provision an eSIM.",
        fields=["end_user.email", "end_user.reference"],
        purpose="Deliver eSIM services, and nothing else.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Removed from orders on erasure; orders are kept as transaction records.",
        actions=_ALL,
    ),
    DataCategory(
        name=Category.ORDERS,
        description="Orders, eSIMs and top-ups: who bought which package for which ICCID.",
        fields=["partner_id", "iccid", "package_id", "total"],
        purpose="Provide the service, billing and accounting.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Transaction records are kept for 7 years, pseudonymised on erasure.",
        retention_days=TRANSACTION_RETENTION_DAYS,
        actions=_KEPT,
    ),
    DataCategory(
        name=Category.PROVIDER_CALLBACKS,
        description="The network provider's callbacks about an eSIM: installed, usage, expired.",
        fields=["iccid", "data.data_used_bytes", "data.data_remaining_bytes"],
        purpose="Keep the eSIM's state and usage current and tell the reseller.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Technical logs: deleted 90 days after receipt, or on erasure.",
        retention_days=CALLBACK_RETENTION_DAYS,
        actions=_KEPT,
    ),
    DataCategory(
        name=Category.WEBHOOK_ENDPOINTS,
        description="The reseller's webhook URLs and their sealed signing secrets.",
        fields=["partner_id", "url", "secret"],
        purpose="Deliver the events the reseller subscribed to.",
        legal_basis=LegalBasis.CONTRACT,
        retention="While the reseller keeps the endpoint; deleted on the partner's erasure.",
        actions=_KEPT,
    ),
    DataCategory(
        name=Category.WEBHOOK_DELIVERIES,
        description="Webhook delivery logs: payloads (ICCIDs, order ids) and their status.",
        fields=["partner_id", "iccid", "order_id", "payload"],
        purpose="Deliver events reliably and let the reseller inspect and replay them.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention="Technical logs: deleted 90 days after creation, or on erasure.",
        retention_days=DELIVERY_LOG_RETENTION_DAYS,
        actions=_LOG,
    ),
    DataCategory(
        name=Category.WEBHOOK_ATTEMPTS,
        description="One record per delivery attempt: response code, latency, error.",
        fields=["partner_id", "delivery_id"],
        purpose="Debug deliveries and disable failing endpoints.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention="Technical logs: deleted 90 days after the attempt, or on erasure.",
        retention_days=DELIVERY_LOG_RETENTION_DAYS,
        actions=_KEPT,
    ),
]
