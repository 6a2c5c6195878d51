"""Settings of the provisioning service."""

from pydantic import Field, SecretStr

from contracts.webhooks import RETRY_SCHEDULE_MS
from servicekit.keyring import OptionalSealingKeys
from servicekit.settings import ServiceSettings


class ProvisioningSettings(ServiceSettings, OptionalSealingKeys):
    """The common settings, plus how to reach the network provider and check its callbacks."""

    provider_url: str = Field(
        default="http://127.0.0.1:8090",
        description="Base URL of the network provider's API (the simulator in development).",
    )
    provider_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Upper bound of one call to the provider."
    )
    provider_callback_secret: SecretStr | None = Field(
        default=None,
        description="`whsec_` + base64 key the provider signs callbacks with (Standard"
        " Webhooks). Without it every callback is refused.",
    )

    webhook_retry_delays_ms: list[int] = Field(
        default=list(RETRY_SCHEDULE_MS),
        min_length=1,
        max_length=20,
        description="Delay before each retry of a webhook delivery; one attempt more than delays.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=30, description="Upper bound of one delivery attempt."
    )
    webhook_disable_after: int = Field(
        default=5, ge=1, le=1000, description="Consecutive exhausted deliveries that disable."
    )
    webhook_secret_overlap_hours: float = Field(
        default=24, ge=0, le=24 * 7, description="How long a rotated secret keeps signing."
    )
    webhook_lease_seconds: float = Field(
        default=60, gt=0, le=600, description="How long a worker owns a claimed delivery."
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the delivery worker looks for due work."
    )
    webhooks_allow_private_urls: bool = Field(
        default=False,
        description="Allow loopback/private addresses for test-mode endpoints (dev stack, tests)."
        " Live-mode endpoints never may.",
    )

    retention_sweep_interval_hours: float = Field(
        default=6,
        gt=0,
        le=24 * 7,
        description="How often the retention sweep runs (one replica per interval).",
    )
    retention_sweep_first_delay_seconds: float = Field(
        default=60, ge=0, description="How long after start the first retention sweep runs."
    )

    esim_validity_check_minutes: float = Field(
        default=60,
        gt=0,
        le=24 * 60,
        description="How often eSIMs whose validity ends soon are looked for (and announced).",
    )
    esim_validity_warning_hours: float = Field(
        default=24,
        gt=0,
        le=24 * 30,
        description="How long before an eSIM's validity ends `esim.validity_ending` is sent.",
    )
