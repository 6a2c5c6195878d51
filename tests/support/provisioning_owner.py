"""The provisioning service as a data owner under test (with a stand-in privacy service; its
delivery worker waits a minute before it looks for work), and writers of sample records in
the order flow's shape (`purchase_store.purchase_document`, `esim_store.esim_document`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.catalogue import Package
from contracts.money import Money
from contracts.orders import EndUser as OrderEndUser
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
from servicekit.outbox import with_outbox
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.privacy_standin import Doc, OwnerUnderTest, stand_in

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


def new_iccid() -> str:
    """A random, valid-looking ICCID (89 + 18 digits)."""
    return "89" + "".join(secrets.choice("0123456789") for _ in range(18))


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
class ProvisioningOwner(OwnerUnderTest):
    """Provisioning and the stand-in privacy service; writers of sample records, and the
    service's webhooks (to queue events as the order flow does)."""

    webhooks: Webhooks = field(kw_only=True)

    @classmethod
    def build(cls, base: ServiceSettings, **overrides: Any) -> ProvisioningOwner:
        """Provisioning over a namespace, not yet running (its vault uses the service's keys,
        or keys of its own when the overrides leave the service without)."""
        settings = provisioning_settings(base, **overrides)
        service = create_service(settings)
        keys = settings.encryption() or EncryptionSettings(
            master_keys=LocalMasterKeys.generate(), blind_index_key=BlindIndex.generate_key()
        )
        vault = Vault.from_settings(service.db, keys)
        webhooks = Webhooks(service, settings, vault, utcnow)
        return cls(service=service, caller=stand_in(base), vault=vault, webhooks=webhooks)

    async def order(self, user: EndUser, at: datetime | None = None) -> None:
        """The end user's completed order of one eSIM and the eSIM, as the order flow stores
        them: email and reference sealed with the order's key, matching id with the partner's."""
        now = at or utcnow()
        given = OrderEndUser(email=user.email, reference=user.reference)
        sealed = await seal_end_user(self.vault, user.order_id, given)
        order = _purchase(user, user.order_id, Kind.ORDER, sealed, now)
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
        document = _purchase(user, topup_id, Kind.TOPUP, {}, at or utcnow())
        await self.db[ORDERS].insert_one(with_outbox(document))
        return topup_id

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
        document: Doc = {
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


def _purchase(user: EndUser, purchase_id: str, kind: Kind, end_user: Doc, now: datetime) -> Doc:
    """A completed purchase of one eSIM of PACKAGE by the user, as the order flow stores it."""
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
