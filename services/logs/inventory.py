"""The logs service's personal-data inventory."""

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

ACTIONS = [PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.ERASE, PrivacyAction.RESTRICT]

INVENTORY = [
    DataCategory(
        name="api_request_logs",
        description="One record per API request: route, status, timing, IP and user agent.",
        fields=["partner_id", "ip", "user_agent"],
        purpose="Security, abuse prevention and debugging.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention="30 days.",
        retention_days=30,
        actions=ACTIONS,
    ),
    DataCategory(
        name="technical_logs",
        description="Sign-ins and security events with the email and IP address involved.",
        fields=["email", "ip", "user_agent"],
        purpose="Security and debugging.",
        legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
        retention="90 days.",
        retention_days=90,
        actions=ACTIONS,
    ),
]
