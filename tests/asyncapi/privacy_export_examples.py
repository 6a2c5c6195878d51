"""Wire examples of the export-package contracts (parts, links, chunks): one real instance of
each, as JSON input, for the AsyncAPI payload checks."""

from typing import Any

WHEN = "2026-11-26T16:30:35Z"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
FILE = "dsr_1-export.zip"

PRIVACY_EXPORT_EXAMPLES: dict[str, dict[str, Any]] = {
    "privacy.export_part.v1": {
        "request_id": "dsr_1",
        "task_id": "dsr_1.accounts",
        "service": "accounts",
        "index": 0,
        "count": 3,
        "data": "eyJjb250YWN0X3Blb3BsZSI6Ww==",
    },
    "privacy.get_export_link.v1": {"request_id": "dsr_1", "partner_id": "ptn_1"},
    "privacy.export_link.v1": {
        "url": "/v1/privacy/exports/eyJyIjoiZHNyXzEiLCJlIjoxNzY0MjU0NjM1fQ.c2lnbmF0dXJl",
        "expires_at": WHEN,
        "size": 48213,
        "sha256": SHA256,
        "filename": FILE,
        "package_expires_at": WHEN,
    },
    "privacy.fetch_export_chunk.v1": {
        "token": "eyJyIjoiZHNyXzEiLCJlIjoxNzY0MjU0NjM1fQ.c2lnbmF0dXJl",
        "index": 0,
    },
    "privacy.export_chunk.v1": {
        "data": "UEsDBBQAAAAIAA==",
        "index": 0,
        "count": 1,
        "filename": FILE,
        "size": 48213,
    },
}
