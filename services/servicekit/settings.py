"""Settings every service shares, read from environment variables with local defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from servicekit.tls import is_loopback_host

SECRETS_DIR_ENV = "SECRETS_DIR"
"""Names a directory of secret files, one per setting (e.g. `/run/secrets/master_keys`)."""


class ServiceSettings(BaseSettings):
    """The common settings; each service subclasses it to add its own."""

    # A setting may be a secret: no validation error quotes an input.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/")
    mongo_url: str = Field(
        default="mongodb://127.0.0.1:27117/?maxPoolSize=1",
        description="Local default: the embedded server of `make run` (see decision 0002).",
    )
    bus_namespace: str = Field(default="esim", pattern=r"^[a-z][a-z0-9_-]{0,40}$")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    tls_cert_file: Path | None = Field(
        default=None,
        description="TLS_CERT_FILE: PEM certificate (chain) of the HTTP server; with"
        " TLS_KEY_FILE the service serves HTTPS only.",
    )
    tls_key_file: Path | None = Field(
        default=None,
        validate_default=True,
        description="TLS_KEY_FILE: the certificate's unencrypted PEM private key.",
    )
    plain_http_public: bool = Field(
        default=False,
        validate_default=True,
        description="PLAIN_HTTP_PUBLIC: allow plain HTTP on a non-loopback HTTP_HOST, for a"
        " TLS-terminating proxy in front.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    # 128, not 32: the inbox's group commits carry ~30 ids instead of ~10 (decision 0003).
    prefetch: int = Field(default=128, ge=1, le=1000)
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
    status_report_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="STATUS_REPORT_SECONDS: how often each process broadcasts its counters"
        " for the ops dashboard (`ops.service_status_reported.v1`).",
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then a file named after the setting in `$SECRETS_DIR`, if set.

        Containers mount secrets as files (Docker's `/run/secrets`, a Kubernetes secret
        volume); the directory is opt-in so that nothing warns where it does not exist.
        """
        directory = os.environ.get(SECRETS_DIR_ENV)
        if directory:
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=directory)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    # Field validators, not a model validator: a model validator's error would quote the
    # whole input, secrets included; these quote only their own field's value.
    @field_validator("tls_cert_file", "tls_key_file", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("tls_key_file")
    @classmethod
    def _cert_and_key_together(cls, key_file: Path | None, info: ValidationInfo) -> Path | None:
        if "tls_cert_file" in info.data and (info.data["tls_cert_file"] is None) != (
            key_file is None
        ):
            raise ValueError(
                "TLS_CERT_FILE and TLS_KEY_FILE go together: set both (HTTPS) or neither"
            )
        return key_file

    @field_validator("plain_http_public")
    @classmethod
    def _no_plain_http_in_public(cls, allowed: bool, info: ValidationInfo) -> bool:
        host = info.data.get("http_host")
        if allowed or host is None or is_loopback_host(host) or info.data.get("tls_cert_file"):
            return allowed
        raise ValueError(
            f"HTTP_HOST={host} is not a loopback address and would serve plain HTTP: set"
            " TLS_CERT_FILE and TLS_KEY_FILE (HTTPS), or PLAIN_HTTP_PUBLIC=true behind a"
            " TLS-terminating proxy, or HTTP_HOST=127.0.0.1 for development"
        )

    def database_name(self, service: str) -> str:
        """Each service owns one database; the namespace keeps test runs apart."""
        return f"{self.bus_namespace}_{service}".replace("-", "_")
