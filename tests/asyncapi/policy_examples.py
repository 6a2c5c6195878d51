"""Wire examples of the privacy-policy contracts (versions, notices, acknowledgements): one
real instance of each, as JSON input, for the AsyncAPI payload checks."""

from typing import Any

PUBLISHED = "2026-11-26T16:30:35Z"
EFFECTIVE = "2027-01-01T00:00:00Z"
OFFICER = {"kind": "user", "id": "usr_1", "role": "privacy_officer"}

POLICY_EXAMPLES: dict[str, dict[str, Any]] = {
    "privacy.policy_version.v1": {
        "version": 2,
        "text": "Privacy Policy\n\nLast updated: November 2026\n",
        "published_at": PUBLISHED,
        "effective_at": EFFECTIVE,
        "last_updated": "2026-11-26",
        "material": True,
        "summary": "New payment processor",
    },
    "privacy.get_current_policy.v1": {},
    "privacy.publish_policy.v1": {
        "actor": OFFICER,
        "text": "Privacy Policy\n\nLast updated: November 2026\n",
        "effective_at": EFFECTIVE,
        "material": True,
        "summary": "New payment processor",
    },
    "privacy.policy_published.v1": {
        "version": 2,
        "published_at": PUBLISHED,
        "effective_at": EFFECTIVE,
        "summary": "New payment processor",
    },
    "accounts.policy_notice_sent.v1": {
        "partner_id": "ptn_1",
        "version": 2,
        "recipients": 3,
        "sent_at": PUBLISHED,
    },
    "privacy.get_policy_notices.v1": {"partner_id": "ptn_1"},
    "privacy.policy_notices.v1": {
        "notices": [
            {
                "version": 2,
                "summary": "New payment processor",
                "published_at": PUBLISHED,
                "effective_at": EFFECTIVE,
                "notified_at": PUBLISHED,
                "acknowledged_at": PUBLISHED,
            }
        ]
    },
    "privacy.acknowledge_policy.v1": {
        "actor": {"kind": "api_key", "id": "key_1", "partner_id": "ptn_1"},
        "partner_id": "ptn_1",
        "version": 2,
    },
    "privacy.policy_acknowledged.v1": {
        "partner_id": "ptn_1",
        "version": 2,
        "acknowledged_at": PUBLISHED,
    },
}
