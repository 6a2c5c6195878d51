"""Privacy contracts: subjects, inventories, the per-service privacy commands and their results."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import EmailStr, Field, IPvAnyAddress, model_validator

from contracts.base import Command, Contract, Event, Query, Reply


class SubjectRef(Contract):
    """Identifies a data subject by one or more identifiers; services look up each they index."""

    partner_id: str | None = Field(default=None, max_length=64, examples=["ptn_01hx3y..."])
    user_id: str | None = Field(default=None, max_length=64)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    end_user_ref: str | None = Field(default=None, min_length=1, max_length=128)
    iccid: str | None = Field(default=None, pattern=r"^89[0-9]{16,18}$")
    ip: IPvAnyAddress | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> SubjectRef:
        if not self.identifiers():
            raise ValueError("a subject needs at least one identifier")
        return self

    def identifiers(self) -> dict[str, str]:
        """The identifiers that are set, as strings (email lower-cased)."""
        values = self.model_dump(exclude_none=True)
        if "email" in values:
            values["email"] = str(values["email"]).lower()
        return {key: str(value) for key, value in values.items()}


class PrivacyAction(StrEnum):
    """What a data-subject request asks each service to do."""

    LOCATE = "locate"
    EXPORT = "export"
    ERASE = "erase"
    RESTRICT = "restrict"
    RECTIFY = "rectify"


class Disposition(StrEnum):
    """What happened to one category of a subject's data."""

    FOUND = "found"
    EXPORTED = "exported"
    DELETED = "deleted"
    PSEUDONYMISED = "pseudonymised"
    RETAINED = "retained"
    RESTRICTED = "restricted"
    UNRESTRICTED = "unrestricted"
    RECTIFIED = "rectified"
    NONE_HELD = "none_held"


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) bases for processing."""

    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGITIMATE_INTERESTS = "legitimate_interests"
    CONSENT = "consent"


class DataCategory(Contract):
    """One category of personal data a service holds: the record of processing for it."""

    name: str = Field(description="Stable category name.", examples=["contact_people"])
    description: str
    fields: list[str] = Field(description="Personal fields in this category.")
    purpose: str
    legal_basis: LegalBasis
    retention: str = Field(description="The retention rule in words.")
    retention_days: int | None = Field(default=None, ge=1)
    actions: list[PrivacyAction] = Field(description="The privacy actions that apply.")


class InventoryAnnounced(Event):
    """A service announces its personal-data inventory (at start-up and when asked)."""

    TYPE: ClassVar[str] = "privacy.inventory_announced.v1"

    service: str
    categories: list[DataCategory]
    receipt_public_key: str | None = Field(
        default=None,
        description="The service's Ed25519 public key for its signed receipts (base64, 32 bytes).",
        examples=["O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="],
    )
    receipt_key_id: str | None = Field(
        default=None,
        description="Id of that key: `ed25519:` and the first 16 hex digits of its SHA-256.",
        examples=["ed25519:2f1c9a0b7d3e4f56"],
    )


class InventoryRequested(Event):
    """The privacy service asks every data-owning service to announce its inventory again."""

    TYPE: ClassVar[str] = "privacy.inventory_requested.v1"


class _SubjectCommand(Command):
    request_id: str = Field(description="The data-subject request this task belongs to.")
    task_id: str = Field(description="This service's task of that request; the result's key.")
    subject: SubjectRef


class LocateSubject(_SubjectCommand):
    """Report which categories of the subject's data this service holds."""

    TYPE: ClassVar[str] = "privacy.locate_subject.v1"


class ExportSubject(_SubjectCommand):
    """Return everything this service holds about the subject, readable and decrypted."""

    TYPE: ClassVar[str] = "privacy.export_subject.v1"


class EraseSubject(_SubjectCommand):
    """Erase the subject's data, per category: delete, pseudonymise or retain by law."""

    TYPE: ClassVar[str] = "privacy.erase_subject.v1"


class RestrictSubject(_SubjectCommand):
    """Set or lift the restriction (or objection) flag for the subject."""

    TYPE: ClassVar[str] = "privacy.restrict_subject.v1"

    restricted: bool = True
    objection: bool = Field(default=False, description="An objection rather than a restriction.")


class RectifySubject(_SubjectCommand):
    """Replace inaccurate personal fields with the corrected values."""

    TYPE: ClassVar[str] = "privacy.rectify_subject.v1"

    changes: dict[str, str] = Field(min_length=1, description="Field name to corrected value.")


class CategoryOutcome(Contract):
    """What a service did with one category of the subject's data."""

    category: str
    records: int = Field(ge=0)
    disposition: Disposition
    legal_basis: LegalBasis | None = None
    retained_until: date | None = None
    note: str | None = None


class PrivacyTaskCompleted(Event):
    """A service's answer to one privacy command."""

    TYPE: ClassVar[str] = "privacy.task_completed.v1"

    request_id: str
    task_id: str
    service: str
    action: PrivacyAction
    succeeded: bool
    outcomes: list[CategoryOutcome] = Field(default_factory=list)
    export: dict[str, Any] | None = Field(default=None, description="Export data, if exporting.")
    error: str | None = None
    completed_at: datetime
    signature: str | None = Field(
        default=None,
        description="The service's Ed25519 signature (base64) of the canonical receipt: request"
        " and task id, service, action, success, outcomes, error, completion time and the"
        " export's SHA-256.",
    )
    key_id: str | None = Field(
        default=None,
        description="Id of the signing key, as announced with the service's inventory.",
        examples=["ed25519:2f1c9a0b7d3e4f56"],
    )


class RequestType(StrEnum):
    """The rights a data subject can exercise (privacy policy, section 7)."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"


class RequestStatus(StrEnum):
    """Lifecycle of a data-subject request."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


def check_changes(request_type: RequestType, changes: dict[str, str] | None) -> None:
    """A rectification carries the corrected values; no other request type does."""
    if request_type is RequestType.RECTIFICATION and not changes:
        raise ValueError("a rectification request needs `changes`: field name to corrected value")
    if request_type is not RequestType.RECTIFICATION and changes is not None:
        raise ValueError("only a rectification request takes `changes`")


class SubmitPrivacyRequest(Query):
    """Open a data-subject request on behalf of a partner (request/reply from the gateway)."""

    TYPE: ClassVar[str] = "privacy.submit_request.v1"

    partner_id: str
    type: RequestType
    subject: SubjectRef
    changes: dict[str, str] | None = None

    @model_validator(mode="after")
    def _changes_fit_the_type(self) -> SubmitPrivacyRequest:
        check_changes(self.type, self.changes)
        return self


class GetPrivacyRequest(Query):
    """Fetch one data-subject request of a partner."""

    TYPE: ClassVar[str] = "privacy.get_request.v1"

    partner_id: str
    request_id: str


class ListPrivacyRequests(Query):
    """List a partner's data-subject requests, newest first, one page at a time."""

    TYPE: ClassVar[str] = "privacy.list_requests.v1"

    partner_id: str
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class PrivacyTaskView(Contract):
    """One service's part of a data-subject request."""

    service: str
    action: PrivacyAction
    status: RequestStatus
    outcomes: list[CategoryOutcome] = Field(default_factory=list)
    error: str | None = None
    completed_at: datetime | None = None


class PrivacyRequestView(Reply):
    """A data-subject request as the partner sees it."""

    TYPE: ClassVar[str] = "privacy.request.v1"

    id: str
    type: RequestType
    status: RequestStatus
    created_at: datetime
    completed_at: datetime | None = None
    tasks: list[PrivacyTaskView]


class PrivacyRequestPage(Reply):
    """A page of data-subject requests."""

    TYPE: ClassVar[str] = "privacy.request_page.v1"

    data: list[PrivacyRequestView]
    next_cursor: str | None = None
