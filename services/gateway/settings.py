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
    rate_limit_per_second: float = Field(
        default=50,
        gt=0,
        description="Requests per second each API key may make, on average, across all"
        " gateway replicas (a token bucket refilled at this rate).",
    )
    rate_limit_burst: int = Field(
        default=100,
        ge=1,
        description="Requests an API key may make at once after a quiet spell (the bucket's size).",
    )
    rate_limit_share_seconds: float = Field(
        default=0.25,
        gt=0,
        le=10,
        description="How often each replica tells the others what every key spent on it.",
    )
    catalogue_cache_seconds: float = Field(
        default=5,
        ge=0,
        le=300,
        description="How long a page of the package catalogue is answered from memory before"
        " provisioning is asked again (0 asks every time).",
    )
