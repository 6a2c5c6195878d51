"""Examples of the data-subject request contracts: intake, decisions and views."""

from __future__ import annotations

from typing import Any

WHEN = "2026-11-26T16:30:35Z"
DUE = "2026-12-26T16:30:35Z"
OUTCOME = {
    "category": "orders",
    "records": 3,
    "disposition": "pseudonymised",
    "legal_basis": "legal_obligation",
    "retained_until": "2033-12-31",
}
REQUEST_VIEW = {
    "id": "dsr_1",
    "type": "erasure",
    "channel": "partner",
    "status": "in_progress",
    "created_at": WHEN,
    "due_at": DUE,
    "extensions": [
        {"months": 1, "reason": "complex request", "by": "officer", "at": WHEN},
    ],
    "tasks": [
        {
            "service": "provisioning",
            "task_id": "dsr_1.provisioning",
            "action": "erase",
            "status": "completed",
            "attempts": 1,
            "run": 1,
            "outcomes": [OUTCOME],
            "completed_at": WHEN,
        },
        {
            "service": "logs",
            "task_id": "dsr_1.logs",
            "action": "erase",
            "status": "in_progress",
            "attempts": 2,
            "run": 1,
            "last_error": "no answer within 30 s; sent again",
            "next_attempt_at": WHEN,
        },
    ],
}
PRIVACY_REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "privacy.request.v1": REQUEST_VIEW,
    "privacy.request_page.v1": {"data": [REQUEST_VIEW], "next_cursor": "cur_2"},
    "privacy.verify_request.v1": {"request_id": "dsr_1", "code": "042917"},
    "privacy.resend_verification_code.v1": {"request_id": "dsr_1"},
    "privacy.approve_request.v1": {"request_id": "dsr_1", "by": "officer"},
    "privacy.reject_request.v1": {"request_id": "dsr_1", "by": "officer", "reason": "duplicate"},
    "privacy.cancel_request.v1": {
        "request_id": "dsr_1",
        "partner_id": "ptn_1",
        "by": "key_1",
        "reason": "asked by mistake",
    },
    "privacy.extend_deadline.v1": {
        "request_id": "dsr_1",
        "by": "officer",
        "months": 2,
        "reason": "complex request",
    },
    "privacy.rerun_task.v1": {"request_id": "dsr_1", "by": "officer", "service": "logs"},
}

INDEX = "5f2b" * 16
ERASED = [
    {"kind": "email", "index": INDEX},
    {"kind": "iccid", "index": "a1c3" * 16, "value": "8949000000000000017"},
]
PRIVACY_REQUEST_EXAMPLES.update(
    {
        "privacy.request_closed.v1": {
            "request_id": "dsr_1",
            "type": "erasure",
            "partner_id": "ptn_1",
            "status": "completed",
            "closed_at": WHEN,
        },
        "privacy.subject_erased.v1": {
            "request_id": "dsr_1",
            "scope_partner_id": "ptn_1",
            "identifiers": ERASED,
            "erased_at": WHEN,
        },
        "privacy.subject_restriction_changed.v1": {
            "request_id": "dsr_1",
            "scope_partner_id": "ptn_1",
            "identifiers": ERASED,
            "restricted": True,
            "changed_at": WHEN,
        },
        "privacy.reapply_erasures.v1": {"by": "officer", "since": WHEN},
        "privacy.reapply_started.v1": {"run_id": "rap_1", "entries": 12, "services": ["logs"]},
        "privacy.reapply_erasure.v1": {
            "run_id": "rap_1",
            "request_id": "dsr_1",
            "identifiers": ERASED,
            "erased_at": WHEN,
        },
        "privacy.erasure_reapplied.v1": {
            "run_id": "rap_1",
            "request_id": "dsr_1",
            "service": "logs",
            "succeeded": True,
            "outcomes": [{"category": "api_request_logs", "records": 4, "disposition": "deleted"}],
        },
        "privacy.get_reapply_run.v1": {"run_id": "rap_1"},
        "privacy.reapply_run.v1": {
            "run_id": "rap_1",
            "started_at": WHEN,
            "expected": 36,
            "answered": 35,
            "failed": 1,
            "erased_again": 4,
        },
    }
)
