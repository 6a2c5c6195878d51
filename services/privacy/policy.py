"""Privacy-policy versions: publication (with the 30-day rule), the current version, notices.

Version 1 is seeded from `docs/privacy-policy.md`, dated by its "Last updated" line. A
material version publishes `privacy.policy_published.v1`; accounts emails every partner and
answers with `accounts.policy_notice_sent.v1`, which becomes the partner's banner here.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from contracts.accounts import PLATFORM_ROLES, Actor, Role
from contracts.policy import (
    MATERIAL_NOTICE_DAYS,
    AcknowledgePolicy,
    GetCurrentPolicy,
    GetPolicyNotices,
    PolicyAcknowledged,
    PolicyNotices,
    PolicyNoticeSent,
    PolicyPublished,
    PolicyVersionView,
    PublishPolicy,
)
from contracts.retention import RetentionSwept
from privacy import policy_store, retention_overview
from privacy.store import Db
from servicekit.bus import Bus
from servicekit.clock import Clock, utcnow
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext
from servicekit.outbox import with_outbox
from servicekit.service import Service

log = structlog.get_logger("privacy.policy")


POLICY_FILE = Path(__file__).resolve().parents[2] / "docs" / "privacy-policy.md"
PUBLISHERS = frozenset({Role.PRIVACY_OFFICER, Role.OPS})
_LAST_UPDATED = re.compile(r"^Last updated:\s*([A-Z][a-z]+)\s+(\d{4})\s*$", re.MULTILINE)
_MONTHS = list(calendar.month_name)


def last_updated_of(text: str) -> date:
    """The "Last updated: Month YYYY" date of a policy text (the first of that month)."""
    found = _LAST_UPDATED.search(text)
    if found is None or found.group(1) not in _MONTHS:
        raise ValueError('the policy text has no "Last updated: Month YYYY" line')
    return date(int(found.group(2)), _MONTHS.index(found.group(1)), 1)


def require_publisher(actor: Actor) -> None:
    """Only the platform, the privacy officer and ops publish policy versions."""
    if actor.kind == "platform":
        return
    if actor.kind == "user" and actor.role in PUBLISHERS and actor.role in PLATFORM_ROLES:
        return
    raise ServiceError("forbidden", "only the privacy officer publishes policy versions")


def check_terms(request: PublishPolicy, now: datetime) -> datetime:
    """The effective time to store; refuses a material change with less than 30 days' notice."""
    effective_at = request.effective_at
    if effective_at.tzinfo is None:
        raise ServiceError("invalid_request", "effective_at needs a timezone (UTC)")
    effective_at = effective_at.astimezone(UTC)
    if request.material and effective_at < now + timedelta(days=MATERIAL_NOTICE_DAYS):
        raise ServiceError(
            "invalid_request",
            f"a material change takes effect at least {MATERIAL_NOTICE_DAYS} days after"
            f" publication: {(now + timedelta(days=MATERIAL_NOTICE_DAYS)).date()} at the earliest",
        )
    if effective_at.date() < now.date():
        raise ServiceError("invalid_request", "effective_at lies in the past")
    return policy_store.to_millis(max(effective_at, now))


def fingerprint(text: str, material: bool, summary: str) -> str:
    """What makes two publications the same one (the effective date aside)."""
    return hashlib.sha256(f"{material}\n{summary}\n{text}".encode()).hexdigest()


def version_document(
    bus: Bus, version: int, request: PublishPolicy, effective_at: datetime, now: datetime
) -> dict[str, Any]:
    """A new version as stored; a material one carries its `policy_published` event."""
    document = {
        "_id": policy_store.version_id(version),
        "version": version,
        "text": request.text,
        "fingerprint": fingerprint(request.text, request.material, request.summary),
        "published_at": now,
        "effective_at": effective_at,
        "last_updated": policy_store.midnight(now.date()),
        "material": request.material,
        "summary": request.summary,
        "published_by": request.actor.id,
    }
    if not request.material:
        return with_outbox(document)
    event = PolicyPublished(
        version=version, published_at=now, effective_at=effective_at, summary=request.summary
    )
    return with_outbox(document, bus.outgoing(event))


@dataclass
class PolicyHandlers:
    """The policy's queries and events."""

    db: Db
    bus: Bus
    clock: Clock = utcnow

    async def publish(self, request: PublishPolicy, _context: MessageContext) -> PolicyVersionView:
        """Publish a version; the same publication again answers the version it made."""
        require_publisher(request.actor)
        now = policy_store.to_millis(self.clock())
        effective_at = check_terms(request, now)
        latest = await policy_store.latest_version(self.db)
        same = fingerprint(request.text, request.material, request.summary)
        if (
            latest is not None
            and latest["fingerprint"] == same
            and latest["effective_at"].date() == effective_at.date()
        ):
            return policy_store.version_view(latest)
        number = 1 if latest is None else latest["version"] + 1
        document = version_document(self.bus, number, request, effective_at, now)
        if not await policy_store.insert_version(self.db, document):
            raise ServiceError("conflict", "another version was published at the same time")
        log.info("policy_published", version=number, material=request.material)
        return policy_store.version_view(document)

    async def current(
        self, _request: GetCurrentPolicy, _context: MessageContext
    ) -> PolicyVersionView:
        """The version in force now."""
        document = await policy_store.current_version(self.db, self.clock())
        if document is None:
            raise ServiceError("not_found", "no policy version is in force")
        return policy_store.version_view(document)

    async def notices(self, request: GetPolicyNotices, _context: MessageContext) -> PolicyNotices:
        """A partner's banners, with their acknowledgements."""
        return PolicyNotices(notices=await policy_store.notices_of(self.db, request.partner_id))

    async def acknowledge(
        self, request: AcknowledgePolicy, _context: MessageContext
    ) -> PolicyAcknowledged:
        """Store a partner's acknowledgement of a version (once)."""
        actor = request.actor
        if actor.kind != "platform" and actor.partner_id != request.partner_id:
            raise ServiceError("not_found", "no such partner")
        if await policy_store.find_version(self.db, request.version) is None:
            raise ServiceError("not_found", f"no policy version {request.version}")
        stored = await policy_store.record_acknowledgement(
            self.db, request.partner_id, request.version, actor.id, self.clock()
        )
        return PolicyAcknowledged(
            partner_id=request.partner_id, version=request.version, acknowledged_at=stored["at"]
        )

    async def notice_sent(self, event: PolicyNoticeSent, _context: MessageContext) -> None:
        """Accounts told a partner about a version: show the partner a banner."""
        version = await policy_store.find_version(self.db, event.version)
        if version is None:
            log.warning("policy_notice_for_unknown_version", version=event.version)
            return
        await policy_store.record_notice(self.db, event.partner_id, version, event.sent_at)

    async def retention_swept(self, event: RetentionSwept, _context: MessageContext) -> None:
        """Keep each service's latest sweep for the retention overview."""
        await policy_store.record_sweep(self.db, event)


async def seed_first_version(db: Db, policy_file: Path = POLICY_FILE) -> None:
    """Version 1 from the repository's policy text, dated by its "Last updated" line."""
    if await policy_store.latest_version(db) is not None:
        return
    text = await asyncio.to_thread(policy_file.read_text, encoding="utf-8")
    dated = policy_store.midnight(last_updated_of(text))
    summary = "Initial policy"
    document = {
        "_id": policy_store.version_id(1),
        "version": 1,
        "text": text,
        "fingerprint": fingerprint(text, False, summary),
        "published_at": dated,
        "effective_at": dated,
        "last_updated": dated,
        "material": False,
        "summary": summary,
        "published_by": "seed",
    }
    await policy_store.insert_version(db, with_outbox(document))


def register(service: Service, clock: Clock = utcnow) -> None:
    """Wire the policy's collections, seed, queries and subscriptions into the service."""
    handlers = PolicyHandlers(service.db, service.bus, clock)
    service.outbox.collections.append(policy_store.POLICY_VERSIONS)
    service.startup.append(lambda: policy_store.create_indexes(service.db))
    service.startup.append(lambda: seed_first_version(service.db))
    service.router.answer(PublishPolicy, handlers.publish)
    service.router.answer(GetCurrentPolicy, handlers.current)
    service.router.answer(GetPolicyNotices, handlers.notices)
    service.router.answer(AcknowledgePolicy, handlers.acknowledge)
    service.router.on(PolicyNoticeSent, handlers.notice_sent)
    service.router.on(RetentionSwept, handlers.retention_swept)
    retention_overview.register(service)
