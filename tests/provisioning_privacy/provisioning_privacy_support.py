"""Helpers of the provisioning privacy tests: provisioning as `create_service` builds it
(with keys, since the end users' fields are sealed; its delivery worker waits a minute before
it looks for work, so nothing the tests queue is sent), a stand-in privacy service that sends
privacy commands and collects results, and writers of sample records in the order flow's
shape (`purchase_store.purchase_document`, `esim_store.esim_document`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts import Event
from contracts.catalogue import Package
from contracts.money import Money
from contracts.orders import EndUser as OrderEndUser
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
from contracts.webhooks import EsimInstalledPayload, OrderCompletedPayload, WebhookEventType
from provisioning.app import create_service
from provisioning.callbacks import CALLBACKS
from provisioning.esim_store import esim_document
from provisioning.provider import AllocatedProfile
from provisioning.purchase_store import Kind, purchase_document, seal_end_user
from provisioning.seed import demo_catalogue
from provisioning.settings import ProvisioningSettings
from provisioning.store import ESIMS, ORDERS
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
from support.restrictions import announce, broadcast_of
from support.waiting import eventually

Doc = dict[str, Any]
SubjectCommand = LocateSubject | ExportSubject | EraseSubject | RestrictSubject | RectifySubject


PACKAGE: Package = next(p for p in demo_catalogue() if p.id == "pkg_europe_5gb_30d")
SMDP = "smdp.providersim.test"


def provisioning_settings(base: ServiceSettings, **overrides: Any) -> ProvisioningSettings:
    """Provisioning settings for a test namespace, with keys; no sweep unless asked; the
    delivery worker first looks for due deliveries after a minute."""
    values = {
        **base.model_dump(),
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        "retention_sweep_first_delay_seconds": 3600,
        "webhook_poll_seconds": 60,
        "webhook_retry_delays_ms": [3_600_000],
        **overrides,
    }
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
    matching_id: str

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
            matching_id=secrets.token_hex(12).upper(),
        )

    @property
    def activation_code(self) -> str:
        """The LPA string of the user's eSIM (a credential)."""
        return f"LPA:1${SMDP}${self.matching_id}"


@dataclass
class Harness:
    """Provisioning and a stand-in privacy service; writers of sample records."""

    service: Service
    caller: Service
    webhooks: Webhooks
    vault: Vault
    results: dict[str, PrivacyTaskCompleted] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    @property
    def db(self) -> AsyncDatabase[Doc]:
        """The provisioning database, read raw as an auditor would."""
        return self.service.db

    async def run(self, command: SubjectCommand, *, succeed: bool = True) -> PrivacyTaskCompleted:
        """Send a privacy command as the privacy service does; its result (succeeded, unless
        `succeed` is False). A restrict command goes with its broadcast, kept first."""
        if isinstance(command, RestrictSubject):
            broadcast = broadcast_of(command, self.vault.blind_index)
            await announce(self.caller.bus, broadcast, self.db)
        await self.caller.bus.publish(command, to="provisioning")

        async def answered() -> PrivacyTaskCompleted | None:
            return self.results.get(command.task_id)

        result = await eventually(answered, what=f"the result of {command.TYPE}")
        assert result is not None
        assert result.succeeded is succeed, result.error
        return result

    async def erase(self, subject: SubjectRef) -> PrivacyTaskCompleted:
        """Erase the subject through the privacy fan-out."""
        return await self.run(EraseSubject(**task(), subject=subject))

    async def order(self, user: EndUser, at: datetime | None = None) -> None:
        """The end user's completed order of one eSIM and the eSIM, as the order flow stores
        them: email and reference sealed with the order's key, matching id with the partner's."""
        now = at or utcnow()
        given = OrderEndUser(email=user.email, reference=user.reference)
        sealed = await seal_end_user(self.vault, user.order_id, given)
        order = self._purchase(user, user.order_id, Kind.ORDER, sealed, now)
        profile = AllocatedProfile(
            iccid=user.iccid,
            package_code=PACKAGE.id,
            smdp_address=SMDP,
            matching_id=user.matching_id,
        )
        esim = await esim_document(
            self.vault,
            profile=profile,
            position=0,
            partner_id=user.partner_id,
            order_id=user.order_id,
            package=PACKAGE,
            now=now,
        )
        await self.db[ORDERS].insert_one(with_outbox(order))
        await self.db[ESIMS].insert_one(esim)

    async def topup(self, user: EndUser, at: datetime | None = None) -> str:
        """A completed top-up of the end user's eSIM; its id."""
        topup_id = new_id("top")
        document = self._purchase(user, topup_id, Kind.TOPUP, {}, at or utcnow())
        await self.db[ORDERS].insert_one(with_outbox(document))
        return topup_id

    @staticmethod
    def _purchase(user: EndUser, purchase_id: str, kind: Kind, end_user: Doc, now: datetime) -> Doc:
        document = purchase_document(
            purchase_id=purchase_id,
            kind=kind,
            partner_id=user.partner_id,
            key=new_id("idem"),
            terms={"package_id": PACKAGE.id, "quantity": 1, "kind": kind.value},
            unit_price=PACKAGE.price,
            quantity=1,
            iccids=[user.iccid],
            end_user=end_user,
            now=now,
        )
        return document | {"state": "completed"}

    async def sealed_email(self, user: EndUser) -> str:
        """The email token stored on the user's order (to check it after a shred)."""
        order = await self.db[ORDERS].find_one({"_id": user.order_id})
        assert order is not None
        return str(order["end_user"]["email"])

    async def opens(self, record_id: str, field: str, token: str) -> str | None:
        """What a sealed token opens to now; None once its subject's key is shredded."""
        return (await self.vault.open(record_id, {field: token}, [field]))[field]

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
        """An enabled endpoint of the partner for `order.completed` and `esim.installed`."""
        endpoint_id = new_id("wep")
        document = endpoint_document(
            endpoint_id=endpoint_id,
            partner_id=partner_id,
            url=f"https://hooks.example.com/{endpoint_id}",
            event_types=[WebhookEventType.ORDER_COMPLETED, WebhookEventType.ESIM_INSTALLED],
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
            package_id="pkg_eu_5gb",
            quantity=1,
            iccids=[user.iccid],
            total=Money(amount=1_200, currency="EUR"),
            completed_at=utcnow(),
        )
        return await self.webhooks.enqueue(
            user.partner_id, WebhookEventType.ORDER_COMPLETED, payload, new_id("src")
        )

    async def installed(self, user: EndUser) -> list[str]:
        """Queue `esim.installed` for the user's eSIM (a payload with its ICCID); delivery ids."""
        payload = EsimInstalledPayload(iccid=user.iccid, installed_at=utcnow())
        return await self.webhooks.enqueue(
            user.partner_id, WebhookEventType.ESIM_INSTALLED, payload, new_id("src")
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
    """The harness over a namespace, not yet running (its own vault uses the service's keys,
    or keys of its own when the overrides leave the service without)."""
    settings = provisioning_settings(base, **overrides)
    service = create_service(settings)
    caller = Service.create("privacy", base, stateless=True)
    keys = settings.encryption() or EncryptionSettings(
        master_keys=LocalMasterKeys.generate(), blind_index_key=BlindIndex.generate_key()
    )
    vault = Vault.from_settings(service.db, keys)
    hooks = Webhooks(service, settings, vault, utcnow)
    harness = Harness(service=service, caller=caller, webhooks=hooks, vault=vault)

    async def on_result(result: PrivacyTaskCompleted, _context: MessageContext) -> None:
        harness.results[result.task_id] = result

    async def on_event(event: Any, _context: MessageContext) -> None:
        harness.events.append(event)

    caller.router.on(PrivacyTaskCompleted, on_result)
    caller.router.on(RetentionSwept, on_event)
    return harness


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""A fixed moment the retention tests date their records from."""
