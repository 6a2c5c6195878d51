"""Privacy-policy change notices: every active partner's owners and contacts get an email.

On `privacy.policy_published.v1` each active partner is told once per version: each address
once (a record per partner, version and address blind index, written after the send), then a
record per partner and version that carries `accounts.policy_notice_sent.v1` in its outbox
(the privacy service turns it into the partner's dashboard banner). A crash between a send
and its record sends that one email again: delivery is at least once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from accounts import store
from accounts.people import CONTACT_SEALED
from accounts.store import Db
from accounts.users import USER_SEALED
from contracts.accounts import Role
from contracts.identity import PartnerStatus
from contracts.policy import PolicyNoticeSent, PolicyPublished
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.mail import Mail, Mailer, MailSettings
from servicekit.messages import MessageContext
from servicekit.outbox import with_outbox
from servicekit.service import Service
from servicekit.vault import Vault

log = structlog.get_logger("accounts.policy_notices")

NOTICES_SENT = "policy_notices_sent"
NOTICE_MAILS = "policy_notice_mails"
PAGE = 200


def notice_mail(to: str, event: PolicyPublished) -> Mail:
    """The email telling one person about a material policy change."""
    effective = event.effective_at.date().isoformat()
    return Mail(
        to=to,
        subject=f"Our privacy policy changes on {effective} (version {event.version})",
        body=(
            f"We have published version {event.version} of our privacy policy.\n"
            f"It takes effect on {effective}.\n\n"
            f"What changes: {event.summary}\n\n"
            "Read the new version in the dashboard or at GET /v1/privacy/policy, and"
            " acknowledge it with POST /v1/privacy/policy/acknowledge.\n"
        ),
    )


class PolicyNotices:
    """Sends the notices of a published version, once per partner and address."""

    def __init__(self, db: Db, bus: Bus, vault: Vault, mailer: Mailer) -> None:
        self.db = db
        self.bus = bus
        self.vault = vault
        self.mailer = mailer

    async def active_partners(self) -> list[str]:
        """Ids of the active partners, in id order."""
        cursor = self.db[store.PARTNERS].find({"status": PartnerStatus.ACTIVE.value}, {"_id": 1})
        return [doc["_id"] async for doc in cursor.sort("_id", 1)]

    async def addresses(self, partner_id: str) -> list[str]:
        """The partner's active owners' and contact people's addresses, each once."""
        found: dict[str, str] = {}
        owners = self.db[store.USERS].find(
            {"partner_id": partner_id, "role": Role.OWNER.value, "status": "active"}
        )
        async for user in owners:
            opened = await self.vault.open(user["_id"], user, USER_SEALED)
            if opened["email"]:
                found.setdefault(opened["email"].lower(), opened["email"])
        async for contact in self.db[store.CONTACTS].find({"partner_id": partner_id}):
            opened = await self.vault.open(contact["_id"], contact, CONTACT_SEALED)
            if opened["email"]:
                found.setdefault(opened["email"].lower(), opened["email"])
        return list(found.values())

    async def notify_partner(self, partner_id: str, event: PolicyPublished, now: datetime) -> None:
        """Email one partner's people about a version, unless that was done already."""
        key = f"{partner_id}:{event.version}"
        if await self.db[NOTICES_SENT].find_one({"_id": key}, {"_id": 1}) is not None:
            return
        addresses = await self.addresses(partner_id)
        for address in addresses:
            await self.mail_once(key, address, event, now)
        sent = PolicyNoticeSent(
            partner_id=partner_id, version=event.version, recipients=len(addresses), sent_at=now
        )
        document: dict[str, Any] = {"_id": key, "partner_id": partner_id, "at": now}
        try:
            await self.db[NOTICES_SENT].insert_one(with_outbox(document, self.bus.outgoing(sent)))
        except DuplicateKeyError:
            return

    async def mail_once(
        self, key: str, address: str, event: PolicyPublished, now: datetime
    ) -> None:
        """Send one address its email, unless a record says it was sent."""
        mail_id = f"{key}:{self.vault.index('email', address)}"
        if await self.db[NOTICE_MAILS].find_one({"_id": mail_id}, {"_id": 1}) is not None:
            return
        await self.mailer.send(notice_mail(address, event))
        try:
            await self.db[NOTICE_MAILS].insert_one({"_id": mail_id, "at": now})
        except DuplicateKeyError:
            return

    async def policy_published(self, event: PolicyPublished, _context: MessageContext) -> None:
        """Tell every active partner about a material policy change."""
        now = utcnow()
        partners = await self.active_partners()
        for partner_id in partners:
            await self.notify_partner(partner_id, event, now)
        log.info("policy_notices_sent", version=event.version, partners=len(partners))


def register(service: Service, vault: Vault, mail: MailSettings | None = None) -> None:
    """Subscribe to policy publications; mail settings from `SMTP_*` unless given."""
    mailer = Mailer(mail if mail is not None else MailSettings())
    notices = PolicyNotices(service.db, service.bus, vault, mailer)
    service.outbox.collections.append(NOTICES_SENT)
    service.router.on(PolicyPublished, notices.policy_published)
