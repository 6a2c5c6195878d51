"""Settings of the gateway."""

from pydantic import Field

from servicekit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """The gateway serves the partners' API on 8080 by default."""

    http_port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    principal_cache_seconds: float = Field(
        default=30,
        ge=0,
        le=300,
        description="How long a verified API key is trusted without asking accounts again"
        " (revocations cut it short; 0 turns the cache off).",
    )
    order_sync_wait_seconds: float = Field(
        default=5,
        ge=0,
        le=25,
        description="How long buying waits for the outcome before answering 202 `pending`.",
    )
