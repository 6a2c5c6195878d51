"""Helpers of the log query tests: the logs service's queries running in a fresh namespace,
a caller on the bus, and stored records in the shared shape (personal fields sealed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from contracts.accounts import Actor, Role, Scope
from contracts.base import Query, Reply
from contracts.privacy import SubjectRef
from logs import store
from servicekit.bus import Bus
from servicekit.ids import new_id
from servicekit.vault import Vault
from support.restrictions import announce, restriction_changed

TIMEOUT = 10.0
MIN_GROUP_SIZE = 3
"""k of the logs service under test."""
R = TypeVar("R", bound=Reply)
PLATFORM = Actor(kind="platform", id="ops-dashboard")
OPS_USER = Actor(kind="user", id="usr_ops", role=Role.OPS)
SUPPORT_USER = Actor(kind="user", id="usr_support", role=Role.SUPPORT)
PRIVACY_OFFICER = Actor(kind="user", id="usr_dpo", role=Role.PRIVACY_OFFICER)
_sequence = itertools.count()


def usage_key(partner_id: str, scopes: list[Scope] | None = None) -> Actor:
    """A partner's API key (by default with `usage:read`)."""
    return Actor(
        kind="api_key",
        id=f"key_{partner_id}",
        partner_id=partner_id,
        scopes=[Scope.USAGE_READ] if scopes is None else scopes,
    )


def owner_of(partner_id: str) -> Actor:
    """A partner's owner (a dashboard user)."""
    return Actor(kind="user", id=f"usr_{partner_id}", partner_id=partner_id, role=Role.OWNER)


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Logs:
    """A caller of the logs service's queries, its database and a vault to seal records."""

    bus: Bus
    db: Any
    vault: Vault

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask the logs service over the bus."""
        return await self.bus.request(query, to="logs", reply=reply, timeout=TIMEOUT)

    async def add_request(
        self,
        partner_id: str | None,
        *,
        received_at: datetime,
        route: str = "/v1/ping",
        method: str = "GET",
        status: int = 200,
        duration_ms: float = 10.0,
        ip: str | None = None,
    ) -> str:
        """Store one API request record as ingest stores it; its id."""
        record_id = new_id("msg")
        document: dict[str, Any] = {
            "_id": record_id,
            "request_id": new_id("req"),
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "received_at": received_at,
            "day": received_at.date().isoformat(),
        }
        if partner_id is not None:
            document["partner_id"] = partner_id
        if ip is not None:
            subject = partner_id or f"ip_{self.vault.index('ip', ip)[:32]}"
            sealed = await self.vault.seal(
                subject, record_id, {"ip": ip, "user_agent": "curl/8.5"}, indexed={"ip": "ip"}
            )
            document |= sealed
        await self.db[store.API_REQUESTS].insert_one(document)
        return record_id

    async def add_technical(
        self, *, service: str, level: str = "info", at: datetime, **extra: Any
    ) -> str:
        """Store one technical record (with an IP and email sealed when given); its id."""
        record_id = f"{new_id('msg')}:{next(_sequence)}"
        personal = {name: extra.pop(name) for name in ("ip", "email") if name in extra}
        document: dict[str, Any] = {
            "_id": record_id,
            "at": at,
            "service": service,
            "level": level,
            "event": extra.pop("event", "something_happened"),
            "day": at.date().isoformat(),
            "fields": extra.pop("fields", {}),
            **extra,
        }
        if personal:
            subject = document.get("user_id") or document.get("partner_id") or "ip_test"
            document |= await self.vault.seal(
                subject, record_id, personal, indexed={"ip": "ip", "email": "email"}
            )
        await self.db[store.TECHNICAL].insert_one(document)
        return record_id

    async def restrict(
        self, subject: SubjectRef, flags: dict[str, bool], *, scope: str | None = None
    ) -> None:
        """Announce a restriction change of the subject, as the privacy service does, and
        wait until the logs' register keeps it."""
        event = restriction_changed(subject, self.vault.blind_index, flags, scope=scope)
        await announce(self.bus, event, self.db)
