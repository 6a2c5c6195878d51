"""The logs service as a data owner under test (with a stand-in privacy service; its first
retention sweep an hour away), and writers of log records in the shared shape, sealed with a
vault over the service's own keys (the shared key rule)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from logs.app import create_service
from logs.order_facts import ORDER_FACTS
from logs.settings import LogsSettings
from logs.store import API_REQUESTS, TECHNICAL
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.privacy_standin import Doc, OwnerUnderTest, stand_in

SIGN_IN_EVENT = "dashboard_sign_in"
"""The event of the technical records `LogsOwner.technical` writes."""


def logs_settings(base: ServiceSettings, **overrides: Any) -> LogsSettings:
    """Logs settings for a test namespace, with keys; the first sweep an hour after start."""
    values = {
        **base.model_dump(),
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        "retention_sweep_first_delay_seconds": 3600,
        **overrides,
    }
    return LogsSettings.model_validate(values)


def stored_time(moment: datetime | None) -> datetime:
    """The moment (now if None) as the store keeps it: to the millisecond."""
    at = moment or utcnow()
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def sample_ip() -> str:
    """A documentation-range IPv4 address no other test uses (very likely)."""
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def sample_agent() -> str:
    """A user agent no other test uses."""
    return f"TestClient/{secrets.token_hex(4)}"


@dataclass
class LogsOwner(OwnerUnderTest):
    """The logs service and the stand-in privacy service; writers of sample records."""

    @classmethod
    def build(cls, base: ServiceSettings, **overrides: Any) -> LogsOwner:
        """Logs over a namespace, not yet running; its vault uses the service's keys."""
        settings = logs_settings(base, **overrides)
        service: Service = create_service(settings)
        encryption = settings.encryption()
        assert encryption is not None
        vault = Vault.from_settings(service.db, encryption)
        return cls(service=service, caller=stand_in(base), vault=vault)

    def key_of(self, record: Doc) -> str:
        """Whose key seals a record's personal fields (the shared rule)."""
        for name in ("user_id", "partner_id"):
            if name in record:
                return str(record[name])
        if "ip" in record:
            return "ip_" + self.vault.index("ip", record["ip"])[:32]
        return "email_" + self.vault.index("email", record["email"])[:32]

    async def _sealed(self, record: Doc, personal: tuple[str, ...]) -> Doc:
        values = {name: record.pop(name) for name in personal if name in record}
        key = self.key_of(values | record)
        indexed: dict[str, str] = {name: name for name in ("ip", "email") if name in values}
        return record | await self.vault.seal(key, record["_id"], values, indexed=indexed)

    async def api_request(
        self,
        *,
        partner_id: str | None,
        ip: str,
        user_agent: str,
        at: datetime | None = None,
        status: int = 200,
    ) -> Doc:
        """An API request record as ingest stores it; the stored document."""
        received_at = stored_time(at)
        record: Doc = {
            "_id": new_id("msg"),
            "request_id": new_id("req"),
            "method": "GET",
            "route": "/v1/orders/{id}",
            "status": status,
            "duration_ms": 12.5,
            "received_at": received_at,
            "day": received_at.date().isoformat(),
            "ip": ip,
            "user_agent": user_agent,
        }
        if partner_id is not None:
            record |= {"partner_id": partner_id, "key_id": new_id("key")}
        document = await self._sealed(record, ("ip", "user_agent"))
        await self.db[API_REQUESTS].insert_one(document)
        return document

    async def sign_in_ids(self) -> set[str]:
        """The ids of the stored sign-in records `technical` wrote (the services' own log
        records, shipped as they run, land in the same collection)."""
        return await self.ids(TECHNICAL, {"event": SIGN_IN_EVENT})

    async def technical(self, at: datetime | None = None, **personal: str) -> Doc:
        """A sign-in record of a service's technical log (partner_id, user_id, email, ip,
        user_agent as given); the stored document."""
        moment = stored_time(at)
        record: Doc = {
            "_id": f"{new_id('msg')}:000",
            "at": moment,
            "service": "accounts",
            "level": "info",
            "event": SIGN_IN_EVENT,
            "day": moment.date().isoformat(),
            "fields": {"outcome": "ok", "attempt": 1},
            **personal,
        }
        document = await self._sealed(record, ("email", "ip", "user_agent"))
        await self.db[TECHNICAL].insert_one(document)
        return document

    async def order_fact(self, partner_id: str, at: datetime | None = None) -> str:
        """A completed order's fact, as the order facts handler stores it; its id."""
        completed_at = stored_time(at)
        order_id = new_id("ord")
        await self.db[ORDER_FACTS].insert_one(
            {
                "_id": order_id,
                "partner_id": partner_id,
                "package_id": "pkg_europe_5gb_30d",
                "countries": ["DE", "FR"],
                "quantity": 1,
                "completed_at": completed_at,
                "day": completed_at.date().isoformat(),
            }
        )
        return order_id

    async def opens(self, document: Doc, name: str) -> str | None:
        """What a sealed field of a (copied) document opens to now; None once shredded."""
        return (await self.vault.open(str(document["_id"]), document, [name]))[name]
