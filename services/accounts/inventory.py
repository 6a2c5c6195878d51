"""The accounts service's personal-data inventory, and the retention rules it states.

The rules below are the single source: the inventory announces them (in words and days) and
the retention sweep (`accounts.retention`) and the erasure outcomes (`accounts.privacy`)
apply them. Periods in years are counted in days with their leap days included, so a record
is never removed before the period has run out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

CLOSED_ACCOUNT_RETENTION_DAYS = 2 * 365 + 1
"""Account data is kept for the account's lifetime plus two years after closure."""
LOGIN_HISTORY_RETENTION_DAYS = 90
"""Technical data (the login history) is kept for 90 days."""
TRANSACTION_RETENTION_DAYS = 7 * 365 + 2
"""Transaction records (the ledger) are kept for seven years, for accounting law."""
API_KEY_REQUEST_RETENTION_DAYS = 1
"""Ids of carried-out API-key requests (no personal data) are kept for a day."""


def before(now: datetime, days: int) -> datetime:
    """The cutoff of a rule: records older than this have outlived `days`."""
    return now - timedelta(days=days)


class Category(StrEnum):
    """The categories of personal data accounts holds, by their stable inventory names."""

    PARTNER_IDENTITY = "partner_identity"
    CONTACT_PEOPLE = "contact_people"
    DASHBOARD_USERS = "dashboard_users"
    DASHBOARD_SESSIONS = "dashboard_sessions"
    LOGIN_HISTORY = "login_history"
    SIGN_IN_THROTTLING = "sign_in_throttling"
    PROCESSING_RESTRICTIONS = "processing_restrictions"
    BILLING_PROFILE = "billing_profile"
    API_KEYS = "api_keys"
    BALANCE_LEDGER = "balance_ledger"


ALL_ACTIONS = list(PrivacyAction)
NOT_RECTIFIED = [PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.ERASE]
ACCOUNT_RETENTION = (
    "The account's lifetime plus 2 years after its closure; erased on request once the"
    " account is closed."
)
PEOPLE_RETENTION = (
    "The account's lifetime plus 2 years after its closure, or until the person's data is"
    " erased on request."
)

INVENTORY = [
    DataCategory(
        name=Category.PARTNER_IDENTITY,
        description="The partner's business identity, and which of its fields were rectified.",
        fields=["business_name", "registration_number", "tax_id", "address", "phone"],
        purpose="Provide the service under the partner agreement; invoices and compliance.",
        legal_basis=LegalBasis.CONTRACT,
        retention=ACCOUNT_RETENTION,
        retention_days=CLOSED_ACCOUNT_RETENTION_DAYS,
        actions=ALL_ACTIONS,
    ),
    DataCategory(
        name=Category.CONTACT_PEOPLE,
        description="The partner's contact people, and which of their fields were rectified.",
        fields=["name", "email", "phone", "role"],
        purpose="Communicate with the partner about the service.",
        legal_basis=LegalBasis.CONTRACT,
        retention=PEOPLE_RETENTION,
        retention_days=CLOSED_ACCOUNT_RETENTION_DAYS,
        actions=ALL_ACTIONS,
    ),
    DataCategory(
        name=Category.DASHBOARD_USERS,
        description="People who sign in to the partner dashboard (or the platform's).",
        fields=["name", "email", "role", "status", "password_hash"],
        purpose="Give the partner's people access to the dashboard.",
        legal_basis=LegalBasis.CONTRACT,
        retention=PEOPLE_RETENTION,
        retention_days=CLOSED_ACCOUNT_RETENTION_DAYS,
        actions=ALL_ACTIONS,
    ),
    DataCategory(
        name=Category.DASHBOARD_SESSIONS,
        description="Signed-in sessions of dashboard users (the token's hash, never the token).",
        fields=["user_id", "created_at", "expires_at"],
        purpose="Keep a user signed in until the session expires or is revoked.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until the session expires (12 hours by default) or is revoked.",
        retention_days=30,
        actions=NOT_RECTIFIED,
    ),
    DataCategory(
        name=Category.LOGIN_HISTORY,
        description="Every sign-in attempt: time, outcome, IP address and user agent.",
        fields=["user_id", "at", "outcome", "reason", "ip", "user_agent"],
        purpose="Security: detect and prevent fraud, abuse and unauthorised access.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention=f"Technical data: {LOGIN_HISTORY_RETENTION_DAYS} days.",
        retention_days=LOGIN_HISTORY_RETENTION_DAYS,
        actions=NOT_RECTIFIED,
    ),
    DataCategory(
        name=Category.SIGN_IN_THROTTLING,
        description=(
            "Failed sign-ins counted per email and per IP address, each by its blind index."
        ),
        fields=["email_blind_index", "ip_blind_index", "failures", "locked_until"],
        purpose="Security: slow down password guessing with lockouts.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention="Until the failure window and any lockout have passed (minutes).",
        retention_days=1,
        actions=NOT_RECTIFIED,
    ),
    DataCategory(
        name=Category.PROCESSING_RESTRICTIONS,
        description="People who restricted or objected to processing, by their blind indexes:"
        " accounts' own entries, and the restriction register's (one per request announced by"
        " the privacy service, the partner it was limited to and when).",
        fields=["email_blind_index", "phone_blind_index", "restricted", "objection"],
        purpose="Honour a restriction or objection: no non-essential email, no new processing.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Own entries until the restriction is lifted or the person's data is erased;"
        " the register's entries (blind indexes only) are kept as the record of the person's"
        " choices, so a lift still wins over an older restriction arriving late.",
        actions=NOT_RECTIFIED,
    ),
    DataCategory(
        name=Category.BILLING_PROFILE,
        description="The payment processor's customer token, card brand and last four digits.",
        fields=["processor", "customer_token", "card_brand", "last4"],
        purpose="Billing: charge the partner's top-ups through the payment processor.",
        legal_basis=LegalBasis.CONTRACT,
        retention=ACCOUNT_RETENTION,
        retention_days=CLOSED_ACCOUNT_RETENTION_DAYS,
        actions=NOT_RECTIFIED,
    ),
    DataCategory(
        name=Category.API_KEYS,
        description="The partner's API keys: name, prefix, scopes and when they were used.",
        fields=["name", "prefix", "scopes", "created_by", "last_used_at"],
        purpose="Authenticate the partner's API calls.",
        legal_basis=LegalBasis.CONTRACT,
        retention=ACCOUNT_RETENTION,
        retention_days=CLOSED_ACCOUNT_RETENTION_DAYS,
        actions=NOT_RECTIFIED,
    ),
    DataCategory(
        name=Category.BALANCE_LEDGER,
        description="Top-ups, order debits and refunds of the partner's balance; no name,"
        " email or phone.",
        fields=["partner_id", "amount", "currency", "reference", "order_id", "created_at"],
        purpose="Billing and accounting.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Transaction records are kept for 7 years, then deleted once the account"
        " is closed and erased.",
        retention_days=TRANSACTION_RETENTION_DAYS,
        actions=NOT_RECTIFIED,
    ),
]
