"""The accounts service's handlers."""

from __future__ import annotations

import hmac

from accounts import apikeys, store
from accounts.store import Db
from contracts.accounts import Principal, Scope, VerifyApiKey
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext

INVALID_KEY = ServiceError("invalid_api_key", "the API key is not valid")


class AccountsHandlers:
    """Plain handlers over the accounts store."""

    def __init__(self, *, db: Db, pepper: str) -> None:
        self.db = db
        self.pepper = pepper

    async def verify_api_key(self, query: VerifyApiKey, _context: MessageContext) -> Principal:
        """The principal of a valid, unrevoked key; the same error for every other case."""
        parsed = apikeys.parse(query.api_key.get_secret_value())
        if parsed is None:
            raise INVALID_KEY
        record = await self.db[store.API_KEYS].find_one({"_id": parsed.key_id})
        if record is None or "revocation" in record:
            raise INVALID_KEY
        digest = apikeys.secret_digest(parsed.secret, self.pepper)
        if not hmac.compare_digest(digest, record["secret_hmac"]) or record["mode"] != parsed.mode:
            raise INVALID_KEY
        return Principal(
            partner_id=record["partner_id"],
            key_id=record["_id"],
            scopes=[Scope(scope) for scope in record["scopes"]],
            mode=parsed.mode,
        )
