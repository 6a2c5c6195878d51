"""Models of the account routes of the API: rectifying the account, periods of the ledger."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.identity import Phone, PostalAddress, ShortText, Text
from contracts.ledger import EntryId, StatementFormat, StatementLine
from contracts.money import Money
from gateway.schemas import ApiModel

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$", re.ASCII
)
RFC3339_HINT = (
    "an RFC 3339 date-time with a timezone, e.g. 2026-03-01T00:00:00Z"
    " (in a query string, write + as %2B)"
)


def _rfc3339(value: Any) -> Any:
    """Only RFC 3339 text with a timezone: no bare dates, Unix times or local times."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(f"expected {RFC3339_HINT}")
    return value


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def after_start(end: datetime | None, info: ValidationInfo) -> datetime | None:
    """A period's end must come after its start (reported on `to`)."""
    start = info.data.get("period_from")
    if start is not None and end is not None and end <= start:
        raise ValueError("`to` must be later than `from`")
    return end


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    Field(description=f"Expected as {RFC3339_HINT}.", examples=["2026-03-01T00:00:00Z"]),
]


def _as_validated(schema: dict[str, Any]) -> None:
    """The document states what the validators enforce: optional fields that refuse `null`
    (shown without the null branch), and at least one field."""
    schema["minProperties"] = 1
    for field in schema["properties"].values():
        branches = [branch for branch in field.pop("anyOf", []) if branch != {"type": "null"}]
        if branches:
            field.update(branches[0] if len(branches) == 1 else {"anyOf": branches})
        field.pop("default", None)


class AccountChanges(ApiModel):
    """Corrections to your business details (rectification): send only what changes.

    Which fields changed, when and by which key is recorded, never their values. A field
    cannot be removed: leave it out to keep it.
    """

    model_config = ConfigDict(json_schema_extra=_as_validated)

    business_name: Text | None = Field(default=None, examples=["Demo Travel GmbH"])
    registration_number: ShortText | None = Field(default=None, examples=["HRB 123456"])
    tax_id: ShortText | None = Field(default=None, examples=["DE123456789"])
    address: PostalAddress | None = None
    phone: Phone | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("a field cannot be removed: leave it out to keep it")
        return value

    @model_validator(mode="after")
    def _changes_something(self) -> AccountChanges:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent, as the accounts service's update takes them."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class TransactionsQuery(ApiModel):
    """A page of your ledger entries (every status) created in `[from, to)`, oldest first."""

    period_from: Instant | None = Field(
        default=None, alias="from", description="Start, inclusive; default: the first entry."
    )
    period_to: Instant | None = Field(
        default=None, alias="to", description="End, exclusive; default: now."
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: EntryId | None = Field(default=None, description="`next_cursor` of the last page.")

    @field_validator("period_to")
    @classmethod
    def _period_is_ordered(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        return after_start(end, info)

    def period(self, now: datetime) -> tuple[datetime, datetime]:
        """The period asked for, in UTC, with the defaults filled in."""
        start = self.period_from or datetime(1970, 1, 1, tzinfo=UTC)
        return _utc(start), _utc(self.period_to or now)


class StatementQuery(ApiModel):
    """A statement of `[from, to)` (at most 366 days), as JSON or as a CSV file."""

    period_from: Instant = Field(alias="from", description="Start of the period, inclusive.")
    period_to: Instant = Field(alias="to", description="End of the period, exclusive.")
    format: StatementFormat = Field(
        default=StatementFormat.JSON, description="`json`, or `csv` for a file to download."
    )

    @field_validator("period_to")
    @classmethod
    def _period_is_ordered(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        return after_start(end, info)

    def period(self) -> tuple[datetime, datetime]:
        """The period in UTC."""
        return _utc(self.period_from), _utc(self.period_to)


class AccountStatement(ApiModel):
    """Your applied ledger entries of a period between its opening and closing balance.

    Amounts are integer minor units, and decimal strings formatted from them. As CSV
    (`format=csv`), the same lines follow a header row, framed by an `opening_balance` row
    and a `closing_balance` row.
    """

    partner_id: str
    period_from: datetime
    period_to: datetime
    opening_balance: Money
    closing_balance: Money
    opening_decimal: str = Field(examples=["1000.00"])
    closing_decimal: str = Field(examples=["987.50"])
    lines: list[StatementLine]
