"""Helpers of the erasure-ledger tests: a data owner that records what it hears."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contracts.erasure_ledger import ReapplyErasure, SubjectErased
from contracts.privacy import (
    DataCategory,
    EraseSubject,
    ExportSubject,
    InventoryAnnounced,
    LegalBasis,
    PrivacyAction,
    PrivacyRequestView,
    RequestChannel,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from servicekit.messages import MessageContext
from servicekit.receipts import ReceiptSigner, generate_signing_key
from servicekit.service import Service
from servicekit.settings import ServiceSettings

OWNER = "beta"
SIGNER = ReceiptSigner.from_secret(generate_signing_key())
INVENTORY = [
    DataCategory(
        name="notes",
        description="Notes about a person.",
        fields=["email"],
        purpose="Testing the erasure ledger.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until erased.",
        actions=list(PrivacyAction),
    )
]


@dataclass
class Ledgered:
    """The privacy service, the played data owner, what it heard, and the ledger's index."""

    privacy: Service
    owner: Service
    heard: list[BaseModel]
    blind: Any

    @property
    def db(self) -> Any:
        """The privacy service's database."""
        return self.privacy.db


def owner_service(base: ServiceSettings) -> tuple[Service, list[BaseModel]]:
    """`beta`: a stateless service keeping every erase and export task, erasure event and reapply
    command it receives (tasks stay unanswered: the tests answer what they need)."""
    owner = Service.create(OWNER, base, stateless=True)
    heard: list[BaseModel] = []

    async def keep(message: BaseModel, _context: MessageContext) -> None:
        heard.append(message)

    owner.router.on(EraseSubject, keep)
    owner.router.on(ExportSubject, keep)
    owner.router.on(SubjectErased, keep)
    owner.router.on(ReapplyErasure, keep)
    return owner, heard


async def announce(owner: Service) -> None:
    """Announce beta's inventory and receipt key."""
    await owner.bus.publish(
        InventoryAnnounced(
            service=OWNER,
            categories=INVENTORY,
            receipt_public_key=SIGNER.public_key,
            receipt_key_id=SIGNER.key_id,
        )
    )


async def submit(
    client: Service, request_type: RequestType, subject: SubjectRef
) -> PrivacyRequestView:
    """Open a request as ops."""
    return await client.bus.request(
        SubmitPrivacyRequest(
            channel=RequestChannel.OPS, requested_by="test", type=request_type, subject=subject
        ),
        to="privacy",
        reply=PrivacyRequestView,
        timeout=10,
    )


def of_type(heard: list[BaseModel], kind: type[BaseModel]) -> list[Any]:
    """What beta heard of one message type."""
    return [message for message in heard if isinstance(message, kind)]


async def heard_of(heard: list[BaseModel], kind: type[BaseModel], count: int = 1) -> list[Any]:
    """What beta heard of one message type once it is `count` messages (else empty)."""
    messages = of_type(heard, kind)
    return messages if len(messages) >= count else []
