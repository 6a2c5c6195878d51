"""`python -m privacy verify-audit | export-audit | verify-receipts` on the service's database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from privacy import audit
from privacy.audit import AuditKind
from support.names import unique_namespace
from support.privacy_owners import Db
from support.processes import REPO

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CLI_TIMEOUT_S = 60.0


@dataclass
class Namespace:
    """A namespace whose privacy database holds a short audit trail."""

    name: str
    mongo_url: str
    db: Db


@pytest.fixture
async def namespace(mongo_url: str) -> AsyncIterator[Namespace]:
    """A namespace with three audit entries in its privacy database."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url, tz_aware=True)
    name = unique_namespace()
    db: Db = client[f"{name}_privacy"]  # type: ignore[assignment]
    await audit.create_indexes(db)
    for n in range(3):
        await audit.append(db, AuditKind.REQUEST_CREATED, key=f"created:{n}", now=T0)
    try:
        yield Namespace(name, mongo_url, db)
    finally:
        await client.drop_database(db.name)
        await client.close()


async def _cli(namespace: Namespace, *arguments: str) -> tuple[int, str]:
    """Run `python -m privacy <arguments>` against the namespace; exit code and stdout."""
    env = {
        **os.environ,
        "MONGO_URL": namespace.mongo_url,
        "BUS_NAMESPACE": namespace.name,
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "privacy",
        *arguments,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_S)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_verify_audit_exits_zero_on_an_intact_chain(namespace: Namespace) -> None:
    """An intact chain: exit 0 and a JSON report with ok, the entry count and the head hash."""
    code, out = await _cli(namespace, "verify-audit")
    report = json.loads(out)
    assert code == 0
    assert (report["ok"], report["entries"]) == (True, 3)
    assert "broken_at" not in report


async def test_verify_audit_exits_one_and_names_the_broken_link(namespace: Namespace) -> None:
    """An edited entry: exit 1 and the report names its seq and why."""
    await namespace.db[audit.AUDIT].update_one({"_id": 2}, {"$set": {"kind": "task_sent"}})
    code, out = await _cli(namespace, "verify-audit")
    report = json.loads(out)
    assert code == 1
    assert (report["ok"], report["broken_at"]) == (False, 2)
    assert report["reason"] == "the entry's contents do not match its hash"


async def test_export_audit_writes_the_chain_to_a_file(
    namespace: Namespace, tmp_path: Path
) -> None:
    """`export-audit --out FILE` writes every entry and the report; the file re-verifies."""
    target = tmp_path / "audit.json"
    code, out = await _cli(namespace, "export-audit", "--out", str(target))
    assert code == 0
    assert out == ""
    exported = json.loads(target.read_text())
    assert [entry["seq"] for entry in exported["entries"]] == [1, 2, 3]
    assert exported["verification"]["ok"] is True
    assert audit.check_links(exported["entries"]).ok


async def test_export_audit_prints_to_stdout_by_default(namespace: Namespace) -> None:
    """Without --out the JSON goes to stdout."""
    code, out = await _cli(namespace, "export-audit")
    assert code == 0
    assert json.loads(out)["format"] == audit.EXPORT_FORMAT


async def test_verify_receipts_reports_no_problem_when_none_are_kept(
    namespace: Namespace,
) -> None:
    """With no receipts kept, verify-receipts exits 0 having checked none."""
    code, out = await _cli(namespace, "verify-receipts")
    assert code == 0
    assert json.loads(out) == {"ok": True, "checked": 0, "refused": 0, "problems": []}
