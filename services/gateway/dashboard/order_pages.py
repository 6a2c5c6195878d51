"""Orders: a paged list, newest first, and one order with its eSIMs (asked of provisioning
as the signed-in user, with the queries the API's order routes use)."""

from __future__ import annotations

from aiohttp import web

from contracts.orders import EsimPage, GetOrder, ListEsims, ListOrders, OrderPage, OrderView
from gateway.dashboard import order_form
from gateway.dashboard.lookups import PAGE_SIZE, ask, built, cursor_of
from gateway.dashboard.rendering import partner_of, render, viewer_of

TO = "provisioning"


async def list_orders(request: web.Request) -> web.StreamResponse:
    """A page of the partner's orders: status, package, price, created."""
    viewer = viewer_of(request)
    query = built(
        lambda: ListOrders(
            actor=viewer.actor,
            partner_id=partner_of(viewer),
            limit=PAGE_SIZE,
            cursor=cursor_of(request),
        ),
        "page of orders",
    )
    page = await ask(request, query, OrderPage, TO)
    return render(request, "orders.html", {"page": page})


async def show_order(request: web.Request) -> web.StreamResponse:
    """One order, its steps and its eSIMs."""
    viewer = viewer_of(request)
    partner_id = partner_of(viewer)
    order_id = request.match_info["order_id"]
    query = built(
        lambda: GetOrder(actor=viewer.actor, partner_id=partner_id, order_id=order_id), "order"
    )
    order = await ask(request, query, OrderView, TO)
    esims = await ask(
        request,
        ListEsims(actor=viewer.actor, partner_id=partner_id, order_id=order.id, limit=200),
        EsimPage,
        TO,
    )
    return render(request, "order.html", {"order": order, "esims": esims.data})


def add_routes(routes: web.UrlDispatcher) -> None:
    """The order pages' routes (the form's before `{order_id}`, which would match `new`)."""
    routes.add_get("/orders", list_orders)
    routes.add_get("/orders/new", order_form.new_order)
    routes.add_post("/orders/new", order_form.place_order)
    routes.add_get("/orders/{order_id}", show_order)
