"""The balance and the ledger: the available balance and a paged list of the partner's
ledger entries, oldest first (accounts' `GetBalance` and `ListTransactions`, as the API asks)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from contracts.ledger import BalanceView, GetBalance, ListTransactions, TransactionPage
from gateway.dashboard.lookups import PAGE_SIZE, ask, built, cursor_of
from gateway.dashboard.rendering import partner_of, render, viewer_of
from servicekit.clock import utcnow

TO = "accounts"
FIRST_ENTRY = datetime(1970, 1, 1, tzinfo=UTC)
"""The start of the listed period: every entry, as the API's default."""


async def balance(request: web.Request) -> web.StreamResponse:
    """The available balance and a page of ledger entries."""
    viewer = viewer_of(request)
    partner_id = partner_of(viewer)
    entries = built(
        lambda: ListTransactions(
            actor=viewer.actor,
            partner_id=partner_id,
            period_from=FIRST_ENTRY,
            period_to=utcnow(),
            cursor=cursor_of(request),
            limit=PAGE_SIZE,
        ),
        "page of transactions",
    )
    available = await ask(
        request, GetBalance(actor=viewer.actor, partner_id=partner_id), BalanceView, TO
    )
    page = await ask(request, entries, TransactionPage, TO)
    return render(request, "balance.html", {"balance": available, "page": page})


def add_routes(routes: web.UrlDispatcher) -> None:
    """The balance page's route."""
    routes.add_get("/balance", balance)
