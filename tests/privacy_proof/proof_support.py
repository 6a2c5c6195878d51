"""Helpers of the proof tests: the privacy service with real data owners, and a forger's tools."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from accounts.app import create_service as create_accounts
from accounts.settings import AccountsSettings
from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    Disposition,
    InventoryAnnounced,
    LegalBasis,
    PrivacyAction,
    PrivacyRequestView,
    PrivacyTaskCompleted,
    RequestStatus,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from logs.app import create_service as create_logs
from logs.settings import LogsSettings
from privacy import store
from privacy.app import create_service as create_privacy
from privacy.settings import PrivacySettings
from provisioning.app import create_service as create_provisioning
from provisioning.settings import ProvisioningSettings
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.receipts import ReceiptSigner, generate_signing_key
from servicekit.service import Service
from servicekit.settings import ServiceSettings

DATA_OWNERS = ["accounts", "provisioning", "logs"]
FAKE = "alpha"
"""A data owner the tests play themselves, holding its signing key."""
Db = AsyncDatabase[dict[str, Any]]


def own_key(settings: ServiceSettings) -> dict[str, Any]:
    """Settings values giving one service its own receipt signing key."""
    return {**settings.model_dump(), "receipt_signing_key": SecretStr(generate_signing_key())}


def data_owners(base: ServiceSettings) -> list[Service]:
    """Accounts, provisioning and logs as their composition roots build them, each with its
    own receipt signing key."""
    keys = {"master_keys": LocalMasterKeys.generate(), "blind_index_key": BlindIndex.generate_key()}
    quiet = {"retention_sweep_first_delay_seconds": 3600}
    accounts = AccountsSettings.model_validate(
        {**own_key(base), **keys, **quiet, "api_key_pepper": "proof-pepper-0123456789abcdef"}
    )
    provisioning = ProvisioningSettings.model_validate(
        {**own_key(base), **keys, **quiet, "webhook_poll_seconds": 60}
    )
    logs = LogsSettings.model_validate({**own_key(base), **keys, **quiet})
    return [create_accounts(accounts), create_provisioning(provisioning), create_logs(logs)]


def privacy_service(base: ServiceSettings) -> Service:
    """The real privacy service (with the blind-index key its erasure ledger needs)."""
    settings = {**base.model_dump(), "blind_index_key": BlindIndex.generate_key()}
    return create_privacy(PrivacySettings.model_validate(settings))


INVENTORY = [
    DataCategory(
        name="notes",
        description="Notes about a person.",
        fields=["email"],
        purpose="Testing receipts.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until erased.",
        actions=list(PrivacyAction),
    )
]


@dataclass
class Forger:
    """Plays the data owner `alpha`: announces its key and sends results, genuine or not."""

    client: Service
    signer: ReceiptSigner = field(
        default_factory=lambda: ReceiptSigner.from_secret(generate_signing_key())
    )

    async def announce(self) -> None:
        """Announce alpha's inventory with its public key."""
        await self.client.bus.publish(
            InventoryAnnounced(
                service=FAKE,
                categories=INVENTORY,
                receipt_public_key=self.signer.public_key,
                receipt_key_id=self.signer.key_id,
            )
        )

    def result(self, request_id: str, records: int = 2) -> PrivacyTaskCompleted:
        """Alpha's unsigned answer to its erase task of a request."""
        return erase_result(request_id, records)

    async def send(self, result: PrivacyTaskCompleted) -> None:
        """Publish a result as a data owner does."""
        await self.client.bus.publish(result)


def erase_result(request_id: str, records: int = 2) -> PrivacyTaskCompleted:
    """Alpha's unsigned answer to its erase task of a request: `records` notes deleted."""
    return PrivacyTaskCompleted(
        request_id=request_id,
        task_id=f"{request_id}.{FAKE}",
        service=FAKE,
        action=PrivacyAction.ERASE,
        succeeded=True,
        outcomes=[
            CategoryOutcome(category="notes", records=records, disposition=Disposition.DELETED)
        ],
        completed_at=utcnow(),
    )


async def submit_erasure(client: Service, email: str) -> PrivacyRequestView:
    """Open an erasure request through the privacy service, as the gateway does."""
    return await client.bus.request(
        SubmitPrivacyRequest(
            partner_id="ptn_proof", type=RequestType.ERASURE, subject=SubjectRef(email=email)
        ),
        to="privacy",
        reply=PrivacyRequestView,
        timeout=10,
    )


async def request_document(db: Db, request_id: str) -> dict[str, Any]:
    """The stored request."""
    document = await db[store.REQUESTS].find_one({"_id": request_id})
    assert document is not None
    return document


async def status_of(db: Db, request_id: str) -> str:
    """The stored request's status."""
    return str((await request_document(db, request_id))["status"])


async def closed(db: Db, request_id: str) -> bool:
    """Whether the request has left `in_progress`."""
    return await status_of(db, request_id) != RequestStatus.IN_PROGRESS.value


async def registered_keys(db: Db) -> dict[str, str]:
    """Service name to the key id it registered (the last one, by id order)."""
    return {doc["service"]: doc["key_id"] async for doc in db["receipt_keys"].find({})}


@dataclass
class Proof:
    """The running privacy service, its database, the data owners and the forger."""

    privacy: Service
    owners: list[Service]
    forger: Forger
    settings: ServiceSettings

    @property
    def db(self) -> Db:
        """The privacy service's database."""
        return self.privacy.db
