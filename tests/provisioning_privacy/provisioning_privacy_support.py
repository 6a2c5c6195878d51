"""Helpers of the provisioning privacy tests: provisioning as `create_service` builds it
(without webhook keys, so no delivery worker sends what the tests queue), a stand-in privacy
service that sends privacy commands and collects results, and writers of sample records."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts import Event
from contracts.money import Money
from contracts.privacy import (
    CategoryOutcome,
    EraseSubject,
    ExportSubject,
    LocateSubject,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from contracts.retention import RetentionSwept
from contracts.webhooks import OrderCompletedPayload, WebhookEventType
from provisioning.app import create_service
from provisioning.callbacks import CALLBACKS
from provisioning.settings import ProvisioningSettings
from provisioning.store import ORDERS
from provisioning.webhook_store import ATTEMPTS, ENDPOINTS, endpoint_document
from provisioning.webhooks import Webhooks
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.keyring import EncryptionSettings
from servicekit.messages import MessageContext
from servicekit.outbox import with_outbox
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.waiting import eventually

Doc = dict[str, Any]
SubjectCommand = LocateSubject | ExportSubject | EraseSubject | RestrictSubject | RectifySubject


def provisioning_settings(base: ServiceSettings, **overrides: Any) -> ProvisioningSettings:
    """Provisioning settings for a test namespace; no sweep unless asked."""
    values = {**base.model_dump(), "retention_sweep_first_delay_seconds": 3600, **overrides}
    return ProvisioningSettings.model_validate(values)


def task() -> dict[str, str]:
    """The ids a privacy command carries: a new request, and provisioning's task of it."""
    request_id = new_id("dsr")
    return {"request_id": request_id, "task_id": f"{request_id}.provisioning"}


def new_iccid() -> str:
    """A random, valid-looking ICCID (89 + 18 digits)."""
    return "89" + "".join(secrets.choice("0123456789") for _ in range(18))


def by_category(result: PrivacyTaskCompleted) -> dict[str, CategoryOutcome]:
    """The result's outcomes by category (each category once)."""
    outcomes = {outcome.category: outcome for outcome in result.outcomes}
    assert len(outcomes) == len(result.outcomes), result.outcomes
    return outcomes


@dataclass(frozen=True)
class EndUser:
    """An end user with an order for one eSIM, values no other test uses."""

    partner_id: str
    email: str
    reference: str
    iccid: str
    order_id: str

    @classmethod
    def sample(cls, partner_id: str) -> EndUser:
        """A new end user of the partner."""
        tag = secrets.token_hex(4)
        return cls(
            partner_id=partner_id,
            email=f"enduser.{tag}@traveller.example.net",
            reference=f"cust-{tag}",
            iccid=new_iccid(),
            order_id=new_id("ord"),
        )


@dataclass
class Harness:
    """Provisioning and a stand-in privacy service; writers of sample records."""

    service: Service
    caller: Service
    webhooks: Webhooks
    results: dict[str, PrivacyTaskCompleted] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    @property
    def db(self) -> AsyncDatabase[Doc]:
        """The provisioning database, read raw as an auditor would."""
        return self.service.db

    async def run(self, command: SubjectCommand) -> PrivacyTaskCompleted:
        """Send a privacy command as the privacy service does; its result."""
        await self.caller.bus.publish(command, to="provisioning")

        async def answered() -> PrivacyTaskCompleted | None:
            return self.results.get(command.task_id)

        result = await eventually(answered, what=f"the result of {command.TYPE}")
        assert result is not None
        assert result.succeeded, result.error
        return result

    async def erase(self, subject: SubjectRef) -> PrivacyTaskCompleted:
        """Erase the subject through the privacy fan-out."""
        return await self.run(EraseSubject(**task(), subject=subject))

    async def order(self, user: EndUser, at: datetime | None = None) -> None:
        """An order of the end user's eSIM, as the order flow will store it."""
        document = {
            "_id": user.order_id,
            "partner_id": user.partner_id,
            "iccid": user.iccid,
            "package_id": "pkg_eu_5gb",
            "end_user": {"email": user.email, "reference": user.reference},
            "created_at": at or utcnow(),
        }
        await self.db[ORDERS].insert_one(document)

    async def callback(self, iccid: str, received_at: datetime | None = None) -> str:
        """A recorded usage callback of the provider for the ICCID; its id."""
        at = received_at or utcnow()
        document = {
            "_id": new_id("whk"),
            "type": "usage.updated",
            "iccid": iccid,
            "occurred_at": at,
            "received_at": at,
            "data": {"data_used_bytes": 1_000, "data_remaining_bytes": 9_000},
        }
        await self.db[CALLBACKS].insert_one(with_outbox(document))
        return str(document["_id"])

    async def endpoint(self, partner_id: str) -> str:
        """An enabled endpoint of the partner for `order.completed`; its id."""
        endpoint_id = new_id("wep")
        document = endpoint_document(
            endpoint_id=endpoint_id,
            partner_id=partner_id,
            url=f"https://hooks.example.com/{endpoint_id}",
            event_types=[WebhookEventType.ORDER_COMPLETED],
            mode="test",
            enabled=True,
            sealed_secret="sealed-secret-stand-in",
            request_id=new_id("req"),
            now=utcnow(),
        )
        await self.db[ENDPOINTS].insert_one(document)
        return endpoint_id

    async def completed(self, user: EndUser) -> list[str]:
        """Queue `order.completed` for the user's order as the order flow will; delivery ids."""
        payload = OrderCompletedPayload(
            order_id=user.order_id,
            iccid=user.iccid,
            package_id="pkg_eu_5gb",
            price=Money(amount=1_200, currency="EUR"),
            completed_at=utcnow(),
        )
        return await self.webhooks.enqueue(
            user.partner_id, WebhookEventType.ORDER_COMPLETED, payload, new_id("src")
        )

    async def attempt(self, delivery_id: str, partner_id: str, at: datetime | None = None) -> str:
        """A recorded (failed) attempt of the delivery; its id."""
        attempt_id = new_id("wha")
        document = {
            "_id": attempt_id,
            "delivery_id": delivery_id,
            "partner_id": partner_id,
            "number": 1,
            "at": at or utcnow(),
            "code": 500,
            "error": "http_500",
        }
        await self.db[ATTEMPTS].insert_one(document)
        return attempt_id

    async def ids(self, collection: str, criteria: Doc | None = None) -> set[str]:
        """The ids of the matching documents of a collection."""
        return {str(d["_id"]) async for d in self.db[collection].find(criteria or {}, {"_id": 1})}

    async def mentions(self, value: str) -> list[str]:
        """Where `value` appears in any document of provisioning, as `collection:id`."""
        hits = []
        for name in sorted(await self.db.list_collection_names()):
            async for document in self.db[name].find({}):
                if value.lower() in repr(document).lower():
                    hits.append(f"{name}:{document['_id']}")
        return hits


def build_harness(base: ServiceSettings, **overrides: Any) -> Harness:
    """The harness over a namespace, not yet running."""
    settings = provisioning_settings(base, **overrides)
    service = create_service(settings)
    caller = Service.create("privacy", base, stateless=True)
    keys = EncryptionSettings(
        master_keys=LocalMasterKeys.generate(), blind_index_key=BlindIndex.generate_key()
    )
    hooks = Webhooks(service, settings, Vault.from_settings(service.db, keys), utcnow)
    harness = Harness(service=service, caller=caller, webhooks=hooks)

    async def on_result(result: PrivacyTaskCompleted, _context: MessageContext) -> None:
        harness.results[result.task_id] = result

    async def on_event(event: Any, _context: MessageContext) -> None:
        harness.events.append(event)

    caller.router.on(PrivacyTaskCompleted, on_result)
    caller.router.on(RetentionSwept, on_event)
    return harness


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""A fixed moment the retention tests date their records from."""
