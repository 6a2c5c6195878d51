"""A partner's eSIM profiles: reading one (with its activation code) and listing them.

The activation code (`LPA:1$<SM-DP+ address>$<matching id>`) is a credential: it is opened
from the vault only for one eSIM at a time, only for the owning partner's own key or user,
and never put in a listing, a log or a webhook. The profiles' life from the provider's
callbacks and their webhooks are in `esim_events`.
"""

from __future__ import annotations

from typing import Any

from contracts.accounts import Actor, Scope
from contracts.orders import EsimPage, EsimStatus, EsimUsage, EsimView, GetEsim, ListEsims
from provisioning import esim_events, esim_store
from provisioning.esim_store import Document
from provisioning.modes import visible_to
from provisioning.settings import ProvisioningSettings
from provisioning.store import ESIMS, Db
from provisioning.webhooks import Webhooks, unconfigured
from servicekit.clock import Clock, utcnow
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.vault import Vault

NO_ESIM = ServiceError("not_found", "no such eSIM")
LISTED_WITHOUT = {"matching_id": 0, "_outbox": 0}
"""What a listing never reads: the sealed matching id, and the outbox."""


def require_esims_read(actor: Actor, partner_id: str) -> None:
    """A partner's key with `esims:read` (or its user) reads its own partner's eSIMs only;
    the platform reads any."""
    if actor.kind == "platform":
        return
    if actor.partner_id != partner_id:
        raise ServiceError("forbidden", "you may read only your own eSIMs")
    if actor.kind == "api_key" and Scope.ESIMS_READ not in actor.scopes:
        raise ServiceError("forbidden", "this needs the esims:read scope")


def activation_code(smdp_address: str, matching_id: str) -> str:
    """The LPA activation code a device scans: `LPA:1$<SM-DP+ address>$<matching id>`."""
    return f"LPA:1${smdp_address}${matching_id}"


def esim_view(esim: Document, matching_id: str | None = None) -> EsimView:
    """The partner's view of a stored eSIM; with `matching_id`, its activation fields too."""
    validity = esim.get("validity")
    installation = esim.get("installation")
    credentials: dict[str, Any] = {}
    if matching_id is not None:
        credentials = {
            "smdp_address": esim["smdp_address"],
            "matching_id": matching_id,
            "activation_code": activation_code(esim["smdp_address"], matching_id),
        }
    return EsimView(
        iccid=esim["_id"],
        order_id=esim["order_id"],
        package_id=esim["package_id"],
        status=EsimStatus(esim["status"]),
        usage=EsimUsage(
            data_used_bytes=esim["data_used_bytes"],
            data_remaining_bytes=esim.get("data_remaining_bytes"),
            data_total_bytes=esim.get("data_total_bytes"),
            validity_ends_at=validity["ends_at"] if validity else None,
        ),
        created_at=esim["created_at"],
        installed_at=installation["at"] if installation else None,
        **credentials,
    )


class EsimReader:
    """Answers `GetEsim` and `ListEsims` from provisioning's store."""

    def __init__(self, db: Db, vault: Vault) -> None:
        self.db = db
        self.vault = vault

    async def get(self, query: GetEsim, _context: MessageContext) -> EsimView:
        """One eSIM of the partner; its activation code only for the partner's own actor."""
        require_esims_read(query.actor, query.partner_id)
        esim = await esim_store.find_own(
            self.db, query.partner_id, query.iccid, visible_to(query.actor)
        )
        if esim is None:
            raise NO_ESIM
        if query.actor.partner_id != esim["partner_id"]:
            return esim_view(esim)
        opened = await self.vault.open(esim["_id"], esim, ["matching_id"])
        return esim_view(esim, opened["matching_id"])

    async def list(self, query: ListEsims, _context: MessageContext) -> EsimPage:
        """The partner's eSIMs, newest first (by `listing_key`), without activation codes."""
        require_esims_read(query.actor, query.partner_id)
        criteria: dict[str, Any] = {"partner_id": query.partner_id, **visible_to(query.actor)}
        if query.order_id is not None:
            criteria["order_id"] = query.order_id
        if query.status is not None:
            criteria["status"] = query.status.value
        if query.cursor is not None:
            criteria["listing_key"] = {"$lt": query.cursor}
        found = self.db[ESIMS].find(criteria, LISTED_WITHOUT).sort("listing_key", -1)
        documents = await found.limit(query.limit + 1).to_list()
        page = documents[: query.limit]
        more = len(documents) > query.limit
        return EsimPage(
            data=[esim_view(esim) for esim in page],
            next_cursor=page[-1]["listing_key"] if more else None,
        )


def register(
    service: Service,
    settings: ProvisioningSettings,
    webhooks: Webhooks | None,
    *,
    clock: Clock = utcnow,
) -> EsimReader | None:
    """Answer `GetEsim` and `ListEsims`, hear the provider's events, run the validity check.

    Without MASTER_KEYS and BLIND_INDEX_KEY (no vault, no webhooks) the queries answer
    `unavailable` and nothing runs.
    """
    encryption = settings.encryption()
    if encryption is None or webhooks is None:
        service.router.answer(GetEsim, unconfigured)
        service.router.answer(ListEsims, unconfigured)
        return None
    reader = EsimReader(service.db, Vault.from_settings(service.db, encryption))
    service.router.answer(GetEsim, reader.get)
    service.router.answer(ListEsims, reader.list)
    esim_events.register(service, settings, webhooks, clock=clock)
    return reader
