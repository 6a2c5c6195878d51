"""Privacy contracts: subjects, inventories, the per-service privacy commands and their results."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    IPvAnyAddress,
    model_validator,
)

from contracts.base import Command, Contract, Event, Query, Reply


def _ip_text(value: Any) -> Any:
    """An IP address as text (or an address object) only: pydantic's IP types take a number,
    even `false`, for an address, in strict mode too."""
    if not isinstance(value, str | IPv4Address | IPv6Address):
        raise ValueError("an IP address is written as text, e.g. 203.0.113.7")
    return value


IpAddress = Annotated[IPvAnyAddress, BeforeValidator(_ip_text)]
"""An IPv4 or IPv6 address, given as text."""


def _not_blank(value: str) -> str:
    """Services index an identifier stripped of surrounding whitespace (str.strip), so one
    that is nothing else identifies nobody."""
    if not value.strip():
        raise ValueError("an identifier is more than whitespace")
    return value


# The pattern states the rule in the JSON schema; the validator applies it exactly as the
# services strip (str.strip also removes characters that `\S` counts as text, e.g. "\x1c").
IdentifierText = Annotated[str, Field(pattern=r"\S"), AfterValidator(_not_blank)]
"""A free-form identifier: at least one character besides whitespace."""

FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""The name of a personal field a rectification corrects, e.g. `email` or `end_user_ref`:
lower-case letters, digits and `_`. A request keeps its changes as a document with these keys,
and a store refuses or misreads a key that is empty, holds a `.` or starts with `$`."""

MAX_CHANGES = 32
Changes = Annotated[
    dict[FieldName, Annotated[str, Field(max_length=4096)]],
    Field(max_length=MAX_CHANGES, json_schema_extra={"additionalProperties": False}),
]
"""Field name to corrected value (a postal address as its JSON)."""

IdentifierKind = Literal["partner_id", "user_id", "email", "phone", "end_user_ref", "iccid", "ip"]
"""The kinds of identifier a subject can be found by."""


class SubjectRef(Contract):
    """Identifies a data subject by one or more identifiers; services look up each they index."""

    partner_id: IdentifierText | None = Field(
        default=None, max_length=64, examples=["ptn_01hx3y..."]
    )
    user_id: IdentifierText | None = Field(default=None, max_length=64)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    end_user_ref: IdentifierText | None = Field(default=None, max_length=128)
    iccid: str | None = Field(default=None, pattern=r"^89[0-9]{16,18}$")
    ip: IpAddress | None = None

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
    identifiers: list[IdentifierKind] | None = Field(
        default=None,
        description="The kinds of subject identifier the service can find data by; a request"
        " reaches the service only when its subject has one of them. Absent: every kind.",
        examples=[["partner_id", "email", "ip"]],
    )


class InventoryRequested(Event):
    """The privacy service asks every data-owning service to announce its inventory again."""

    TYPE: ClassVar[str] = "privacy.inventory_requested.v1"


class _SubjectCommand(Command):
    request_id: str = Field(description="The data-subject request this task belongs to.")
    task_id: str = Field(description="This service's task of that request; the result's key.")
    subject: SubjectRef
    scope_partner_id: str | None = Field(
        default=None,
        max_length=64,
        description="Set when a partner asked: only data that partner controls is touched (its"
        " end users, its people); the same identifier under another partner is left alone."
        " Absent for requests from ops or from a person about themselves.",
    )


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

    changes: Changes = Field(min_length=1, description="Field name to corrected value.")


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
    export_parts: int | None = Field(
        default=None,
        ge=1,
        description="How many `privacy.export_part.v1` parts carry the export (sent before this"
        " result) when it travels in parts rather than in `export`.",
    )
    export_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the export's canonical JSON when it travels in parts.",
    )
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
    RESTRICTION_LIFT = "restriction_lift"
    PORTABILITY = "portability"
    OBJECTION = "objection"


class RequestChannel(StrEnum):
    """Who opened a request, which decides how identity is established and how far it reaches."""

    PARTNER = "partner"
    """A partner for one of its end users or people: the partner attests the identity, and the
    request reaches only data that partner controls."""
    SELF = "self"
    """A dashboard user about themselves: verified by a code emailed to them; may reach
    across partners."""
    OPS = "ops"
    """Ops or the privacy officer, from the ops dashboard or the command line."""


class RequestStatus(StrEnum):
    """Lifecycle of a data-subject request."""

    RECEIVED = "received"
    IDENTITY_UNVERIFIED = "identity_unverified"
    VERIFIED = "verified"
    AWAITING_APPROVAL = "awaiting_approval"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    COMPLETED_WITH_EXCEPTIONS = "completed_with_exceptions"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset(
    {
        RequestStatus.COMPLETED,
        RequestStatus.COMPLETED_WITH_EXCEPTIONS,
        RequestStatus.FAILED,
        RequestStatus.REJECTED,
        RequestStatus.CANCELLED,
    }
)
OPEN_STATUSES = frozenset(set(RequestStatus) - FINAL_STATUSES)


class TaskStatus(StrEnum):
    """One service's part of a request."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def check_changes(request_type: RequestType, changes: dict[str, str] | None) -> None:
    """A rectification carries the corrected values; no other request type does."""
    if request_type is RequestType.RECTIFICATION and not changes:
        raise ValueError("a rectification request needs `changes`: field name to corrected value")
    if request_type is not RequestType.RECTIFICATION and changes is not None:
        raise ValueError("only a rectification request takes `changes`")


class SubmitPrivacyRequest(Query):
    """Open a data-subject request (request/reply from the gateway, the dashboards or the CLI)."""

    TYPE: ClassVar[str] = "privacy.submit_request.v1"

    channel: RequestChannel = RequestChannel.PARTNER
    partner_id: str | None = Field(
        default=None,
        max_length=64,
        description="The partner that asks (partner channel), or the partner of the dashboard"
        " user who asks about themselves (self channel).",
    )
    requested_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Who asked: the dashboard user's id, or the name of the ops person.",
    )
    type: RequestType
    subject: SubjectRef
    changes: Changes | None = None

    @model_validator(mode="after")
    def _fits_the_channel(self) -> SubmitPrivacyRequest:
        check_changes(self.type, self.changes)
        if self.channel is RequestChannel.PARTNER and self.partner_id is None:
            raise ValueError("a partner's request names the partner (`partner_id`)")
        if self.channel is RequestChannel.SELF and self.subject.email is None:
            raise ValueError("a request about oneself needs the email the code is sent to")
        if self.channel is not RequestChannel.PARTNER and self.requested_by is None:
            raise ValueError("a request from ops or a dashboard user says who asked")
        return self

    @property
    def scope_partner_id(self) -> str | None:
        """The partner whose data alone the request reaches (partner channel only)."""
        return self.partner_id if self.channel is RequestChannel.PARTNER else None


class _RequestQuery(Query):
    request_id: str = Field(max_length=64)
    partner_id: str | None = Field(
        default=None,
        max_length=64,
        description="Set when a partner asks: another partner's request is not found. Absent"
        " for ops, who see every request.",
    )


USER_VIEW_DESCRIPTION = (
    "With `partner_id`: what this dashboard user of the partner may see: the partner's"
    " requests for its end users and the user's own requests about themselves, never a"
    " colleague's requests about themselves. Absent: every request of the partner."
)


class GetPrivacyRequest(_RequestQuery):
    """Fetch one data-subject request."""

    TYPE: ClassVar[str] = "privacy.get_request.v1"

    for_user_id: str | None = Field(
        default=None, max_length=64, description=USER_VIEW_DESCRIPTION, examples=["usr_01hx3y"]
    )
    channel: RequestChannel | None = Field(
        default=None,
        description="Only a request opened through this channel is found (an API key sees"
        " the partner's requests for its end users, not its people's requests about"
        " themselves).",
    )

    @model_validator(mode="after")
    def _user_of_a_partner(self) -> GetPrivacyRequest:
        if self.for_user_id is not None and self.partner_id is None:
            raise ValueError("`for_user_id` is a view of one partner's requests: name the partner")
        return self


class ListPrivacyRequests(Query):
    """List data-subject requests, newest first, one page at a time."""

    TYPE: ClassVar[str] = "privacy.list_requests.v1"

    partner_id: str | None = Field(
        default=None, max_length=64, description="A partner's own requests; absent: all (ops)."
    )
    statuses: list[RequestStatus] | None = Field(default=None, description="Only these states.")
    due_before: datetime | None = Field(
        default=None, description="Only requests due before this time (overdue, due soon)."
    )
    for_user_id: str | None = Field(
        default=None, max_length=64, description=USER_VIEW_DESCRIPTION, examples=["usr_01hx3y"]
    )
    channels: list[RequestChannel] | None = Field(
        default=None,
        min_length=1,
        description="Only requests opened through these channels.",
        examples=[["self"]],
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None

    @model_validator(mode="after")
    def _user_of_a_partner(self) -> ListPrivacyRequests:
        if self.for_user_id is not None and self.partner_id is None:
            raise ValueError("`for_user_id` is a view of one partner's requests: name the partner")
        return self


class VerifyPrivacyRequest(_RequestQuery):
    """Confirm the identity of a person asking about themselves with the emailed code."""

    TYPE: ClassVar[str] = "privacy.verify_request.v1"

    code: str = Field(pattern=r"^[0-9]{6}$", description="The six-digit code from the email.")


class ResendVerificationCode(_RequestQuery):
    """Email a new code (the old one stops working)."""

    TYPE: ClassVar[str] = "privacy.resend_verification_code.v1"


class _OpsDecision(_RequestQuery):
    by: str = Field(min_length=1, max_length=128, description="Who decides (recorded).")


class ApprovePrivacyRequest(_OpsDecision):
    """Approve a request that awaits approval: its fan-out starts."""

    TYPE: ClassVar[str] = "privacy.approve_request.v1"


class RejectPrivacyRequest(_OpsDecision):
    """Refuse a request that has not started (recorded with the reason)."""

    TYPE: ClassVar[str] = "privacy.reject_request.v1"

    reason: str = Field(min_length=3, max_length=500)


class CancelPrivacyRequest(_OpsDecision):
    """Withdraw an open request; tasks still out are no longer retried."""

    TYPE: ClassVar[str] = "privacy.cancel_request.v1"

    reason: str = Field(min_length=3, max_length=500)


class ExtendPrivacyDeadline(_OpsDecision):
    """Extend the one-month deadline by up to two further months in all, with a reason."""

    TYPE: ClassVar[str] = "privacy.extend_deadline.v1"

    months: int = Field(ge=1, le=2)
    reason: str = Field(min_length=3, max_length=500)


class RerunPrivacyTask(_OpsDecision):
    """Run one service's task of a request again (a failed one, or one still waiting)."""

    TYPE: ClassVar[str] = "privacy.rerun_task.v1"

    service: str = Field(min_length=1, max_length=64)


class PrivacyTaskView(Contract):
    """One service's part of a data-subject request."""

    service: str
    task_id: str
    action: PrivacyAction
    status: TaskStatus
    attempts: int = Field(ge=0, description="How many times the command was sent (this run).")
    run: int = Field(ge=1, description="1, and one more each time the task was re-run.")
    last_error: str | None = None
    next_attempt_at: datetime | None = Field(
        default=None, description="When the command is sent again if no answer came."
    )
    outcomes: list[CategoryOutcome] = Field(default_factory=list)
    error: str | None = None
    completed_at: datetime | None = None


class DeadlineExtension(Contract):
    """One extension of a request's deadline."""

    months: int = Field(ge=1, le=2)
    extended_months: int = Field(
        default=0, ge=0, le=2, description="The months extended in all, this one included."
    )
    reason: str
    by: str
    at: datetime


class PrivacyRequestView(Reply):
    """A data-subject request: its state, deadline and per-service tasks."""

    TYPE: ClassVar[str] = "privacy.request.v1"

    id: str
    type: RequestType
    channel: RequestChannel
    status: RequestStatus
    status_reason: str | None = Field(
        default=None, description="Why a request was rejected, cancelled or is waiting."
    )
    created_at: datetime
    due_at: datetime = Field(description="One month from receipt, plus any extension.")
    extensions: list[DeadlineExtension] = Field(default_factory=list)
    completed_at: datetime | None = None
    tasks: list[PrivacyTaskView]


class PrivacyRequestClosed(Event):
    """A data-subject request reached a final state (completed, with exceptions, failed)."""

    TYPE: ClassVar[str] = "privacy.request_closed.v1"

    request_id: str
    type: RequestType
    partner_id: str | None = None
    status: RequestStatus
    closed_at: datetime


class PrivacyRequestPage(Reply):
    """A page of data-subject requests."""

    TYPE: ClassVar[str] = "privacy.request_page.v1"

    data: list[PrivacyRequestView]
    next_cursor: str | None = None
