"""The accounts service's personal-data inventory."""

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

ALL_ACTIONS = list(PrivacyAction)

INVENTORY = [
    DataCategory(
        name="partner_identity",
        description="Business name, registration and tax details, address and phone.",
        fields=["business_name", "registration_number", "tax_id", "address", "phone"],
        purpose="Provide the service under the partner agreement.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Account lifetime plus 2 years after closure.",
        actions=ALL_ACTIONS,
    ),
    DataCategory(
        name="contact_people",
        description="Names, emails and phones of the partner's contact people.",
        fields=["name", "email", "phone", "role"],
        purpose="Communicate with the partner about the service.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Account lifetime plus 2 years after closure.",
        actions=ALL_ACTIONS,
    ),
    DataCategory(
        name="balance_ledger",
        description="Top-ups, order debits and refunds of the partner's balance.",
        fields=["partner_id", "amount", "reference"],
        purpose="Billing and accounting.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Transaction records are kept for 7 years.",
        retention_days=7 * 365,
        actions=[PrivacyAction.LOCATE, PrivacyAction.EXPORT, PrivacyAction.ERASE],
    ),
]
