"""Settings of the accounts service."""

from argon2 import PasswordHasher
from pydantic import Field, SecretStr

from servicekit.keyring import EncryptionSettings
from servicekit.settings import ServiceSettings


class AccountsSettings(ServiceSettings, EncryptionSettings):
    """Accounts adds its secrets (the API-key pepper, the encryption keys) and its policies."""

    api_key_pepper: SecretStr
    demo_api_key: SecretStr | None = None
    session_ttl_minutes: int = Field(default=12 * 60, ge=5, le=30 * 24 * 60)
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins within the window before a lockout."
    )
    login_failure_window_minutes: int = Field(default=15, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    key_rotation_overlap_hours: int = Field(
        default=24, ge=0, le=30 * 24, description="How long a rotated key keeps working."
    )
    low_balance_thresholds: list[int] = Field(
        default=[10_000, 1_000],
        description="Balances (minor units) that raise a low-balance event.",
    )
    last_used_resolution_seconds: int = Field(
        default=60, ge=1, description="A key's last-used time is written at most this often."
    )
    retention_sweep_interval_hours: float = Field(
        default=6,
        gt=0,
        le=7 * 24,
        description="How often the retention sweep runs (one replica per interval).",
    )
    retention_sweep_first_delay_seconds: float = Field(
        default=60, ge=0, description="How long after start the first retention sweep runs."
    )
    password_hash_time_cost: int = Field(
        default=3,
        ge=1,
        description="argon2id iterations (argon2-cffi's default). Lower ONLY in test suites.",
    )
    password_hash_memory_kib: int = Field(
        default=65_536,
        ge=8,
        description="argon2id memory in KiB (argon2-cffi's default). Lower ONLY in test suites.",
    )
    password_hash_parallelism: int = Field(
        default=4,
        ge=1,
        description="argon2id lanes (argon2-cffi's default). Lower ONLY in test suites.",
    )

    def password_hasher(self) -> PasswordHasher:
        """The argon2id hasher these settings describe."""
        return PasswordHasher(
            time_cost=self.password_hash_time_cost,
            memory_cost=self.password_hash_memory_kib,
            parallelism=self.password_hash_parallelism,
        )
