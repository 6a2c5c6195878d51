"""Placing an order from the dashboard: the form, and its answer.

The order is placed with provisioning's `CreateOrder`, as the signed-in user, exactly as the
API places one. Each render of the form carries a new idempotency key in a hidden field, so
a double submit places one order (the second submit answers the first order). Who may order
is accounts' answer (`role_access`): a viewer may not.

Before placing, the form checks what it can so that bad input leaves nothing behind: the
package is in the catalogue, the quantity is 1 to 50, the reference is valid. As through the
API, a balance too small fails the order without taking anything, on the order's page.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, replace

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from contracts.accounts import Scope
from contracts.catalogue import ListPackages, Package, PackagePage
from contracts.orders import MAX_QUANTITY, CreateOrder, EndUser, IdempotencyKey, OrderView
from gateway.dashboard import csrf
from gateway.dashboard.forms import Form, text
from gateway.dashboard.lookups import ask
from gateway.dashboard.rendering import partner_of, redirect, render, viewer_of
from gateway.dashboard.role_access import require_scope
from gateway.dashboard.state import Viewer
from servicekit.errors import RemoteCallError

ORDERS_PATH = "/dashboard/orders"
CATALOGUE_PAGES = 10
"""At most this many pages of 200 packages are offered (the demo catalogue fills two)."""
RETRIES = 8
RETRY_PAUSE = 0.25
"""How long a double submit waits for the first submit's order to finish (2 s at most)
before it shows the list of orders, where that order is, still pending."""
REFUSALS = {
    "unknown_package": "Choose a package from the list.",
    "package_unavailable": "This package is no longer for sale: choose another.",
    "insufficient_funds": "Your balance does not cover this order.",
    "idempotency_conflict": "This form was already used for another order: check it again.",
}
"""Provisioning's refusals shown on the form (nothing was placed); others are error pages."""
_KEY = TypeAdapter(IdempotencyKey)
WHAT = "place orders"


@dataclass(frozen=True)
class OrderForm:
    """What the form shows: the choices, what was entered, and the key of this render."""

    key: str
    package_id: str = ""
    quantity: str = "1"
    reference: str = ""


class FormError(Exception):
    """Input the form refuses; shown on the form, nothing placed (`new_key`: the form's key
    was already used for another order, so the form comes back with a new one)."""

    def __init__(self, message: str, *, new_key: bool = False) -> None:
        super().__init__(message)
        self.new_key = new_key


class StillRunning(Exception):
    """The order of this form's key is stored and still running (a double submit)."""


async def new_order(request: web.Request) -> web.StreamResponse:
    """The order form, with a new idempotency key."""
    viewer = viewer_of(request)
    partner_of(viewer)
    require_scope(viewer, Scope.ORDERS_WRITE, WHAT)
    entered = OrderForm(key=_new_key())
    return _form_page(request, entered, await _catalogue(request), error=None, status=200)


async def place_order(request: web.Request) -> web.StreamResponse:
    """Place the order; 303 to it, or the form again with the error."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    partner_of(viewer)
    require_scope(viewer, Scope.ORDERS_WRITE, WHAT)
    entered = _entered(form)
    packages = await _catalogue(request)
    try:
        order_id = await _place(request, viewer, entered, packages)
    except FormError as error:
        if error.new_key:
            entered = replace(entered, key=_new_key())
        return _form_page(request, entered, packages, error=str(error), status=422)
    except StillRunning:
        return redirect(ORDERS_PATH)
    return redirect(f"{ORDERS_PATH}/{order_id}")


async def _place(
    request: web.Request, viewer: Viewer, entered: OrderForm, packages: list[Package]
) -> str:
    """Checks, then provisioning's order: its id; FormError when refused."""
    package = next((p for p in packages if p.id == entered.package_id), None)
    if package is None:
        raise FormError(REFUSALS["unknown_package"])
    quantity = _quantity(entered.quantity)
    query = _order_query(viewer, entered, quantity)
    for _attempt in range(RETRIES):
        try:
            order = await ask(request, query, OrderView, "provisioning")
        except RemoteCallError as error:
            if error.code in REFUSALS:
                conflict = error.code == "idempotency_conflict"
                raise FormError(REFUSALS[error.code], new_key=conflict) from None
            if error.code != "idempotency_in_progress":
                raise
            await asyncio.sleep(RETRY_PAUSE)  # the first submit's order is still running
            continue
        return order.id
    raise StillRunning


def _order_query(viewer: Viewer, entered: OrderForm, quantity: int) -> CreateOrder:
    try:
        end_user = EndUser(reference=entered.reference) if entered.reference else None
    except ValidationError:
        raise FormError("The end-user reference is up to 128 printable characters.") from None
    return CreateOrder(
        actor=viewer.actor,
        partner_id=partner_of(viewer),
        idempotency_key=entered.key,
        package_id=entered.package_id,
        quantity=quantity,
        end_user=end_user,
    )


def _quantity(entered: str) -> int:
    value = entered.strip()
    if value.isascii() and value.isdigit() and len(value) <= 3 and 1 <= int(value) <= MAX_QUANTITY:
        return int(value)
    raise FormError(f"The quantity is a whole number from 1 to {MAX_QUANTITY}.")


async def _catalogue(request: web.Request) -> list[Package]:
    """The packages for sale, in id order (the same query as the API's catalogue)."""
    packages: list[Package] = []
    cursor: str | None = None
    for _page in range(CATALOGUE_PAGES):
        page = await ask(
            request, ListPackages(limit=200, cursor=cursor), PackagePage, "provisioning"
        )
        packages.extend(page.data)
        cursor = page.next_cursor
        if cursor is None:
            break
    return packages


def _entered(form: Form) -> OrderForm:
    """The submitted values; a missing or malformed key gets a new one (a new order)."""
    key = text(form, "idempotency_key")
    try:
        key = _KEY.validate_python(key)
    except ValidationError:
        key = _new_key()
    return OrderForm(
        key=key,
        package_id=text(form, "package_id"),
        quantity=text(form, "quantity", "1"),
        reference=text(form, "reference").strip(),
    )


def _new_key() -> str:
    return "dash-" + secrets.token_urlsafe(24)


def _form_page(
    request: web.Request,
    entered: OrderForm,
    packages: list[Package],
    error: str | None,
    status: int,
) -> web.Response:
    context = {
        "form": entered,
        "packages": packages,
        "max_quantity": MAX_QUANTITY,
        "error": error,
    }
    return render(request, "order_new.html", context, status)
