"""Wire examples of the eSIM contracts (one real instance of each, as JSON input)."""

from typing import Any

ICCID = "8949000000000000018"
READER: dict[str, Any] = {
    "kind": "api_key",
    "id": "key_01jb3k5x2v9q8r7t6s5p4n3m2k",
    "partner_id": "ptn_demo",
    "scopes": ["esims:read"],
}
LISTED: dict[str, Any] = {
    "iccid": ICCID,
    "order_id": "ord_01jb3k5x2v",
    "package_id": "pkg_de_5gb_30d",
    "status": "installed",
    "usage": {
        "data_used_bytes": 52428800,
        "data_remaining_bytes": 5316280320,
        "data_total_bytes": 5368709120,
        "validity_ends_at": "2026-12-26T16:30:35Z",
    },
    "created_at": "2026-11-26T16:30:35Z",
    "installed_at": "2026-11-26T16:30:35Z",
}

ESIM_EXAMPLES: dict[str, dict[str, Any]] = {
    "provisioning.get_esim.v1": {"actor": READER, "partner_id": "ptn_demo", "iccid": ICCID},
    "provisioning.esim.v1": {
        **LISTED,
        "smdp_address": "smdp.example.com",
        "matching_id": "K2-1A2B3C-4D5E6F",
        "activation_code": "LPA:1$smdp.example.com$K2-1A2B3C-4D5E6F",
    },
    "provisioning.list_esims.v1": {
        "actor": READER,
        "partner_id": "ptn_demo",
        "order_id": "ord_01jb3k5x2v",
        "status": "installed",
        "limit": 20,
        "cursor": "ord_01jb3k5x2v:02",
    },
    "provisioning.esim_page.v1": {"data": [LISTED], "next_cursor": "ord_01jb3k5x2v:01"},
}
