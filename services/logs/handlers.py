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

    async def api_request_logged(self, event: ApiRequestLogged, context: MessageContext) -> None:
        """Keep the request record, keyed by the event's message id so a redelivery is a no-op
        (not by the request id: a client may send the same one twice)."""
        record = event.model_dump(exclude_none=True)
        with contextlib.suppress(DuplicateKeyError):
            await self.db[store.API_REQUESTS].insert_one({"_id": context.message_id, **record})
