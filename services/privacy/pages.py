"""The privacy service's pages: the policy in force, the record of processing, retention.

GET /privacy-policy               markdown, or HTML when the client accepts text/html
GET /record-of-processing.html    per service: categories, purposes, legal basis,
                                  retention, recipients, transfer safeguards
GET /retention                    every service's retention rules and its latest sweep
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from aiohttp import web
from markdown_it import MarkdownIt

from privacy import policy_store, store
from privacy.recipients import recipients_of
from privacy.retention_overview import retention_overview
from privacy.store import Db
from servicekit.clock import utcnow

PAGES_DB: web.AppKey[Db] = web.AppKey("privacy_pages_db")
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%;margin-bottom:2rem}"
    "th,td{border:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}"
)


def html_page(title: str, body: str) -> web.Response:
    """A complete HTML document (everything interpolated is escaped by the caller)."""
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        # An empty icon: without one, browsers ask for /favicon.ico, which is not served.
        f'</title><link rel="icon" href="data:,"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )
    return web.Response(text=document, content_type="text/html", charset="utf-8")


async def privacy_policy(request: web.Request) -> web.Response:
    """The policy in force, with its "Last updated" date in a header."""
    document = await policy_store.current_version(request.app[PAGES_DB], utcnow())
    if document is None:
        raise web.HTTPNotFound(text="no policy version is in force")
    version = policy_store.version_view(document)
    headers = {
        "Last-Updated": version.last_updated.isoformat(),
        "Policy-Version": str(version.version),
    }
    if "text/html" in request.headers.get("Accept", ""):
        rendered = MarkdownIt("commonmark", {"html": False}).render(version.text)
        footer = (
            f"<p><small>Version {version.version}, last updated"
            f" {version.last_updated:%B %Y}</small></p>"
        )
        response = html_page("Privacy Policy", rendered + footer)
    else:
        response = web.Response(text=version.text, content_type="text/markdown", charset="utf-8")
    response.headers.update(headers)
    return response


def cell(values: Any) -> str:
    """One table cell: a list becomes lines."""
    if isinstance(values, list | tuple):
        return "<td>" + "<br>".join(escape(str(value)) for value in values) + "</td>"
    return f"<td>{escape(str(values))}</td>"


def category_row(category: Mapping[str, Any]) -> str:
    """One category of a service's inventory with its recipients and safeguards."""
    shared = recipients_of(category["name"])
    cells = [
        category["name"],
        category["purpose"],
        category["legal_basis"],
        category["retention"],
        category["fields"],
        list(shared.recipients),
        list(shared.safeguards),
    ]
    return "<tr>" + "".join(cell(value) for value in cells) + "</tr>"


HEADINGS = ("Category", "Purpose", "Legal basis", "Retention", "Fields", "Recipients", "Safeguards")


async def record_of_processing_page(request: web.Request) -> web.Response:
    """The record of processing (GDPR Art. 30) as a page, one table per service."""
    sections = []
    for entry in await store.record_of_processing(request.app[PAGES_DB]):
        head = "".join(f"<th>{heading}</th>" for heading in HEADINGS)
        rows = "".join(category_row(c) for c in entry["announcement"]["categories"])
        sections.append(
            f'<section id="service-{escape(entry["_id"])}"><h2>{escape(entry["_id"])}</h2>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>"
        )
    return html_page("Record of processing", "<h1>Record of processing</h1>" + "".join(sections))


async def retention_overview_page(request: web.Request) -> web.Response:
    """Every service's retention rules (from the registry) and its latest sweep, as JSON."""
    overview = await retention_overview(request.app[PAGES_DB])
    return web.json_response(overview.model_dump(mode="json"))


def add_routes(app: web.Application, db: Db) -> None:
    """Mount the pages."""
    app[PAGES_DB] = db
    app.router.add_get("/privacy-policy", privacy_policy)
    app.router.add_get("/record-of-processing.html", record_of_processing_page)
    app.router.add_get("/retention", retention_overview_page)
