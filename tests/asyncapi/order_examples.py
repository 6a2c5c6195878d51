"""Wire examples of the order and top-up contracts, for the AsyncAPI payload checks."""

from typing import Any

WHEN = "2026-11-26T16:30:35Z"
ICCID = "8949000000000000018"
ACTOR = {
    "kind": "api_key",
    "id": "key_01jb3k",
    "partner_id": "ptn_demo",
    "scopes": ["orders:write"],
}
EUR = {"amount": 499, "currency": "EUR"}
ORDER = {
    "id": "ord_01jb3k5x2v",
    "status": "completed",
    "package_id": "pkg_de_1gb_7d",
    "quantity": 1,
    "unit_price": EUR,
    "total": EUR,
    "iccids": [ICCID],
    "end_user": {"email": "traveller@example.com", "reference": "cust-4711"},
    "transitions": [
        {"step": "created", "at": WHEN},
        {"step": "funds_reserved", "at": WHEN},
        {"step": "provider_done", "at": WHEN},
        {"step": "completed", "at": WHEN},
    ],
    "created_at": WHEN,
    "updated_at": WHEN,
}
TOPUP = {
    "id": "top_01jb3k5x2w",
    "status": "failed",
    "iccid": ICCID,
    "package_id": "pkg_de_1gb_7d",
    "total": EUR,
    "failure": {"reason": "provider_timeout", "message": "no answer", "funds_returned": True},
    "transitions": [{"step": "created", "at": WHEN}, {"step": "failed", "at": WHEN}],
    "created_at": WHEN,
    "updated_at": WHEN,
}
OWN = {"actor": ACTOR, "partner_id": "ptn_demo"}

ORDER_EXAMPLES: dict[str, dict[str, Any]] = {
    "provisioning.create_order.v1": {
        **OWN,
        "idempotency_key": "8e0c2a1b-5f7d-4c1e-9a0b-3d2e1f4c5b6a",
        "package_id": "pkg_de_1gb_7d",
        "quantity": 2,
        "end_user": {"email": "traveller@example.com"},
        "max_total_price": {"amount": 1000, "currency": "EUR"},
    },
    "provisioning.order.v1": ORDER,
    "provisioning.get_order.v1": {**OWN, "order_id": "ord_01jb3k5x2v"},
    "provisioning.list_orders.v1": {**OWN, "status": "pending", "created_from": WHEN, "limit": 20},
    "provisioning.order_page.v1": {"data": [ORDER], "next_cursor": "ord_01jb3k5x2v"},
    "provisioning.create_topup.v1": {
        **OWN,
        "idempotency_key": "topup-1",
        "iccid": ICCID,
        "package_id": "pkg_de_1gb_7d",
    },
    "provisioning.topup.v1": TOPUP,
    "provisioning.get_topup.v1": {**OWN, "topup_id": "top_01jb3k5x2w"},
    "provisioning.list_topups.v1": {**OWN, "iccid": ICCID},
    "provisioning.topup_page.v1": {"data": [TOPUP]},
    "provisioning.order_completed.v1": {
        "order_id": "ord_01jb3k5x2v",
        "partner_id": "ptn_demo",
        "package_id": "pkg_de_1gb_7d",
        "iccids": [ICCID],
        "total": EUR,
        "completed_at": WHEN,
        "countries": ["DE"],
    },
    "provisioning.order_failed.v1": {
        "order_id": "ord_01jb3k5x2v",
        "partner_id": "ptn_demo",
        "reason": "insufficient_funds",
        "failed_at": WHEN,
    },
    "provisioning.topup_completed.v1": {
        "topup_id": "top_01jb3k5x2w",
        "partner_id": "ptn_demo",
        "iccid": ICCID,
        "package_id": "pkg_de_1gb_7d",
        "total": EUR,
        "completed_at": WHEN,
    },
    "provisioning.topup_failed.v1": {
        "topup_id": "top_01jb3k5x2w",
        "partner_id": "ptn_demo",
        "iccid": ICCID,
        "reason": "provider_unavailable",
        "failed_at": WHEN,
    },
}
