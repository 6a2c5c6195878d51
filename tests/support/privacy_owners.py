"""The privacy service's world in tests: the real privacy service and the real data owners
(accounts, provisioning, logs) with test settings, fake data owners the test plays itself, and
the wait until privacy knows its owners' receipt keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from accounts.app import create_service as create_accounts
from accounts.settings import AccountsSettings
from contracts import Contract, Reply
from contracts.erasure_ledger import ReapplyErasure, SubjectErased
from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    Disposition,
    EraseSubject,
    ExportSubject,
    IdentifierKind,
    InventoryAnnounced,
    LegalBasis,
    PrivacyAction,
    PrivacyRequestView,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
)
from logs.app import create_service as create_logs
from logs.settings import LogsSettings
from privacy.app import create_service as create_privacy
from privacy.settings import PrivacySettings
from provisioning.app import create_service as create_provisioning
from provisioning.settings import ProvisioningSettings
from servicekit.clock import Clock, utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.messages import MessageContext
from servicekit.receipts import ReceiptSigner, generate_signing_key, to_millisecond
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.waiting import eventually

DATA_OWNERS = ["accounts", "provisioning", "logs"]
"""The platform's real data-owning services."""
Db = AsyncDatabase[dict[str, Any]]
TaskCommand = EraseSubject | ExportSubject | RectifySubject | RestrictSubject
TASK_COMMANDS = (EraseSubject, ExportSubject, RectifySubject, RestrictSubject)
INVENTORY = [
    DataCategory(
        name="notes",
        description="Notes about a person.",
        fields=["email"],
        purpose="Testing the privacy service with a fake data owner.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until erased.",
        actions=list(PrivacyAction),
    )
]
"""A fake owner's inventory: one category, `notes`, open to every action."""
QUIET = {"retention_sweep_first_delay_seconds": 3600}
"""No retention sweep while a test runs."""


def privacy_settings(base: ServiceSettings, **overrides: Any) -> PrivacySettings:
    """The privacy service's settings in the test's namespace, with a fresh blind-index key
    for its erasure ledger unless `blind_index_key` is given (None: no ledger key)."""
    values = {**base.model_dump(), "blind_index_key": BlindIndex.generate_key(), **overrides}
    return PrivacySettings.model_validate(values)


def privacy_service(base: ServiceSettings, *, clock: Clock = utcnow, **overrides: Any) -> Service:
    """The real privacy service, not started, with `privacy_settings(base, **overrides)`."""
    return create_privacy(privacy_settings(base, **overrides), clock=clock)


def own_key(settings: ServiceSettings) -> dict[str, Any]:
    """Settings values giving one service its own receipt signing key."""
    return {**settings.model_dump(), "receipt_signing_key": SecretStr(generate_signing_key())}


def owner_builders(
    base: ServiceSettings, blind_index_key: str | None = None
) -> dict[str, Callable[[], Service]]:
    """How to build accounts, provisioning and logs as their composition roots do (again,
    with the same settings and keys): each its own receipt signing key, one master key and
    one blind-index key for the three (fresh unless given), no retention sweep."""
    keys = {
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": blind_index_key or BlindIndex.generate_key(),
    }
    accounts = AccountsSettings.model_validate(
        {**own_key(base), **keys, **QUIET, "api_key_pepper": "owners-pepper-0123456789abcdef"}
    )
    provisioning = ProvisioningSettings.model_validate(
        {**own_key(base), **keys, **QUIET, "webhook_poll_seconds": 60}
    )
    logs = LogsSettings.model_validate({**own_key(base), **keys, **QUIET})
    return {
        "accounts": lambda: create_accounts(accounts),
        "provisioning": lambda: create_provisioning(provisioning),
        "logs": lambda: create_logs(logs),
    }


def data_owners(base: ServiceSettings, blind_index_key: str | None = None) -> list[Service]:
    """Accounts, provisioning and logs, built once each, not started."""
    return [build() for build in owner_builders(base, blind_index_key).values()]


async def registered_keys(db: Db) -> dict[str, str]:
    """Service name to the receipt key id it registered with privacy (`db`: privacy's)."""
    return {doc["service"]: doc["key_id"] async for doc in db["receipt_keys"].find({})}


async def knows(db: Db, services: Iterable[str]) -> bool:
    """Whether privacy registered the inventory and receipt key of every one of `services`
    (it registers the inventory first)."""
    return set(await registered_keys(db)) >= set(services)


async def until_registered(db: Db, services: Iterable[str]) -> None:
    """Wait (bounded) until privacy knows every one of `services`."""
    names = sorted(services)
    await eventually(lambda: knows(db, names), what=f"{', '.join(names)} registered")


async def ask_privacy(
    client: Service, query: Contract, reply: type[Reply] = PrivacyRequestView
) -> Any:
    """A request/reply call to the privacy service."""
    return await client.bus.request(query, to="privacy", reply=reply, timeout=10)


def task_result(
    request_id: str,
    service: str,
    *,
    task_id: str | None = None,
    action: PrivacyAction = PrivacyAction.ERASE,
    records: int = 1,
    error: str | None = None,
    export: dict[str, Any] | None = None,
) -> PrivacyTaskCompleted:
    """An unsigned answer to a service's task of a request (by default its first run's task
    id): `records` notes handled (deleted when erasing, exported with `export` when
    exporting), or, with `error`, a failure that handled nothing."""
    handled = Disposition.EXPORTED if action is PrivacyAction.EXPORT else Disposition.DELETED
    outcomes = [CategoryOutcome(category="notes", records=records, disposition=handled)]
    return PrivacyTaskCompleted(
        request_id=request_id,
        task_id=task_id or f"{request_id}.{service}",
        service=service,
        action=action,
        succeeded=error is None,
        outcomes=[] if error is not None else outcomes,
        error=error,
        export=export,
        completed_at=to_millisecond(utcnow()),
    )


@dataclass
class FakeOwner:
    """A data owner the test plays: announces `INVENTORY`, its identifier kinds and its
    receipt key; keeps every task command, erasure announcement and reapply command that
    reaches it and answers only when the test says so (silent until then, late if the test
    waits): succeeded, failed or with its export, signed, forged or unsigned."""

    service: Service
    identifiers: list[IdentifierKind] | None = None
    signer: ReceiptSigner = field(
        default_factory=lambda: ReceiptSigner.from_secret(generate_signing_key())
    )
    commands: list[TaskCommand] = field(default_factory=list)
    """The task commands received, in order of arrival."""
    heard: list[BaseModel] = field(default_factory=list)
    """Everything received (task commands too), in order of arrival."""

    @classmethod
    def create(
        cls,
        name: str,
        base: ServiceSettings,
        identifiers: list[IdentifierKind] | None = None,
    ) -> FakeOwner:
        """A fake owner `name`, not started (`identifiers`: None announces no kinds, so
        privacy sends it every task)."""
        fake = cls(Service.create(name, base, stateless=True), identifiers)
        for command in TASK_COMMANDS:
            fake.service.router.on(command, fake._note_task)
        for message in (SubjectErased, ReapplyErasure):
            fake.service.router.on(message, fake._note)
        return fake

    @property
    def name(self) -> str:
        """The service name it plays."""
        return self.service.name

    async def _note_task(self, command: Any, context: MessageContext) -> None:
        self.commands.append(command)
        await self._note(command, context)

    async def _note(self, message: BaseModel, _context: MessageContext) -> None:
        self.heard.append(message)

    async def announce(self) -> None:
        """Announce the inventory, the identifier kinds and the receipt key."""
        await self.service.bus.publish(
            InventoryAnnounced(
                service=self.name,
                categories=INVENTORY,
                receipt_public_key=self.signer.public_key,
                receipt_key_id=self.signer.key_id,
                identifiers=self.identifiers,
            )
        )

    async def register(self, privacy_db: Db) -> None:
        """Announce, then wait (bounded) until privacy (`privacy_db`: its database) knows it."""
        await self.announce()
        await until_registered(privacy_db, [self.name])

    def deliveries(self, task_id: str) -> int:
        """How many times the command of this task arrived."""
        return sum(1 for command in self.commands if command.task_id == task_id)

    async def received(self, task_id: str, times: int = 1) -> None:
        """Wait until the command of this task has arrived `times` times."""

        async def arrived() -> bool:
            return self.deliveries(task_id) >= times

        await eventually(arrived, what=f"{task_id} at {self.name} {times} times")

    def of_type(self, kind: type[BaseModel]) -> list[Any]:
        """What it heard of one message type."""
        return [message for message in self.heard if isinstance(message, kind)]

    async def heard_of(self, kind: type[BaseModel], count: int = 1) -> list[Any]:
        """What it heard of one message type once that is `count` messages (else empty: a
        probe for `eventually`)."""
        messages = self.of_type(kind)
        return messages if len(messages) >= count else []

    def result(self, request_id: str, **answer: Any) -> PrivacyTaskCompleted:
        """Its unsigned answer to its task of a request (`answer`: as `task_result` takes it;
        by default a successful erasure of one record)."""
        return task_result(request_id, self.name, **answer)

    async def send(self, result: PrivacyTaskCompleted) -> None:
        """Publish a result as it is (genuine, forged or unsigned), as a data owner does."""
        await self.service.bus.publish(result)

    async def answer(self, request_id: str, task_id: str | None = None, **answer: Any) -> None:
        """Send its signed answer to this task (by default the first run's): a successful
        erasure of one record unless `answer` (as `task_result` takes it) says otherwise,
        e.g. `error=...` to fail or `action=PrivacyAction.EXPORT, export={...}`."""
        await self.send(self.signer.sign(self.result(request_id, task_id=task_id, **answer)))
