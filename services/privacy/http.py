"""The privacy service's ops routes: the record of processing."""

from __future__ import annotations

from aiohttp import web

from privacy import store
from privacy.store import Db

DB: web.AppKey[Db] = web.AppKey("privacy_db")


async def record_of_processing(request: web.Request) -> web.Response:
    """Every registered service's personal-data inventory (GDPR Art. 30 record)."""
    entries = await store.record_of_processing(request.app[DB])
    return web.json_response(
        {
            "services": [
                {
                    "service": entry["_id"],
                    "announced_at": entry["announcement"]["at"].isoformat(),
                    "categories": entry["announcement"]["categories"],
                }
                for entry in entries
            ]
        }
    )


def add_routes(app: web.Application, db: Db) -> None:
    """Mount the privacy service's ops routes."""
    app[DB] = db
    app.router.add_get("/record-of-processing", record_of_processing)
