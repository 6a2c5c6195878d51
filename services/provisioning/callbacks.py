"""The receiver of the provider's callbacks: verify the signature, record once, publish.

`POST /provider/callbacks` on provisioning's own HTTP server. A callback is trusted only
when its Standard Webhooks signature matches the shared secret and its timestamp is fresh;
anything else is refused with 401 and changes nothing. A verified callback is stored under
its webhook id (so a redelivery is recorded once) together with its domain event in the
document's outbox. A callback about an eSIM whose subject was erased after the callback
occurred (a late or replayed one) keeps only its type and times (`record`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pymongo.errors import DuplicateKeyError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from contracts import Contract
from contracts.provider import ICCID_PATTERN, ProfileExpired, ProfileInstalled, UsageUpdated
from provisioning.settings import ProvisioningSettings
from provisioning.store import ESIMS, Db
from servicekit.clock import utcnow
from servicekit.erasures import ErasureRegister
from servicekit.messages import Outgoing
from servicekit.outbox import with_outbox
from servicekit.service import Service

CALLBACKS = "provider_callbacks"
CALLBACK_PATH = "/provider/callbacks"
TOLERANCE = timedelta(minutes=5)
"""How far a callback's signed timestamp may be from now (Standard Webhooks' default)."""

ERASED_SUBJECT = "erased"
"""The `subject` of a callback recorded without its ICCID: its subject was erased after it."""

_WEBHOOK_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

log = structlog.get_logger("provisioning.callbacks")


class CallbackRefused(Exception):
    """The callback is not provably from the provider."""


class ProviderCallback(BaseModel):
    """The body of a callback, as the provider sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["profile.installed", "usage.updated", "profile.expired"]
    iccid: str = Field(pattern=ICCID_PATTERN)
    occurred_at: AwareDatetime
    data: dict[str, Any] = Field(default_factory=dict)


class UsageData(BaseModel):
    """The `data` of a usage callback."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    data_used_bytes: int = Field(ge=0)
    data_remaining_bytes: int = Field(ge=0)


def domain_event(callback: ProviderCallback, webhook_id: str) -> Contract:
    """The event a verified callback becomes."""
    iccid, at = callback.iccid, callback.occurred_at
    if callback.type == "profile.installed":
        return ProfileInstalled(iccid=iccid, webhook_id=webhook_id, occurred_at=at)
    if callback.type == "profile.expired":
        return ProfileExpired(iccid=iccid, webhook_id=webhook_id, occurred_at=at)
    usage = UsageData.model_validate(callback.data)
    return UsageUpdated(
        iccid=iccid,
        webhook_id=webhook_id,
        occurred_at=at,
        data_used_bytes=usage.data_used_bytes,
        data_remaining_bytes=usage.data_remaining_bytes,
    )


class CallbackReceiver:
    """Verifies and records provider callbacks."""

    def __init__(
        self,
        *,
        db: Db,
        secret: str | None,
        outgoing: Callable[[Contract], Outgoing],
        clock: Callable[[], datetime] = utcnow,
        erasures: ErasureRegister | None = None,
    ) -> None:
        self.collection = db[CALLBACKS]
        self.esims = db[ESIMS]
        self.erasures = erasures
        self.webhook = Webhook(secret) if secret else None
        self.outgoing = outgoing
        self.clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The webhook id of an authentic, fresh callback; `CallbackRefused` otherwise."""
        if self.webhook is None:
            raise CallbackRefused("no callback secret configured")
        webhook_id = headers.get("webhook-id", "")
        if not _WEBHOOK_ID.match(webhook_id):
            raise CallbackRefused("missing or malformed webhook-id")
        try:
            signed_at = float(headers.get("webhook-timestamp", ""))
        except ValueError:
            raise CallbackRefused("missing or malformed webhook-timestamp") from None
        if abs(self.clock().timestamp() - signed_at) > TOLERANCE.total_seconds():
            raise CallbackRefused("stale or future timestamp")
        try:
            self.webhook.verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ValueError):
            raise CallbackRefused("signature does not match") from None
        return webhook_id

    async def _erased_before(self, callback: ProviderCallback) -> bool:
        """Whether the eSIM's subject was erased after the callback occurred (a late or
        replayed callback): one indexed query, and the eSIM's partner read only then."""
        index = None if self.erasures is None else self.erasures.index("iccid", callback.iccid)
        if self.erasures is None or index is None:
            return False
        erasures = await self.erasures.erasures_of([index])
        if not erasures:
            return False
        esim = await self.esims.find_one({"_id": callback.iccid}, {"partner_id": 1})
        partner_id = None if esim is None else esim.get("partner_id")
        return any(e.covers([index], partner_id, callback.occurred_at) for e in erasures)

    async def record(self, webhook_id: str, callback: ProviderCallback) -> bool:
        """Store the callback and its event once; False if this webhook id was recorded. A
        callback older than an erasure of its eSIM's subject is recorded without the ICCID and
        data, and publishes nothing (the late fact is not taken in again)."""
        document: dict[str, Any] = {
            "_id": webhook_id,
            "type": callback.type,
            "occurred_at": callback.occurred_at,
            "received_at": self.clock(),
        }
        messages = []
        if await self._erased_before(callback):
            document["subject"] = ERASED_SUBJECT
            log.info("provider_callback_about_erased_subject", type=callback.type)
        else:
            document |= {"iccid": callback.iccid, "data": callback.data}
            messages.append(self.outgoing(domain_event(callback, webhook_id)))
        try:
            await self.collection.insert_one(with_outbox(document, *messages))
        except DuplicateKeyError:
            return False
        return True

    async def handle(self, request: web.Request) -> web.Response:
        """`POST /provider/callbacks`: 401 unless signed, 400 if malformed, else 200."""
        body = await request.read()
        try:
            webhook_id = self.verify(body, request.headers)
        except CallbackRefused as refusal:
            log.warning("provider_callback_refused", reason=str(refusal))
            return _problem(401, "invalid_signature", "the callback's signature is not valid")
        try:
            callback = ProviderCallback.model_validate_json(body)
            recorded = await self.record(webhook_id, callback)
        except ValidationError:
            return _problem(400, "invalid_request", "the callback's body is not understood")
        log.info("provider_callback", type=callback.type, duplicate=not recorded)
        return web.json_response({"status": "recorded" if recorded else "duplicate"})


def _problem(status: int, code: str, detail: str) -> web.Response:
    return web.json_response(
        {
            "type": "about:blank",
            "title": code.replace("_", " "),
            "status": status,
            "detail": detail,
            "code": code,
        },
        status=status,
        content_type="application/problem+json",
    )


async def create_indexes(db: Db) -> None:
    """Callbacks are looked up by ICCID (a subject identifier) and swept by receipt time."""
    await db[CALLBACKS].create_index("iccid")
    await db[CALLBACKS].create_index("received_at")


def register(
    app: web.Application,
    service: Service,
    settings: ProvisioningSettings,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> web.Application:
    """Receive the provider's callbacks on `app` and relay their events; returns `app`."""
    secret = settings.provider_callback_secret
    encryption = settings.encryption()
    blind = encryption.make_blind_index() if encryption is not None else None
    receiver = CallbackReceiver(
        db=service.db,
        secret=secret.get_secret_value() if secret is not None else None,
        outgoing=service.bus.outgoing,
        clock=clock,
        erasures=ErasureRegister(service.db, blind) if blind is not None else None,
    )
    service.outbox.collections.append(CALLBACKS)
    service.startup.append(lambda: create_indexes(service.db))
    app.router.add_post(CALLBACK_PATH, receiver.handle)
    return app
