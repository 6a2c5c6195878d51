"""Helpers of the logs privacy tests: the logs service as `create_service` builds it (with
keys; its first retention sweep an hour away), a stand-in privacy service that sends privacy
commands and collects results and sweep reports, and writers of log records in the shared
shape, sealed with a vault over the service's own keys (the shared key rule)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts import Event
from contracts.privacy import (
    CategoryOutcome,
    EraseSubject,
    ExportSubject,
    LocateSubject,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
)
from contracts.retention import RetentionSwept
from logs.app import create_service
from logs.order_facts import ORDER_FACTS
from logs.settings import LogsSettings
from logs.store import API_REQUESTS, TECHNICAL
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.restrictions import announce, broadcast_of
from support.waiting import eventually

Doc = dict[str, Any]
SubjectCommand = LocateSubject | ExportSubject | EraseSubject | RestrictSubject | RectifySubject
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""A fixed moment the retention tests date their records from."""


def logs_settings(base: ServiceSettings, **overrides: Any) -> LogsSettings:
    """Logs settings for a test namespace, with keys; the first sweep an hour after start."""
    values = {
        **base.model_dump(),
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        "retention_sweep_first_delay_seconds": 3600,
        **overrides,
    }
    return LogsSettings.model_validate(values)


def task() -> dict[str, str]:
    """The ids a privacy command carries: a new request, and the logs service's task of it."""
    request_id = new_id("dsr")
    return {"request_id": request_id, "task_id": f"{request_id}.logs"}


def by_category(result: PrivacyTaskCompleted) -> dict[str, CategoryOutcome]:
    """The result's outcomes by category (each category once)."""
    outcomes = {outcome.category: outcome for outcome in result.outcomes}
    assert len(outcomes) == len(result.outcomes), result.outcomes
    return outcomes


def stored_time(moment: datetime | None) -> datetime:
    """The moment (now if None) as the store keeps it: to the millisecond."""
    at = moment or utcnow()
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def sample_ip() -> str:
    """A documentation-range IPv4 address no other test uses (very likely)."""
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def sample_agent() -> str:
    """A user agent no other test uses."""
    return f"TestClient/{secrets.token_hex(4)}"


@dataclass
class LogsHarness:
    """The logs service and a stand-in privacy service; writers of sample records."""

    service: Service
    caller: Service
    vault: Vault
    results: dict[str, PrivacyTaskCompleted] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    @property
    def db(self) -> AsyncDatabase[Doc]:
        """The logs database, read raw as an auditor would."""
        return self.service.db

    async def run(self, command: SubjectCommand) -> PrivacyTaskCompleted:
        """Send a privacy command as the privacy service does; its (successful) result. A
        restrict command goes with its broadcast, kept first."""
        if isinstance(command, RestrictSubject):
            broadcast = broadcast_of(command, self.vault.blind_index)
            await announce(self.caller.bus, broadcast, self.db)
        await self.caller.bus.publish(command, to="logs")

        async def answered() -> PrivacyTaskCompleted | None:
            return self.results.get(command.task_id)

        result = await eventually(answered, what=f"the result of {command.TYPE}")
        assert result.succeeded, result.error
        return result

    def key_of(self, record: Doc) -> str:
        """Whose key seals a record's personal fields (the shared rule)."""
        for name in ("user_id", "partner_id"):
            if name in record:
                return str(record[name])
        if "ip" in record:
            return "ip_" + self.vault.index("ip", record["ip"])[:32]
        return "email_" + self.vault.index("email", record["email"])[:32]

    async def _sealed(self, record: Doc, personal: tuple[str, ...]) -> Doc:
        values = {name: record.pop(name) for name in personal if name in record}
        key = self.key_of(values | record)
        indexed = {name: name for name in ("ip", "email") if name in values}
        return record | await self.vault.seal(key, record["_id"], values, indexed=indexed)

    async def api_request(
        self,
        *,
        partner_id: str | None,
        ip: str,
        user_agent: str,
        at: datetime | None = None,
        status: int = 200,
    ) -> Doc:
        """An API request record as ingest stores it; the stored document."""
        received_at = stored_time(at)
        record: Doc = {
            "_id": new_id("msg"),
            "request_id": new_id("req"),
            "method": "GET",
            "route": "/v1/orders/{id}",
            "status": status,
            "duration_ms": 12.5,
            "received_at": received_at,
            "day": received_at.date().isoformat(),
            "ip": ip,
            "user_agent": user_agent,
        }
        if partner_id is not None:
            record |= {"partner_id": partner_id, "key_id": new_id("key")}
        document = await self._sealed(record, ("ip", "user_agent"))
        await self.db[API_REQUESTS].insert_one(document)
        return document

    async def technical(self, at: datetime | None = None, **personal: str) -> Doc:
        """A sign-in record of a service's technical log (partner_id, user_id, email, ip,
        user_agent as given); the stored document."""
        moment = stored_time(at)
        record: Doc = {
            "_id": f"{new_id('msg')}:000",
            "at": moment,
            "service": "accounts",
            "level": "info",
            "event": "dashboard_sign_in",
            "day": moment.date().isoformat(),
            "fields": {"outcome": "ok", "attempt": 1},
            **personal,
        }
        document = await self._sealed(record, ("email", "ip", "user_agent"))
        await self.db[TECHNICAL].insert_one(document)
        return document

    async def order_fact(self, partner_id: str, at: datetime | None = None) -> str:
        """A completed order's fact, as the order facts handler stores it; its id."""
        completed_at = stored_time(at)
        order_id = new_id("ord")
        await self.db[ORDER_FACTS].insert_one(
            {
                "_id": order_id,
                "partner_id": partner_id,
                "package_id": "pkg_europe_5gb_30d",
                "countries": ["DE", "FR"],
                "quantity": 1,
                "completed_at": completed_at,
                "day": completed_at.date().isoformat(),
            }
        )
        return order_id

    async def opens(self, document: Doc, name: str) -> str | None:
        """What a sealed field of a (copied) document opens to now; None once shredded."""
        return (await self.vault.open(str(document["_id"]), document, [name]))[name]

    async def ids(self, collection: str) -> set[str]:
        """The ids of every document of a collection."""
        return {str(d["_id"]) async for d in self.db[collection].find({}, {"_id": 1})}

    async def mentions(self, *values: str) -> list[str]:
        """Where any of `values` appears in any logs document, as `collection:id`."""
        hits = []
        for name in sorted(await self.db.list_collection_names()):
            async for document in self.db[name].find({}):
                text = repr(document).lower()
                if any(value.lower() in text for value in values):
                    hits.append(f"{name}:{document['_id']}")
        return hits


def build_harness(base: ServiceSettings, **overrides: Any) -> LogsHarness:
    """The harness over a namespace, not yet running; its vault uses the service's keys."""
    settings = logs_settings(base, **overrides)
    service = create_service(settings)
    caller = Service.create("privacy", base, stateless=True)
    encryption = settings.encryption()
    assert encryption is not None
    harness = LogsHarness(
        service=service, caller=caller, vault=Vault.from_settings(service.db, encryption)
    )

    async def on_result(result: PrivacyTaskCompleted, _context: MessageContext) -> None:
        harness.results[result.task_id] = result

    async def on_event(event: Any, _context: MessageContext) -> None:
        harness.events.append(event)

    caller.router.on(PrivacyTaskCompleted, on_result)
    caller.router.on(RetentionSwept, on_event)
    return harness
