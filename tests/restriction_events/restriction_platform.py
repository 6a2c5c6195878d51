"""The platform of the restriction-broadcast tests: the real privacy service and the real
accounts, provisioning and logs services on one namespace, with one platform-wide blind-index
key, and an ops client that opens privacy requests, adds people, stores orders as the order
flow does, queues their webhooks, logs API requests as the gateway does and asks analytics."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from accounts.app import create_service as create_accounts
from accounts.settings import AccountsSettings
from contracts.accounts import Actor, Role
from contracts.base import Query, Reply
from contracts.gateway import ApiRequestRecord, ApiRequestsLogged
from contracts.identity import (
    AddContact,
    ContactRole,
    ContactView,
    CreatePartner,
    PartnerView,
    PostalAddress,
)
from contracts.log_queries import AnalyticsDimension, GetUsageAnalytics, UsageAnalytics
from contracts.money import Money
from contracts.orders import EndUser
from contracts.privacy import (
    GetPrivacyRequest,
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from contracts.webhooks import OrderCompletedPayload, WebhookEventType
from logs.app import create_service as create_logs
from logs.settings import LogsSettings
from logs.store import API_REQUESTS
from privacy.app import create_service as create_privacy
from privacy.settings import PrivacySettings
from provisioning.app import create_service as create_provisioning
from provisioning.purchase_store import Kind, purchase_document, seal_end_user
from provisioning.settings import ProvisioningSettings
from provisioning.store import ORDERS
from provisioning.webhook_store import ENDPOINTS, endpoint_document
from provisioning.webhooks import Webhooks
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.outbox import with_outbox
from servicekit.restrictions import RESTRICTED_SUBJECTS
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.services import fresh_namespace, running
from support.waiting import eventually

OWNERS = ["accounts", "provisioning", "logs"]
OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)
PLATFORM = Actor(kind="platform", id="ops")
PRICE = Money(amount=1_200, currency="EUR")
R = TypeVar("R", bound=Reply)


def new_iccid() -> str:
    """A random, valid-looking ICCID (89 + 18 digits)."""
    return "89" + "".join(secrets.choice("0123456789") for _ in range(18))


def new_email() -> str:
    """An email no other test uses."""
    return f"traveller.{secrets.token_hex(4)}@example.net"


@dataclass
class Platform:
    """The services, running, and what the tests do with them."""

    privacy: Service
    accounts: Service
    provisioning: Service
    logs: Service
    ops: Service
    webhooks: Webhooks
    order_vault: Vault

    async def ask(self, query: Query, reply: type[R], to: str = "privacy") -> R:
        """Ask a service over request/reply."""
        return await self.ops.bus.request(query, to=to, reply=reply, timeout=15)

    async def request(
        self, kind: RequestType, subject: SubjectRef, *, partner_id: str | None = None
    ) -> PrivacyRequestView:
        """Open a privacy request (a partner's when `partner_id` is given, else ops') and
        wait until it completed, and until every owner's register kept its broadcast."""
        channel = RequestChannel.PARTNER if partner_id else RequestChannel.OPS
        submitted = SubmitPrivacyRequest(
            channel=channel,
            partner_id=partner_id,
            requested_by=None if partner_id else "officer",
            type=kind,
            subject=subject,
        )
        view = await self.ask(submitted, PrivacyRequestView)

        async def completed() -> PrivacyRequestView | None:
            now = await self.ask(GetPrivacyRequest(request_id=view.id), PrivacyRequestView)
            return now if now.status == RequestStatus.COMPLETED else None

        done = await eventually(completed, what=f"the {kind} request completed")
        for owner in (self.accounts, self.provisioning, self.logs):
            await self._kept(owner, view.id)
        return done

    @staticmethod
    async def _kept(owner: Service, request_id: str) -> None:
        async def kept() -> object:
            return await owner.db[RESTRICTED_SUBJECTS].find_one({"_id": request_id})

        await eventually(kept, what=f"{owner.name} keeping the broadcast of {request_id}")

    async def partner(self) -> str:
        """A new partner's id."""
        request = CreatePartner(
            actor=OPS,
            business_name=f"Travel {secrets.token_hex(3)} GmbH",
            registration_number="HRB 4242",
            address=PostalAddress(line1="Hauptstr. 1", city="Potsdam", country="DE"),
            phone="+493312345678",
        )
        return (await self.ask(request, PartnerView, to="accounts")).id

    async def add_contact(self, partner_id: str, email: str) -> ContactView:
        """Add a contact person with this email to the partner."""
        request = AddContact(
            actor=OPS, partner_id=partner_id, name="Ada", email=email, role=ContactRole.BILLING
        )
        return await self.ask(request, ContactView, to="accounts")

    async def endpoint(self, partner_id: str) -> None:
        """An enabled `order.completed` endpoint of the partner."""
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
        await self.provisioning.db[ENDPOINTS].insert_one(document)

    async def order(self, partner_id: str, email: str) -> tuple[str, str]:
        """A completed order of one eSIM for the end user, stored as the order flow stores
        it (email sealed with the order's key, blind-indexed); its id and ICCID."""
        order_id, iccid = new_id("ord"), new_iccid()
        sealed = await seal_end_user(self.order_vault, order_id, EndUser(email=email))
        document = purchase_document(
            purchase_id=order_id,
            kind=Kind.ORDER,
            partner_id=partner_id,
            key=new_id("idem"),
            terms={"package_id": "pkg_eu_5gb", "quantity": 1, "kind": Kind.ORDER.value},
            unit_price=PRICE,
            quantity=1,
            iccids=[iccid],
            end_user=sealed,
            now=utcnow(),
        )
        await self.provisioning.db[ORDERS].insert_one(
            with_outbox(document | {"state": "completed"})
        )
        return order_id, iccid

    async def completed(self, partner_id: str, order: tuple[str, str]) -> list[str]:
        """Queue `order.completed` for the order as the order flow does; the delivery ids."""
        order_id, iccid = order
        payload = OrderCompletedPayload(
            order_id=order_id,
            package_id="pkg_eu_5gb",
            quantity=1,
            iccids=[iccid],
            total=PRICE,
            completed_at=utcnow(),
        )
        return await self.webhooks.enqueue(
            partner_id, WebhookEventType.ORDER_COMPLETED, payload, new_id("src")
        )

    async def api_requests(self, records: list[tuple[str, str]], at: datetime) -> None:
        """Log one API request per (partner, IP address) as the gateway does, and wait until
        the logs stored them all."""
        logged = ApiRequestsLogged(
            records=[
                ApiRequestRecord(
                    request_id=new_id("req"),
                    partner_id=partner_id,
                    method="GET",
                    route="/v1/packages",
                    path="/v1/packages",
                    status=200,
                    duration_ms=3.0,
                    ip=ip,
                    received_at=at,
                )
                for partner_id, ip in records
            ]
        )
        before = await self.logs.db[API_REQUESTS].count_documents({})
        await self.ops.bus.publish(logged)

        async def stored() -> bool:
            count = await self.logs.db[API_REQUESTS].count_documents({})
            return count == before + len(records)

        await eventually(stored, what="the logs storing the API requests")

    async def analytics(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        """Requests per endpoint in the period, as {endpoint: (count, partners)}."""
        query = GetUsageAnalytics(
            actor=PLATFORM,
            dimension=AnalyticsDimension.ENDPOINT,
            period_from=start,
            period_to=end,
        )
        report = await self.ask(query, UsageAnalytics, to="logs")
        return {group.key: (group.count, group.members) for group in report.groups}


def _keys(base: ServiceSettings, blind_key: str, **more: Any) -> dict[str, Any]:
    return {
        **base.model_dump(),
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": blind_key,
        "retention_sweep_first_delay_seconds": 3600,
        **more,
    }


@asynccontextmanager
async def start_platform(
    amqp_url: str, mongo_url: str, *, privacy_has_key: bool = True
) -> AsyncIterator[Platform]:
    """Every service with one platform-wide blind-index key (privacy without it unless
    `privacy_has_key`), running, owners registered."""
    key = BlindIndex.generate_key()
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", *OWNERS, "ops"]) as base:
        privacy_key = {"blind_index_key": key} if privacy_has_key else {}
        privacy = create_privacy(
            PrivacySettings.model_validate(
                {**base.model_dump(), **privacy_key, "privacy_approval_required": []}
            )
        )
        accounts = create_accounts(
            AccountsSettings.model_validate(
                _keys(base, key, api_key_pepper="test-pepper-for-restrictions-0123456")
            )
        )
        provisioning_settings = ProvisioningSettings.model_validate(
            _keys(base, key, webhook_poll_seconds=60, webhook_retry_delays_ms=[3_600_000])
        )
        provisioning = create_provisioning(provisioning_settings)
        logs = create_logs(
            LogsSettings.model_validate(_keys(base, key, analytics_min_group_size=2))
        )
        ops = Service.create("ops", base, stateless=True)
        encryption = provisioning_settings.encryption()
        assert encryption is not None
        vault = Vault.from_settings(provisioning.db, encryption)
        hooks = Webhooks(provisioning, provisioning_settings, vault, utcnow)
        async with running(privacy, accounts, provisioning, logs, ops):

            async def registered() -> bool:
                count = await privacy.db["inventory_registry"].count_documents({})
                return count == len(OWNERS)

            await eventually(registered, what="the data owners registered")
            yield Platform(privacy, accounts, provisioning, logs, ops, hooks, vault)
