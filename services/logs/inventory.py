"""The logs service's personal-data inventory, and the retention rules it states.

The day counts below are the single source: the inventory announces them and the retention
sweep (`logs.retention`) applies them.

Order facts (which partner bought which package for which countries, on which day) are the
input of the usage analytics, which only ever answer in aggregate. They are a copy of what
provisioning keeps as transaction records for seven years, so this copy need not live long:
90 days covers the analytics periods that are asked (a query spans at most about a quarter)
and keeps the copy as short-lived as the technical logs, so a breach of the logs store
exposes at most a quarter of purchases.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

API_REQUEST_RETENTION_DAYS = 30
"""API request logs (the privacy policy: "API logs kept 30 days")."""
TECHNICAL_LOG_RETENTION_DAYS = 90
"""Technical logs shipped by every service (the privacy policy: "technical logs, 90 days")."""
ORDER_FACT_RETENTION_DAYS = 90
"""Order facts, the analytics input (see the module's docstring for why 90 days)."""


def before(now: datetime, days: int) -> datetime:
    """The cutoff of a rule: records older than this have outlived `days`."""
    return now - timedelta(days=days)


class Category(StrEnum):
    """The categories of personal data the logs service holds, by their inventory names."""

    API_REQUEST_LOGS = "api_request_logs"
    TECHNICAL_LOGS = "technical_logs"
    ORDER_FACTS = "order_facts"
    RESTRICTED_SUBJECTS = "restricted_subjects"


_LOG = [PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.ERASE, PrivacyAction.RESTRICT]

INVENTORY = [
    DataCategory(
        name=Category.API_REQUEST_LOGS,
        description="One record per API request: partner, key id (never the secret), method,"
        " route template, status, response time, sizes, time; the caller's IP address and"
        " user agent sealed with the partner's key, the IP with a blind index.",
        fields=["partner_id", "key_id", "ip", "user_agent"],
        purpose="Security (abuse prevention, investigating incidents) and service improvement"
        " (usage and response-time statistics, analytics in aggregate only).",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention=f"{API_REQUEST_RETENTION_DAYS} days after the request, then deleted by the"
        " retention sweep; deleted on erasure with the subject's key shredded.",
        retention_days=API_REQUEST_RETENTION_DAYS,
        actions=_LOG,
    ),
    DataCategory(
        name=Category.TECHNICAL_LOGS,
        description="Log records shipped by every service (sign-ins, security events, errors),"
        " redacted before shipping; the email, IP address and user agent involved sealed with"
        " the user's key (else the partner's), email and IP with blind indexes.",
        fields=["partner_id", "user_id", "email", "ip", "user_agent"],
        purpose="Security and debugging.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention=f"{TECHNICAL_LOG_RETENTION_DAYS} days after the event, then deleted by the"
        " retention sweep; deleted on erasure with the subject's key shredded.",
        retention_days=TECHNICAL_LOG_RETENTION_DAYS,
        actions=_LOG,
    ),
    DataCategory(
        name=Category.ORDER_FACTS,
        description="One record per completed order: partner, package, countries, day; no end"
        " user data. Analytics read them in aggregate only.",
        fields=["partner_id", "package_id", "countries", "day"],
        purpose="Usage analytics in aggregate (per country, package, day), never of one"
        " partner or person.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention=f"{ORDER_FACT_RETENTION_DAYS} days: a short-lived copy of provisioning's"
        " transaction records, long enough for the analytics periods asked (about a quarter).",
        retention_days=ORDER_FACT_RETENTION_DAYS,
        actions=_LOG,
    ),
    DataCategory(
        name=Category.RESTRICTED_SUBJECTS,
        description="The restriction register (`_restricted_subjects`): one entry per"
        " restriction, lift or objection announced by the privacy service, naming the"
        " subject's identifiers by blind index (partner, user ids and ICCIDs also by value,"
        " never an IP address or email), the partner it was limited to, the flags it set or"
        " cleared and when.",
        fields=["identifiers", "scope_partner_id", "flags", "changed_at"],
        purpose="Honour restriction and objection: analytics leave these subjects out.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Kept as the record of the subject's choices, also after an erasure, so that"
        " records arriving later stay out of analytics while a restriction lasts.",
        actions=[PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.RESTRICT],
    ),
]
