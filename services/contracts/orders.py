"""Order contracts: buying eSIMs and top-ups, reading them, and the events of their outcome.

An order and a top-up go through the same steps: the price is debited from the partner's
balance (accounts), the provider allocates the profiles (or adds the package to one), and a
failure after the debit returns the funds. Events carry ids, amounts and ICCIDs only: never
the end user's email or reference, never an activation code.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, EmailStr, Field, StringConstraints

from contracts.accounts import Actor
from contracts.base import Contract, Event, Query, Reply
from contracts.catalogue import CountryCode, PackageId
from contracts.money import Money, PositiveMoney
from contracts.provider import ICCID_PATTERN

MAX_QUANTITY = 50
"""The most eSIMs one order may buy."""

IdempotencyKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
    Field(
        description="The client's unique key of this request (printable ASCII, no spaces).",
        examples=["8e0c2a1b-5f7d-4c1e-9a0b-3d2e1f4c5b6a"],
    ),
]
Iccid = Annotated[
    str,
    Field(pattern=ICCID_PATTERN, description="An eSIM's ICCID.", examples=["8949000000000000017"]),
]
OrderRef = Annotated[str, Field(pattern=r"^ord_[A-Za-z0-9]{1,60}$", examples=["ord_01jb3k5x2v"])]
TopupRef = Annotated[str, Field(pattern=r"^top_[A-Za-z0-9]{1,60}$", examples=["top_01jb3k5x2v"])]
EndUserReference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"),
    Field(description="The partner's own reference of its end user.", examples=["cust-4711"]),
]


class PurchaseStatus(StrEnum):
    """Where an order or a top-up stands: `pending` until it completed or failed."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class PurchaseStep(StrEnum):
    """The recorded steps of an order or a top-up."""

    CREATED = "created"
    FUNDS_RESERVED = "funds_reserved"
    FUNDS_REFUSED = "funds_refused"
    PROVIDER_DONE = "provider_done"
    PROVIDER_FAILED = "provider_failed"
    FUNDS_RETURNED = "funds_returned"
    COMPLETED = "completed"
    FAILED = "failed"


class FailureReason(StrEnum):
    """Why an order or a top-up failed (machine-readable)."""

    INSUFFICIENT_FUNDS = "insufficient_funds"
    PAYMENT_REFUSED = "payment_refused"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER_TIMEOUT = "provider_timeout"
    PROVIDER_REJECTED = "provider_rejected"


class Transition(Contract):
    """One step of an order or a top-up, and when it happened."""

    step: PurchaseStep
    at: datetime


class Failure(Contract):
    """Why it failed, and whether the funds came back."""

    reason: FailureReason
    message: str
    funds_returned: bool = Field(description="True when a debit was made and refunded.")


class EndUser(Contract):
    """What the partner told us about its end user (only what delivery needs)."""

    email: EmailStr | None = None
    reference: EndUserReference | None = None


class CreateOrder(Query):
    """Buy `quantity` eSIMs of a package; answered by `provisioning.order.v1` at once (status
    `pending`), or an error when the request is refused before anything is written."""

    TYPE: ClassVar[str] = "provisioning.create_order.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    idempotency_key: IdempotencyKey
    package_id: PackageId
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    end_user: EndUser | None = None
    max_total_price: PositiveMoney | None = Field(
        default=None, description="Refuse the order if its total would be more than this."
    )


class OrderView(Reply):
    """An order as its partner sees it."""

    TYPE: ClassVar[str] = "provisioning.order.v1"

    id: OrderRef
    status: PurchaseStatus
    package_id: PackageId
    quantity: int
    unit_price: Money
    total: Money
    iccids: list[Iccid] = Field(description="The eSIMs of a completed order.")
    end_user: EndUser | None = Field(
        default=None, description="Absent when none was given or it was erased."
    )
    failure: Failure | None = None
    transitions: list[Transition]
    created_at: datetime
    updated_at: datetime


class GetOrder(Query):
    """One of the partner's orders; answered by `provisioning.order.v1`."""

    TYPE: ClassVar[str] = "provisioning.get_order.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    order_id: str = Field(max_length=64)


class ListOrders(Query):
    """The partner's orders, newest first, filtered by status and creation time
    `[created_from, created_to)`; answered by `provisioning.order_page.v1`."""

    TYPE: ClassVar[str] = "provisioning.list_orders.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    status: PurchaseStatus | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: OrderRef | None = Field(default=None, description="`next_cursor` of the last page.")


class OrderPage(Reply):
    """A page of orders, and the cursor of the next (absent on the last)."""

    TYPE: ClassVar[str] = "provisioning.order_page.v1"

    data: list[OrderView]
    next_cursor: OrderRef | None = None


class CreateTopup(Query):
    """Add a package to one of the partner's eSIMs, paid like an order; answered by
    `provisioning.topup.v1` at once (status `pending`)."""

    TYPE: ClassVar[str] = "provisioning.create_topup.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    idempotency_key: IdempotencyKey
    iccid: Iccid
    package_id: PackageId
    max_total_price: PositiveMoney | None = None


class TopupView(Reply):
    """A top-up as its partner sees it."""

    TYPE: ClassVar[str] = "provisioning.topup.v1"

    id: TopupRef
    status: PurchaseStatus
    iccid: Iccid
    package_id: PackageId
    total: Money
    failure: Failure | None = None
    transitions: list[Transition]
    created_at: datetime
    updated_at: datetime


class GetTopup(Query):
    """One of the partner's top-ups; answered by `provisioning.topup.v1`."""

    TYPE: ClassVar[str] = "provisioning.get_topup.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    topup_id: str = Field(max_length=64)


class ListTopups(Query):
    """The top-ups of one of the partner's eSIMs, newest first; `provisioning.topup_page.v1`."""

    TYPE: ClassVar[str] = "provisioning.list_topups.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    iccid: Iccid


class TopupPage(Reply):
    """The top-ups of an eSIM."""

    TYPE: ClassVar[str] = "provisioning.topup_page.v1"

    data: list[TopupView]


class OrderCompleted(Event):
    """An order's eSIMs were allocated and paid for."""

    TYPE: ClassVar[str] = "provisioning.order_completed.v1"

    order_id: OrderRef
    partner_id: str
    package_id: PackageId
    iccids: list[Iccid]
    total: Money
    completed_at: datetime
    countries: list[CountryCode] | None = Field(
        default=None,
        description="Where the package works (ISO 3166-1 alpha-2), for usage analytics.",
        examples=[["DE", "AT"]],
    )


class OrderFailed(Event):
    """An order failed; any debit was returned first."""

    TYPE: ClassVar[str] = "provisioning.order_failed.v1"

    order_id: OrderRef
    partner_id: str
    reason: FailureReason
    failed_at: datetime


class TopupCompleted(Event):
    """A top-up was added to an eSIM and paid for."""

    TYPE: ClassVar[str] = "provisioning.topup_completed.v1"

    topup_id: TopupRef
    partner_id: str
    iccid: Iccid
    package_id: PackageId
    total: Money
    completed_at: datetime


class TopupFailed(Event):
    """A top-up failed; any debit was returned first."""

    TYPE: ClassVar[str] = "provisioning.topup_failed.v1"

    topup_id: TopupRef
    partner_id: str
    iccid: Iccid
    reason: FailureReason
    failed_at: datetime


class EsimStatus(StrEnum):
    """An eSIM profile's life: released for download, then installed, enabled or disabled on
    a device, until its validity ends."""

    RELEASED = "released"
    INSTALLED = "installed"
    ENABLED = "enabled"
    DISABLED = "disabled"
    EXPIRED = "expired"


class EsimUsage(Contract):
    """Data used and left, and when the validity ends (unknown until first installed)."""

    data_used_bytes: int = Field(ge=0)
    data_remaining_bytes: int | None = Field(
        default=None, ge=0, description="Null for unlimited packages."
    )
    data_total_bytes: int | None = Field(default=None, ge=0, description="Null for unlimited.")
    validity_ends_at: datetime | None = None


class EsimView(Reply):
    """An eSIM profile of the partner. The activation fields are credentials: present only in
    the answer to `provisioning.get_esim.v1`, to the owning partner."""

    TYPE: ClassVar[str] = "provisioning.esim.v1"

    iccid: Iccid
    order_id: OrderRef
    package_id: PackageId
    status: EsimStatus
    usage: EsimUsage
    smdp_address: str | None = None
    matching_id: str | None = None
    activation_code: str | None = Field(
        default=None, description="`LPA:1$<SM-DP+ address>$<matching id>`, what a device scans."
    )
    created_at: datetime
    installed_at: datetime | None = None


class GetEsim(Query):
    """One of the partner's eSIMs with its activation code; `provisioning.esim.v1`."""

    TYPE: ClassVar[str] = "provisioning.get_esim.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    iccid: str = Field(max_length=32)


class ListEsims(Query):
    """The partner's eSIMs, newest first, optionally of one order or status (without their
    activation codes); answered by `provisioning.esim_page.v1`."""

    TYPE: ClassVar[str] = "provisioning.list_esims.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    order_id: OrderRef | None = None
    status: EsimStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=64)


class EsimPage(Reply):
    """A page of eSIMs, and the cursor of the next."""

    TYPE: ClassVar[str] = "provisioning.esim_page.v1"

    data: list[EsimView]
    next_cursor: str | None = None
