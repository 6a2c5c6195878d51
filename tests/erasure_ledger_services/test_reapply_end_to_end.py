"""The erasure ledger end to end: the real privacy service erases a person in accounts,
provisioning and logs; a restore from backup brings the data back; a reapply run erases it
again everywhere and its view shows every service answered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from reapply_support import Backup

from accounts import store as accounts_store
from contracts.base import Query, Reply
from contracts.erasure_ledger import GetReapplyRun, ReapplyErasures, ReapplyRunView, ReapplyStarted
from contracts.privacy import (
    GetPrivacyRequest,
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from logs.store import TECHNICAL
from provisioning.store import ORDERS
from servicekit.crypto import BlindIndex
from servicekit.service import Service
from support.accounts_owner import AccountsOwner, Business, Person
from support.logs_owner import LogsOwner, sample_ip
from support.privacy_owners import DATA_OWNERS as OWNERS
from support.privacy_owners import privacy_service, until_registered
from support.provisioning_owner import EndUser, ProvisioningOwner
from support.services import fresh_namespace, running
from support.waiting import eventually

R = TypeVar("R", bound=Reply)


@dataclass
class Platform:
    """The real privacy service, the three data owners, and an ops client."""

    privacy: Service
    accounts: AccountsOwner
    provisioning: ProvisioningOwner
    logs: LogsOwner
    ops: Service

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask the privacy service over request/reply."""
        return await self.ops.bus.request(query, to="privacy", reply=reply, timeout=15)


@asynccontextmanager
async def platform(amqp_url: str, mongo_url: str) -> AsyncIterator[Platform]:
    """Every service with one platform-wide blind-index key, running, owners registered."""
    key = BlindIndex.generate_key()
    names = ["privacy", *OWNERS, "ops"]
    async with fresh_namespace(amqp_url, mongo_url, names) as base:
        privacy = privacy_service(base, blind_index_key=key, privacy_approval_required=[])
        ops = Service.create("ops", base, stateless=True)
        accounts = AccountsOwner.build(base, blind_index_key=key)
        provisioning = ProvisioningOwner.build(base, blind_index_key=key)
        logs = LogsOwner.build(base, blind_index_key=key)
        accounts.caller = ops  # its own stand-in is named privacy: ops asks accounts instead
        services = (privacy, accounts.service, provisioning.service, logs.service, ops)
        async with running(*services):
            await until_registered(privacy.db, OWNERS)
            yield Platform(privacy, accounts, provisioning, logs, ops)


async def test_a_reapply_run_erases_restored_data_in_every_service(
    amqp_url: str, mongo_url: str
) -> None:
    """An erasure by email through the privacy service, then a restore of every owner's
    backup: the reapply run sends the ledger entry to all three, each answers, and the
    person's contact, end-user fields and log record are gone again."""
    async with platform(amqp_url, mongo_url) as p:
        person = Person.sample()
        partner = await p.accounts.partner(Business.sample())
        contact = await p.accounts.contact(partner.id, person)
        end_user = EndUser.sample(partner.id)
        end_user = EndUser(**{**end_user.__dict__, "email": person.email})
        await p.provisioning.order(end_user)
        record = await p.logs.technical(email=person.email, ip=sample_ip())
        backups = [
            (p.accounts.db, await Backup.take(p.accounts.db, [accounts_store.CONTACTS])),
            (p.provisioning.db, await Backup.take(p.provisioning.db, [ORDERS])),
            (p.logs.db, await Backup.take(p.logs.db, [TECHNICAL])),
        ]
        submitted = SubmitPrivacyRequest(
            channel=RequestChannel.OPS,
            requested_by="officer",
            type=RequestType.ERASURE,
            subject=SubjectRef(email=person.email),
        )
        view = await p.ask(submitted, PrivacyRequestView)

        async def completed() -> bool:
            now = await p.ask(GetPrivacyRequest(request_id=view.id), PrivacyRequestView)
            return now.status == RequestStatus.COMPLETED

        await eventually(completed, what="the erasure completed")
        for db, backup in backups:
            await backup.restore(db)
        assert await p.logs.opens(record, "email") == person.email

        started = await p.ask(ReapplyErasures(by="officer"), ReapplyStarted)
        assert (started.entries, sorted(started.services)) == (1, sorted(OWNERS))

        async def finished() -> ReapplyRunView | None:
            run = await p.ask(GetReapplyRun(run_id=started.run_id), ReapplyRunView)
            return run if run.answered == run.expected else None

        run = await eventually(finished, what="every service answered")
        assert run is not None
        assert (run.expected, run.answered, run.failed) == (3, 3, 0)
        assert run.erased_again >= 3
        assert (
            await p.accounts.db[accounts_store.CONTACTS].count_documents({"_id": contact.id}) == 0
        )
        order = await p.provisioning.db[ORDERS].find_one({"_id": end_user.order_id})
        assert order is not None
        assert "end_user" not in order
        assert await p.logs.db[TECHNICAL].count_documents({"_id": record["_id"]}) == 0
        assert await p.logs.opens(record, "email") is None
