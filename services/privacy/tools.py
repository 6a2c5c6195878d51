"""The privacy service's command-line tools: verify and export the audit trail, re-check receipts.

`python -m privacy verify-audit` prints the chain's report as JSON and exits 1 when a link is
broken; `export-audit [--out FILE]` writes the whole chain as JSON (to stdout by default);
`verify-receipts` checks every kept receipt again and exits 1 when one no longer holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from privacy import audit, receipts
from privacy.store import Db
from servicekit.cli import Tool


def _print(report: dict[str, object]) -> None:
    print(json.dumps(report, indent=2), file=sys.stdout, flush=True)


async def verify_audit(db: Db, _arguments: argparse.Namespace) -> int:
    """Verify the audit chain; 0 when intact, 1 with the first broken link."""
    report = await audit.verify_chain(db)
    _print(report.as_dict())
    return 0 if report.ok else 1


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="write the JSON to this file (default: stdout)")


async def export_audit(db: Db, arguments: argparse.Namespace) -> int:
    """Write the audit chain as JSON, with its verification report inside."""
    exported = await audit.export_chain(db)
    out: Path | None = arguments.out
    if out is None:
        print(exported, file=sys.stdout, flush=True)
    else:
        await asyncio.to_thread(out.write_text, exported + "\n", encoding="utf-8")
    return 0


async def verify_receipts(db: Db, _arguments: argparse.Namespace) -> int:
    """Check every kept receipt again; 0 when all accepted ones hold, 1 otherwise."""
    report = await receipts.verify_receipts(db)
    _print(report.as_dict())
    return 0 if report.ok else 1


TOOLS = [
    Tool("verify-audit", "verify the audit trail's hash chain", verify_audit),
    Tool("export-audit", "export the audit trail as JSON", export_audit, _export_arguments),
    Tool("verify-receipts", "check every kept receipt's signature again", verify_receipts),
]
