"""Settings every service shares, read from environment variables with local defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """The common settings; each service subclasses it to add its own."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/")
    mongo_url: str = Field(
        default="mongodb://127.0.0.1:27117/?maxPoolSize=1",
        description="Local default: the embedded server of `make run` (see decision 0002).",
    )
    bus_namespace: str = Field(default="esim", pattern=r"^[a-z][a-z0-9_-]{0,40}$")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    prefetch: int = Field(default=32, ge=1, le=1000)
    delivery_limit: int = Field(default=5, ge=1, description="Quorum x-delivery-limit.")
    retry_delays_ms: list[int] = Field(
        default=[1000, 5000, 30000], description="Backoff before each retry of a failed handler."
    )
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    query_timeout_seconds: float = Field(default=5.0, gt=0)
    inbox_retention_hours: int = Field(
        default=7 * 24, ge=1, description="How long handled message ids are remembered."
    )
    log_ship_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Least level of the log records shipped to the logs service."
    )
    log_ship_buffer: int = Field(
        default=10_000, ge=1, description="Log records held for shipping; more are dropped."
    )
    log_ship_interval_seconds: float = Field(
        default=1.0, gt=0, le=60, description="Longest wait before buffered records are shipped."
    )
    receipt_signing_key: SecretStr | None = Field(
        default=None,
        description="This service's own Ed25519 key for signing privacy receipts: base64 of"
        " 32 raw bytes. Required in every service that joins the privacy fan-out.",
    )

    export_part_bytes: int = Field(
        default=256 * 1024,
        ge=1,
        description="EXPORT_PART_BYTES: largest part (bytes of canonical JSON) a data-owning"
        " service's export is cut into on the bus.",
    )

    def database_name(self, service: str) -> str:
        """Each service owns one database; the namespace keeps test runs apart."""
        return f"{self.bus_namespace}_{service}".replace("-", "_")
