"""Wire examples of the provisioning contracts: one real instance of each, as JSON input, for
the AsyncAPI payload checks."""

from typing import Any

from catalogue_examples import CATALOGUE_EXAMPLES
from esim_examples import ESIM_EXAMPLES
from order_examples import ORDER_EXAMPLES
from webhook_examples import WEBHOOK_EXAMPLES

WHEN = "2026-11-26T16:30:35Z"
ICCID = "8949000000000000018"

PROVIDER_EXAMPLES: dict[str, dict[str, Any]] = {
    "provisioning.profile_installed.v1": {
        "iccid": ICCID,
        "webhook_id": "wh_5f2b9c0e1a7d4c3b8e6f0a12",
        "occurred_at": WHEN,
    },
    "provisioning.usage_updated.v1": {
        "iccid": ICCID,
        "webhook_id": "wh_0c4e1b7a9d2f5e8c3a6b1d40",
        "occurred_at": WHEN,
        "data_used_bytes": 52428800,
        "data_remaining_bytes": 1021313024,
    },
    "provisioning.profile_expired.v1": {
        "iccid": ICCID,
        "webhook_id": "wh_9a1c3e5b7d0f2a4c6e8b0d13",
        "occurred_at": WHEN,
    },
}

PROVISIONING_EXAMPLES: dict[str, dict[str, Any]] = {
    **PROVIDER_EXAMPLES,
    **CATALOGUE_EXAMPLES,
    **ESIM_EXAMPLES,
    **ORDER_EXAMPLES,
    **WEBHOOK_EXAMPLES,
}
