"""Models of the partners' HTTP API that are not bus contracts (those come from `contracts`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.apikeys import ApiKeyView, KeyMode, KeyName, KeyScopes
from contracts.privacy import Changes, RequestType, SubjectRef, check_changes


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
    changes: Changes | None = Field(
        default=None,
        description="Corrected values by field name, for rectification requests only.",
    )

    @model_validator(mode="after")
    def _changes_fit_the_type(self) -> CreatePrivacyRequest:
        check_changes(self.type, self.changes)
        return self


class PageQuery(ApiModel):
    """Cursor pagination: pass `next_cursor` of one page as `cursor` to get the next."""

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=64)


class CreateApiKeyBody(ApiModel):
    """A new API key for your account; it cannot have a scope your own key lacks."""

    name: KeyName = Field(description="A label for the key.", examples=["checkout server"])
    scopes: KeyScopes = Field(examples=[["orders:read", "orders:write", "esims:read"]])
    mode: KeyMode | None = Field(
        default=None, description="`live` or `test`; defaults to the mode of the calling key."
    )


class CreatedApiKey(ApiModel):
    """A key just created or rotated. `api_key` is shown this once: store it now."""

    api_key: str = Field(
        repr=False,
        description="The full key, for `Authorization: Bearer …`. It is never shown again.",
        examples=["esk_live_…"],
    )
    key: ApiKeyView
    replaces: ApiKeyView | None = Field(
        default=None, description="After a rotation: the old key and when it stops working."
    )


Problem.model_rebuild()
