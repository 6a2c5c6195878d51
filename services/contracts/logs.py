"""Logs contracts: technical log records shipped by every service to the logs service."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.base import Event

MAX_RECORDS_PER_BATCH = 500
MAX_EXTRA_FIELDS = 50
MAX_VALUE_CHARS = 1000

LogLevel = Literal["debug", "info", "warning", "error", "critical"]

FIELD_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A key of `fields`: no `.` and no `$`, which document stores refuse in keys."""

FieldValue = Annotated[str, Field(max_length=MAX_VALUE_CHARS)] | bool | int | float
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class TechnicalRecord(BaseModel):
    """One structured log record of a service, already redacted by the service that wrote it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime = Field(description="When the record was written (UTC).")
    service: ShortText = Field(description="The service that wrote it.", examples=["accounts"])
    level: LogLevel
    event: str = Field(
        min_length=1, max_length=MAX_VALUE_CHARS, description="The record's event name or text."
    )
    logger: ShortText | None = Field(default=None, description="Standard-library logger name.")
    correlation_id: ShortText | None = None
    request_id: ShortText | None = None
    message_type: ShortText | None = Field(
        default=None, description="The bus message being handled when it was written."
    )
    partner_id: ShortText | None = None
    user_id: ShortText | None = None
    email: Annotated[str, Field(max_length=320)] | None = Field(
        default=None, description="Personal: sealed at rest by the logs service."
    )
    ip: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Personal: sealed at rest, with a blind index."
    )
    user_agent: Annotated[str, Field(max_length=512)] | None = Field(
        default=None, description="Personal: sealed at rest."
    )
    fields: dict[str, FieldValue] = Field(
        default_factory=dict,
        max_length=MAX_EXTRA_FIELDS,
        description="Everything else the record carried: JSON scalars, strings cut to 1,000"
        " characters, at most 50 keys, each 1-64 of `[A-Za-z0-9_-]`.",
        examples=[{"attempt": 2, "error": "TimeoutError()"}],
    )

    @field_validator("fields")
    @classmethod
    def _check_field_names(
        cls, fields: dict[str, str | bool | int | float]
    ) -> dict[str, str | bool | int | float]:
        for name in fields:
            if not FIELD_NAME.fullmatch(name):
                raise ValueError(f"field name {name[:64]!r} is not 1-64 of [A-Za-z0-9_-]")
        return fields


class TechnicalRecordsShipped(Event):
    """A batch of technical log records from one service process, for the logs service."""

    TYPE: ClassVar[str] = "logs.technical_records.v1"

    records: list[TechnicalRecord] = Field(
        min_length=1,
        max_length=MAX_RECORDS_PER_BATCH,
        description="In the order they were written; the n-th is stored as `<message id>:<n>`.",
    )
