"""The provisioning service's personal-data inventory, and the retention rules it states.

The day counts below are the single source: the inventory announces them and the retention
sweep (`provisioning.retention`) and the erasure outcomes (`provisioning.privacy`) apply them.

Provider callbacks (profile installed, usage updated, profile expired, per ICCID) are
technical records of the provider talking to us: the policy's "technical logs, 90 days".
They are not the transaction record (the order is), so erasure deletes them.

Orders, top-ups and eSIM profiles are the transaction records: kept for seven years from
their creation, also after an erasure, which removes (and crypto-shreds) the end user's
email and reference and leaves the records pseudonymised.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

TRANSACTION_RETENTION_DAYS = 7 * 365 + 2
"""Orders, top-ups and eSIM profiles (transaction records) are kept for seven years, leap
days included."""
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
    TOPUPS = "topups"
    ESIM_PROFILES = "esim_profiles"
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
        description="What the reseller gives us about its end user to deliver an eSIM: the"
        " end user's email and the reseller's own reference, sealed with the order's key.",
        fields=["end_user.email", "end_user.reference"],
        purpose="Deliver eSIM services, and nothing else; never sent to the network provider.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Kept with the order; on erasure the order's key is shredded and the fields"
        " and their blind indexes are removed, while the order is kept as a transaction record.",
        actions=_ALL,
    ),
    DataCategory(
        name=Category.ORDERS,
        description="Orders: which partner bought which package, how many, for which ICCIDs.",
        fields=["partner_id", "package_id", "quantity", "total", "iccids", "state", "created_at"],
        purpose="Provide the service, billing and accounting.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Transaction records: kept for 7 years from creation, pseudonymised on"
        " erasure, then deleted by the retention sweep with their keys shredded.",
        retention_days=TRANSACTION_RETENTION_DAYS,
        actions=_KEPT,
    ),
    DataCategory(
        name=Category.TOPUPS,
        description="Top-ups: a package added to an existing eSIM (its ICCID) by a partner.",
        fields=["partner_id", "package_id", "total", "iccids", "state", "created_at"],
        purpose="Provide the service, billing and accounting.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Transaction records: kept for 7 years from creation, then deleted by the"
        " retention sweep.",
        retention_days=TRANSACTION_RETENTION_DAYS,
        actions=_KEPT,
    ),
    DataCategory(
        name=Category.ESIM_PROFILES,
        description="eSIM profiles: ICCID, status, usage and validity; the matching id (an"
        " activation credential) sealed with the partner's key.",
        fields=[
            "_id (iccid)",
            "partner_id",
            "order_id",
            "status",
            "data_used_bytes",
            "data_remaining_bytes",
            "validity_ends_at",
            "matching_id",
        ],
        purpose="Provide the service: deliver, install and meter the eSIM.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Transaction records: kept for 7 years from creation; the matching id is"
        " shredded with the partner's key when the partner is erased.",
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
