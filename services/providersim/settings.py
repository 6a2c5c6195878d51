"""Settings of the provider simulator, from `PROVIDERSIM_*` environment variables."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SimulatorSettings(BaseSettings):
    """How the simulated provider behaves: its address, latency, faults, pool and callbacks."""

    # A setting may be a secret: no validation error quotes an input.
    model_config = SettingsConfigDict(
        env_prefix="PROVIDERSIM_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    host: str = Field(
        default="127.0.0.1", validation_alias=AliasChoices("PROVIDERSIM_HOST", "HTTP_HOST")
    )
    port: int = Field(
        default=8090,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("PROVIDERSIM_PORT", "HTTP_PORT"),
        description="0 picks a free port.",
    )
    latency_min_ms: int = Field(default=20, ge=0)
    latency_max_ms: int = Field(default=120, ge=0)
    failure_rate: float = Field(default=0.0, ge=0, le=1, description="Share of 503 answers.")
    timeout_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of requests that hang past any timeout."
    )
    hang_seconds: float = Field(default=60.0, gt=0, description="How long a hung request hangs.")
    pool_size: int = Field(default=1000, ge=1, le=1_000_000)
    iccid_prefix: str = Field(
        default="8949000",
        pattern=r"^89[0-9]{2,10}$",
        description="Issuer prefix of the pool's ICCIDs (starts with 89, the telecom MII).",
    )
    smdp_address: str = "smdp.providersim.test"
    callback_url: str = Field(
        default="http://127.0.0.1:8082/provider/callbacks",
        validation_alias=AliasChoices("PROVIDERSIM_CALLBACK_URL", "PROVIDER_CALLBACK_URL"),
    )
    callback_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PROVIDERSIM_CALLBACK_SECRET", "PROVIDER_CALLBACK_SECRET"),
        description="`whsec_` + base64 key shared with provisioning; callbacks need it.",
    )
    callback_retry_delays_ms: list[int] = Field(
        default=[200, 1000, 3000], description="Wait before each retry of a failed callback."
    )
    callback_timeout_seconds: float = Field(default=5.0, gt=0)
    seed: int | None = Field(default=None, description="Seed for reproducible randomness.")

    @model_validator(mode="after")
    def _latency_range(self) -> SimulatorSettings:
        if self.latency_max_ms < self.latency_min_ms:
            raise ValueError("latency_max_ms must not be below latency_min_ms")
        return self
