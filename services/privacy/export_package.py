"""The export package of an access or portability request: one deterministic ZIP file.

Inside: `manifest.json` (the request, every service with its categories and record counts,
every file with its SHA-256 and size), `<service>/<category>.json` for every category,
`<service>/<category>.csv` for categories that are lists of flat records (nested values as
JSON text in their cell), and `SUMMARY.txt`, a short readable account of all of it. The same
input always gives the same bytes: entries are sorted and dated with the request's closing
time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MANIFEST = "manifest.json"
SUMMARY = "SUMMARY.txt"
FORMAT = "esim-privacy-export.v1"
EARLIEST_ZIP_TIME = datetime(1980, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RequestFacts:
    """What the package says about its request."""

    request_id: str
    type: str
    created_at: datetime
    completed_at: datetime
    not_included: dict[str, str] = field(default_factory=dict)
    """Services whose export is missing (their task's status), said in manifest and summary."""


@dataclass(frozen=True)
class PackageFile:
    """A ZIP file's bytes with its name, size and SHA-256."""

    filename: str
    data: bytes

    @property
    def size(self) -> int:
        """Bytes."""
        return len(self.data)

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes, hex."""
        return hashlib.sha256(self.data).hexdigest()


def records_in(value: Any) -> int:
    """How many records a category holds: its entries, or one for a single document."""
    if isinstance(value, list):
        return len(value)
    return 0 if value is None or value == {} else 1


def is_table(value: Any) -> bool:
    """Whether a category is a non-empty list of records (objects), so it fits a CSV."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def csv_text(records: list[dict[str, Any]]) -> str:
    """A CSV of flat records: one column per field (in order of first appearance)."""
    columns: list[str] = []
    for record in records:
        columns.extend(name for name in record if name not in columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(name)) for name in columns])
    return out.getvalue()


def _pretty(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def data_files(exports: dict[str, dict[str, Any]]) -> dict[str, bytes]:
    """Every service's categories as JSON files, and as CSV files where they are tables."""
    files: dict[str, bytes] = {}
    for service, export in sorted(exports.items()):
        for category, value in sorted(export.items()):
            files[f"{service}/{category}.json"] = _pretty(value)
            if is_table(value):
                files[f"{service}/{category}.csv"] = csv_text(value).encode()
    return files


def manifest(
    facts: RequestFacts, exports: dict[str, dict[str, Any]], files: dict[str, bytes]
) -> dict[str, Any]:
    """The package's table of contents: request, services, categories, counts, checksums."""
    return {
        "format": FORMAT,
        "request": {
            "id": facts.request_id,
            "type": facts.type,
            "created_at": facts.created_at.astimezone(UTC).isoformat(),
            "completed_at": facts.completed_at.astimezone(UTC).isoformat(),
        },
        "services": [
            {
                "service": service,
                "categories": [
                    {"category": category, "records": records_in(value)}
                    for category, value in sorted(export.items())
                ],
            }
            for service, export in sorted(exports.items())
        ],
        "not_included": [
            {"service": service, "task_status": status}
            for service, status in sorted(facts.not_included.items())
        ],
        "files": [
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in sorted(files.items())
        ],
    }


KIND_OF_REQUEST = {
    "access": "a copy of the personal data held about you (right of access)",
    "portability": "your personal data in machine-readable formats (right to data portability)",
}


def summary(facts: RequestFacts, exports: dict[str, dict[str, Any]]) -> str:
    """A short readable account of the package."""
    lines = [
        "Personal data export",
        "====================",
        "",
        f"This package answers data-subject request {facts.request_id}:",
        KIND_OF_REQUEST.get(facts.type, facts.type) + ".",
        f"Request received {facts.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC,"
        f" completed {facts.completed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "What each service holds (records per category):",
    ]
    for service, export in sorted(exports.items()):
        lines.append(f"- {service}:" + ("" if export else " nothing held"))
        lines.extend(
            f"    {category}: {records_in(value)}" for category, value in sorted(export.items())
        )
    if facts.not_included:
        lines += ["", "Not included (the service could not complete its part of the request):"]
        lines += [f"- {s}: {status}" for s, status in sorted(facts.not_included.items())]
    lines += [
        "",
        "Files:",
        f"- {MANIFEST}: this request, every service and category with its record count, and"
        " every file with its size and SHA-256 checksum.",
        "- <service>/<category>.json: every record of that category, as JSON.",
        "- <service>/<category>.csv: the same records as a table, one row per record (values"
        " that are themselves lists or objects appear as JSON text).",
        f"- {SUMMARY}: this summary.",
        "",
        "The download link expires; the package is deleted 7 days after the request closed.",
    ]
    return "\n".join(lines) + "\n"


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    at = max(moment.astimezone(UTC), EARLIEST_ZIP_TIME)
    return (at.year, at.month, at.day, at.hour, at.minute, at.second)


def build_zip(facts: RequestFacts, exports: dict[str, dict[str, Any]]) -> PackageFile:
    """The package's ZIP file (deterministic for the same request and exports)."""
    files = {SUMMARY: summary(facts, exports).encode(), **data_files(exports)}
    entries = {MANIFEST: _pretty(manifest(facts, exports, files)), **files}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            info = zipfile.ZipInfo(path, date_time=_zip_time(facts.completed_at))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return PackageFile(filename=f"{facts.request_id}-export.zip", data=out.getvalue())
