"""Helpers of the API-key tests: partners, actors, a clock the tests move, and a harness that
asks accounts over the bus and hears the revocation events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pymongo.asynchronous.collection import AsyncCollection

from accounts import store
from accounts.settings import AccountsSettings
from contracts import Query, Reply
from contracts.accounts import Actor, Role, Scope
from contracts.apikeys import ApiKeyRevoked, CreateApiKey, NewApiKey
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.service import Service
from support.waiting import eventually

R = TypeVar("R", bound=Reply)

PARTNER_A = "ptn_keys_a"
PARTNER_B = "ptn_keys_b"
OWNER_A = Actor(kind="user", id="usr_owner_a", partner_id=PARTNER_A, role=Role.OWNER)
OWNER_B = Actor(kind="user", id="usr_owner_b", partner_id=PARTNER_B, role=Role.OWNER)
PEPPER = "test-pepper-for-api-keys-0123456789"
OVERLAP_HOURS = 24
RESOLUTION_SECONDS = 60


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


@dataclass
class KeysHarness:
    """The running keys service, its store, and a caller on the bus."""

    accounts: Service
    caller: Service
    clock: FakeClock
    revocations: list[ApiKeyRevoked] = field(default_factory=list)

    @property
    def keys(self) -> AsyncCollection[dict[str, Any]]:
        """The raw `api_keys` collection."""
        return self.accounts.db[store.API_KEYS]

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Send a query to accounts and return its reply (RemoteCallError on an error)."""
        return await self.caller.bus.request(query, to="accounts", reply=reply, timeout=10)

    async def create(
        self,
        actor: Actor = OWNER_A,
        *,
        scopes: list[Scope] | None = None,
        mode: str = "test",
        name: str = "a key",
    ) -> NewApiKey:
        """Create a key for the actor's partner."""
        assert actor.partner_id is not None
        query = CreateApiKey.model_validate(
            {
                "actor": actor,
                "partner_id": actor.partner_id,
                "name": name,
                "scopes": scopes or [Scope.ORDERS_READ, Scope.KEYS_MANAGE],
                "mode": mode,
            }
        )
        return await self.ask(query, NewApiKey)

    async def snapshot(self) -> list[dict[str, Any]]:
        """Every document of the keys and their request claims, to show nothing changed
        (taken once the outbox relay has published everything, so it no longer moves)."""
        await eventually(self._relayed, what="the keys' outbox relayed")
        found = []
        for name in (store.API_KEYS, "api_key_requests"):
            found += [doc async for doc in self.accounts.db[name].find({}).sort("_id", 1)]
        return found

    async def _relayed(self) -> bool:
        return await self.keys.count_documents({"_outbox_pending": 1}) == 0


def key_actor(new_key: NewApiKey, partner_id: str = PARTNER_A) -> Actor:
    """The actor a gateway builds for a request authenticated with `new_key`."""
    view = new_key.key
    return Actor(kind="api_key", id=view.id, partner_id=partner_id, scopes=view.scopes)


def accounts_settings(base: Any) -> AccountsSettings:
    """Accounts settings on a test namespace, with fresh secrets."""
    return AccountsSettings(
        **base.model_dump(),
        api_key_pepper=PEPPER,
        master_keys=LocalMasterKeys.generate(),
        blind_index_key=BlindIndex.generate_key(),
        key_rotation_overlap_hours=OVERLAP_HOURS,
        last_used_resolution_seconds=RESOLUTION_SECONDS,
    )
