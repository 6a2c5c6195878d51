"""Models of the partners' HTTP API that are not bus contracts (those come from `contracts`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.privacy import RequestType, SubjectRef, check_changes


class ApiModel(BaseModel):
    """Request and response bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Problem(ApiModel):
    """An error, as `application/problem+json` (RFC 9457)."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    code: str = Field(description="Stable machine-readable code.", examples=["invalid_api_key"])
    detail: str | None = None
    request_id: str
    errors: list[FieldError] | None = Field(default=None, description="Per-field errors.")


class FieldError(ApiModel):
    """One invalid field of a request."""

    field: str = Field(examples=["subject.email"])
    message: str


class Pong(ApiModel):
    """The answer to a ping: who you are, as the API sees you."""

    partner_id: str
    key_id: str
    mode: str
    time: datetime


class CreatePrivacyRequest(ApiModel):
    """A data-subject request opened by a partner on behalf of a subject."""

    type: RequestType
    subject: SubjectRef
    changes: dict[str, str] | None = Field(
        default=None, description="Corrected values, for rectification requests only."
    )

    @model_validator(mode="after")
    def _changes_fit_the_type(self) -> CreatePrivacyRequest:
        check_changes(self.type, self.changes)
        return self


class PageQuery(ApiModel):
    """Cursor pagination: pass `next_cursor` of one page as `cursor` to get the next."""

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=64)


Problem.model_rebuild()
