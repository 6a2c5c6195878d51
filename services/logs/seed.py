"""A demo sign-in record, so the demo contact has technical logs to find and erase."""

from __future__ import annotations

from contracts.logs import TechnicalRecord
from logs import store
from logs.handlers import LogWriter, technical_document
from logs.store import Db
from servicekit.cli import seed_once
from servicekit.clock import utcnow
from servicekit.vault import Vault

DEMO_RECORD_ID = "tlg_demo_signin"


async def seed_demo(db: Db, vault: Vault) -> None:
    """Create the demo sign-in record once (never again after it was erased), sealed as
    ingest seals every record."""
    await seed_once(db, "demo_sign_in", lambda: _create_demo_sign_in(db, vault))


async def _create_demo_sign_in(db: Db, vault: Vault) -> None:
    record = TechnicalRecord(
        at=utcnow(),
        service="accounts",
        level="info",
        event="dashboard_sign_in",
        partner_id="ptn_demo",
        email="demo.contact@example.com",
        ip="203.0.113.10",
        user_agent="Mozilla/5.0 (demo)",
    )
    await LogWriter(db, vault).write(store.TECHNICAL, [technical_document(record, DEMO_RECORD_ID)])
