"""The logs service's handlers."""

from __future__ import annotations

import contextlib

from pymongo.errors import DuplicateKeyError

from contracts.gateway import ApiRequestLogged
from logs import store
from logs.store import Db
from servicekit.messages import MessageContext


class LogsHandlers:
    """Plain handlers over the logs store."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def api_request_logged(self, event: ApiRequestLogged, _context: MessageContext) -> None:
        """Keep the request record; its request id makes a redelivery a no-op."""
        record = event.model_dump(exclude={"request_id"}, exclude_none=True)
        with contextlib.suppress(DuplicateKeyError):
            await self.db[store.API_REQUESTS].insert_one({"_id": event.request_id, **record})
