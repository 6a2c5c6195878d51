"""The privacy service's own personal data."""

from contracts.privacy import DataCategory, LegalBasis, PrivacyAction

INVENTORY = [
    DataCategory(
        name="data_subject_requests",
        description="Requests made under the privacy policy, with the subject's identifiers.",
        fields=["subject.email", "subject.phone", "subject.partner_id", "subject.ip"],
        purpose="Handle data-subject requests and prove how they were handled.",
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="Kept for 7 years after the request is completed.",
        retention_days=7 * 365,
        actions=[PrivacyAction.LOCATE, PrivacyAction.EXPORT],
    ),
]
