"""Who is calling: API keys verified by accounts, cached briefly, dropped when revoked.

The cache is keyed by a SHA-256 of the presented key (never the key itself) and keeps a
principal for a short TTL. `accounts.api_key_revoked.v1` reaches every replica as a
broadcast: a revoked key is dropped at once, a rotated one when its overlap window ends. A
revocation also refuses a verification that was already on its way when it arrived.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.accounts import Principal, VerifyApiKey
from contracts.apikeys import ApiKeyRevoked
from contracts.identity import PartnerClosed
from servicekit.bus import Bus
from servicekit.clock import Clock, utcnow
from servicekit.errors import RemoteCallError
from servicekit.messages import MessageContext

REMEMBER_REVOCATIONS = timedelta(minutes=5)
"""How long after taking effect a revocation is remembered: far longer than any verification
can be in flight, after which accounts' own answer is enough."""


def _digest(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    until: datetime


class PrincipalCache:
    """Verified principals for `ttl` at most, never past their key's revocation."""

    def __init__(self, ttl: timedelta, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._revoked: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, presented: str, now: datetime) -> Principal | None:
        """The cached principal of a key, if still good at `now`."""
        digest = _digest(presented)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if now >= entry.until:
            del self._entries[digest]
            return None
        return entry.principal

    def put(self, presented: str, principal: Principal, now: datetime) -> bool:
        """Remember a principal just verified; False if its key is known to be revoked."""
        revoked_at = self._revoked.get(principal.key_id)
        if revoked_at is not None and revoked_at <= now:
            return False
        if self.ttl <= timedelta(0):
            return True
        until = now + self.ttl if revoked_at is None else min(now + self.ttl, revoked_at)
        self._make_room(now)
        self._entries[_digest(presented)] = _Entry(principal, until)
        return True

    def revoke(self, key_id: str, effective_at: datetime, now: datetime) -> None:
        """The key stops working at `effective_at`: cut its entries' lifetime to that."""
        known = self._revoked.get(key_id)
        self._revoked[key_id] = effective_at if known is None else min(known, effective_at)
        for digest, entry in list(self._entries.items()):
            if entry.principal.key_id == key_id:
                if effective_at <= now:
                    del self._entries[digest]
                else:
                    self._entries[digest] = _Entry(entry.principal, min(entry.until, effective_at))
        self._forget_old_revocations(now)

    def forget_partner(self, partner_id: str) -> None:
        """Forget every principal of a partner (its account was closed)."""
        for digest, entry in list(self._entries.items()):
            if entry.principal.partner_id == partner_id:
                del self._entries[digest]

    def clear(self) -> None:
        """Forget every principal (revocations may have been missed); keep the revocations."""
        self._entries.clear()

    def _make_room(self, now: datetime) -> None:
        if len(self._entries) < self.max_entries:
            return
        for digest, entry in list(self._entries.items()):
            if now >= entry.until:
                del self._entries[digest]
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest entry

    def _forget_old_revocations(self, now: datetime) -> None:
        for key_id, effective_at in list(self._revoked.items()):
            if effective_at + REMEMBER_REVOCATIONS < now:
                del self._revoked[key_id]


class Verifier:
    """Turns a presented key into its principal: from the cache, else by asking accounts."""

    def __init__(
        self, bus: Bus, timeout: float, cache: PrincipalCache, clock: Clock = utcnow
    ) -> None:
        self.bus = bus
        self.timeout = timeout
        self.cache = cache
        self.clock = clock

    async def principal_of(self, presented: str) -> Principal:
        """The principal of a key; RemoteCallError `invalid_api_key` when it does not work."""
        cached = self.cache.get(presented, self.clock())
        if cached is not None:
            return cached
        principal = await self.bus.request(
            VerifyApiKey(api_key=presented), to="accounts", reply=Principal, timeout=self.timeout
        )
        if not self.cache.put(presented, principal, self.clock()):
            raise RemoteCallError("invalid_api_key", "the API key is not valid")
        return principal

    def revoked(self, key_id: str, effective_at: datetime) -> None:
        """A key stops working at `effective_at` (this replica revoked or rotated it)."""
        self.cache.revoke(key_id, effective_at, self.clock())

    async def on_revoked(self, event: ApiKeyRevoked, _context: MessageContext) -> None:
        """Broadcast handler: some replica revoked or rotated a key."""
        self.revoked(event.key_id, event.effective_at)

    async def on_partner_closed(self, event: PartnerClosed, _context: MessageContext) -> None:
        """Broadcast handler: a closed partner's keys stop working at once."""
        self.cache.forget_partner(event.partner_id)
