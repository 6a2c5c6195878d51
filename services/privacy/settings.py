"""Settings of the privacy service."""

import base64

from pydantic import Field, SecretStr

from contracts.privacy import RequestType
from servicekit.crypto import BlindIndex
from servicekit.settings import ServiceSettings


class PrivacySettings(ServiceSettings):
    """How requests are approved, retried and watched."""

    privacy_approval_required: list[RequestType] = Field(
        default=[],
        description="PRIVACY_APPROVAL_REQUIRED: request types that wait for approval by ops"
        ' before their fan-out starts, as JSON (e.g. `["erasure"]`).',
    )
    privacy_task_retry_seconds: list[float] = Field(
        default=[30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600],
        min_length=1,
        description="PRIVACY_TASK_RETRY_SECONDS: how long to wait for a service's answer before"
        " sending its task again, one entry per attempt; after the last the task fails.",
    )
    privacy_task_sweep_seconds: float = Field(
        default=5.0,
        gt=0,
        description="PRIVACY_TASK_SWEEP_SECONDS: how often unanswered tasks are looked for.",
    )
    privacy_due_soon_days: int = Field(
        default=7,
        ge=1,
        description="PRIVACY_DUE_SOON_DAYS: an open request due within this many days counts"
        " as due soon.",
    )
    verification_code_ttl_seconds: int = Field(
        default=600,
        ge=60,
        le=24 * 3600,
        description="VERIFICATION_CODE_TTL_SECONDS: how long an emailed verification code (a"
        " person asking about themselves) stays valid.",
    )
    verification_max_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="VERIFICATION_MAX_ATTEMPTS: wrong entries of one code before it is spent.",
    )
    verification_max_codes: int = Field(
        default=3,
        ge=1,
        le=10,
        description="VERIFICATION_MAX_CODES: codes one request may have emailed (the first and"
        " every resend).",
    )
    export_link_key: SecretStr | None = Field(
        default=None,
        description="EXPORT_LINK_KEY: the HMAC-SHA256 key that signs export download links,"
        " base64 of at least 32 random bytes (privacy.export_links.generate_link_key). Without"
        " it no download link is given out.",
    )
    export_link_ttl_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        le=7 * 24 * 3600,
        description="EXPORT_LINK_TTL_SECONDS: how long a download link of an export package"
        " works (never past the package's own deletion).",
    )
    blind_index_key: SecretStr | None = Field(
        default=None,
        description="BLIND_INDEX_KEY: the platform's blind-index key (shared with the data"
        " owners); the erasure ledger keeps erased identifiers as their blind indexes. Erasure"
        " requests are refused without it.",
    )

    def blind_index(self) -> BlindIndex | None:
        """The blind index of the erasure ledger, or None when the key is not set."""
        if self.blind_index_key is None:
            return None
        return BlindIndex(base64.b64decode(self.blind_index_key.get_secret_value().strip()))
