"""The export package's content: manifest with checksums, JSON and CSV per category, summary."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import replace
from datetime import UTC, datetime

from exports_support import notes_of, zip_entries

from privacy.export_package import RequestFacts, build_zip

FACTS = RequestFacts(
    request_id="dsr_01pkg",
    type="portability",
    created_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    completed_at=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
)
EXPORTS = {
    "alpha": {
        "notes": notes_of("ada@example.com", 3),
        "profile": {"email": "ada@example.com", "plan": "gold"},
        "sessions": [],
    },
    "beta": {"orders": [{"id": "ord_1", "total": {"amount": 1500, "currency": "EUR"}}]},
}


def _entries() -> dict[str, bytes]:
    return zip_entries(build_zip(FACTS, EXPORTS).data)


def test_the_manifest_lists_every_file_with_its_true_checksum_and_size() -> None:
    """Every file but the manifest itself is listed with the SHA-256 and size it has."""
    entries = _entries()
    manifest = json.loads(entries["manifest.json"])
    listed = {item["path"]: item for item in manifest["files"]}
    assert set(listed) == set(entries) - {"manifest.json"}
    for path, item in listed.items():
        assert item["sha256"] == hashlib.sha256(entries[path]).hexdigest(), path
        assert item["size"] == len(entries[path]), path


def test_the_manifest_names_the_request_services_categories_and_record_counts() -> None:
    """The request's id, type and times, and per service each category with its count."""
    manifest = json.loads(_entries()["manifest.json"])
    assert manifest["request"] == {
        "id": "dsr_01pkg",
        "type": "portability",
        "created_at": "2026-11-02T09:30:00+00:00",
        "completed_at": "2026-11-03T10:00:00+00:00",
    }
    counts = {
        (service["service"], category["category"]): category["records"]
        for service in manifest["services"]
        for category in service["categories"]
    }
    assert counts == {
        ("alpha", "notes"): 3,
        ("alpha", "profile"): 1,
        ("alpha", "sessions"): 0,
        ("beta", "orders"): 1,
    }


def test_every_category_has_json_and_tables_also_csv() -> None:
    """One JSON per service and category holding its data; a CSV only for lists of records."""
    entries = _entries()
    for service, export in EXPORTS.items():
        for category, value in export.items():
            assert json.loads(entries[f"{service}/{category}.json"]) == value
    assert {name for name in entries if name.endswith(".csv")} == {
        "alpha/notes.csv",
        "beta/orders.csv",
    }


def test_csv_has_one_column_per_field_and_nested_values_as_json_text() -> None:
    """The header is the records' fields; a row per record; lists and objects as JSON."""
    rows = list(csv.reader(io.StringIO(_entries()["alpha/notes.csv"].decode())))
    assert rows[0] == ["id", "email", "text", "tags", "meta"]
    assert len(rows) == 4
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["text"] == "Réunion n°0: « export » test, line 0"
    assert json.loads(first["tags"]) == ["travel", "t0"]
    assert json.loads(first["meta"]) == {"rank": 0, "source": "api"}
    [header, order] = list(csv.reader(io.StringIO(_entries()["beta/orders.csv"].decode())))
    assert header == ["id", "total"]
    assert json.loads(order[1]) == {"amount": 1500, "currency": "EUR"}


def test_the_summary_says_what_the_package_is_and_counts_each_category() -> None:
    """SUMMARY.txt names the request and right, each service's categories and counts, and
    what the files are."""
    summary = _entries()["SUMMARY.txt"].decode()
    assert "dsr_01pkg" in summary
    assert "portability" in summary
    assert "- alpha:" in summary
    assert "    notes: 3" in summary
    assert "    orders: 1" in summary
    assert "manifest.json" in summary
    assert ".csv" in summary


def test_the_same_request_always_gives_the_same_bytes() -> None:
    """The ZIP is deterministic, so a rebuilt package equals the first (idempotent stores)."""
    first = build_zip(FACTS, EXPORTS)
    assert build_zip(FACTS, EXPORTS).data == first.data
    assert first.filename == "dsr_01pkg-export.zip"
    assert first.sha256 == hashlib.sha256(first.data).hexdigest()


def test_a_service_that_could_not_export_is_named_as_not_included() -> None:
    """A request closed with an exception says which service's data is missing, and why."""
    facts = replace(FACTS, not_included={"gamma": "failed"})
    entries = zip_entries(build_zip(facts, EXPORTS).data)
    manifest = json.loads(entries["manifest.json"])
    assert manifest["not_included"] == [{"service": "gamma", "task_status": "failed"}]
    assert "- gamma: failed" in entries["SUMMARY.txt"].decode()
    assert json.loads(_entries()["manifest.json"])["not_included"] == []
