"""Settings of the logs service."""

from pydantic import Field

from servicekit.keyring import OptionalSealingKeys
from servicekit.settings import ServiceSettings


class LogsSettings(ServiceSettings, OptionalSealingKeys):
    """The common settings, plus the keys that seal the personal fields of log records."""

    ingest_batch_limit: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description="Most handler calls (messages) one group-committed write carries.",
    )

    analytics_min_group_size: int = Field(
        default=5,
        ge=2,
        le=1000,
        description="ANALYTICS_MIN_GROUP_SIZE: k, the fewest distinct partners a reported"
        " analytics group has (smaller groups are suppressed).",
    )
    logs_ttl_indexes: bool = Field(
        default=False,
        description="LOGS_TTL_INDEXES: also let the store expire log records by TTL indexes on"
        " their dates (the sweeps still run). Production on MongoDB: true. Development and CI:"
        " false (FerretDB 1.24 refuses them; nx-27017 expires at once, see decision 0002).",
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
    retention_batch_size: int = Field(
        default=1000, ge=1, le=10_000, description="Records one retention deletion removes."
    )
