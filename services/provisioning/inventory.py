"""The provisioning service's personal-data inventory."""

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

INVENTORY = [
    DataCategory(
        name="end_user_data",
        description="What the reseller gives us about its end user to provision an eSIM.",
        fields=["end_user.email", "end_user.reference"],
        purpose="Deliver eSIM services, and nothing else.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Removed from orders on erasure; orders are kept as transaction records.",
        actions=list(PrivacyAction),
    ),
    DataCategory(
        name="orders",
        description="Order history and eSIM provisioning records.",
        fields=["partner_id", "iccid", "package_id", "total"],
        purpose="Provide the service, billing and accounting.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Transaction records are kept for 7 years.",
        retention_days=7 * 365,
        actions=[PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.ERASE],
    ),
]
