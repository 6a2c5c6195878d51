"""The privacy service's pages: the record of processing as HTML, the retention overview, and
the policy in force as markdown or HTML."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import aiohttp
from policy_support import PolicyWorld

from accounts.inventory import INVENTORY as ACCOUNTS_INVENTORY
from contracts.privacy import DataCategory, InventoryAnnounced
from contracts.retention import RetentionSwept
from logs.inventory import INVENTORY as LOGS_INVENTORY
from privacy.recipients import PAYMENT_PROCESSOR, SAFEGUARDS, recipients_of
from provisioning.inventory import INVENTORY as PROVISIONING_INVENTORY
from servicekit.clock import utcnow
from support.waiting import eventually

INVENTORIES: dict[str, list[DataCategory]] = {
    "accounts": ACCOUNTS_INVENTORY,
    "provisioning": PROVISIONING_INVENTORY,
    "logs": LOGS_INVENTORY,
}


class Tables(HTMLParser):
    """The page's service sections: each section id and its table's rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[list[str]]] = {}
        self._section: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open sections, rows and cells."""
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
            self.sections[self._section] = []
        elif tag == "tr" and self._section is not None:
            self.sections[self._section].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        """Close cells into their row."""
        if tag in ("td", "th") and self._cell is not None and self._section is not None:
            self.sections[self._section][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        """Collect a cell's text."""
        if self._cell is not None:
            self._cell.append(data)


async def get(world: PolicyWorld, path: str, accept: str = "*/*") -> tuple[int, Any, str]:
    """GET a privacy-service path: status, headers and text."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(str(world.privacy.make_url(path)), headers={"Accept": accept}) as got,
    ):
        return got.status, got.headers, await got.text()


async def announce_all(world: PolicyWorld) -> None:
    """Announce the three data owners' inventories and wait until privacy registered them."""
    for service, categories in INVENTORIES.items():
        await world.publish(InventoryAnnounced(service=service, categories=categories))

    async def registered() -> bool:
        status, _headers, text = await get(world, "/record-of-processing")
        return status == 200 and all(f'"service": "{name}"' in text for name in INVENTORIES)

    await eventually(registered, timeout=10, what="every inventory registered")


async def test_record_of_processing_page_renders_every_registered_service(
    world: PolicyWorld,
) -> None:
    """One table per service; each category with purpose, basis, retention, recipients."""
    await announce_all(world)
    status, headers, text = await get(world, "/record-of-processing.html")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    parser = Tables()
    parser.feed(text)
    for service, categories in INVENTORIES.items():
        rows = parser.sections[f"service-{service}"]
        by_name = {row[0]: row for row in rows[1:]}
        assert set(by_name) == {category.name for category in categories}
        for category in categories:
            row = by_name[category.name]
            assert row[1:4] == [category.purpose, category.legal_basis.value, category.retention]
            assert row[5].split("\n") == list(recipients_of(category.name).recipients)
            assert row[6].split("\n") == list(SAFEGUARDS)
    billing = {row[0]: row for row in parser.sections["service-accounts"][1:]}["billing_profile"]
    assert PAYMENT_PROCESSOR in billing[5].split("\n")


async def test_retention_overview_shows_rules_and_each_services_latest_sweep(
    world: PolicyWorld,
) -> None:
    """/retention: the registry's rules per service and only the newest sweep's results."""
    await announce_all(world)
    now = utcnow()
    newer = RetentionSwept(service="accounts", swept_at=now, removed={"login_history": 7})
    older = RetentionSwept(
        service="accounts", swept_at=now - timedelta(hours=6), removed={"login_history": 99}
    )
    await world.publish(newer)

    async def overview() -> dict[str, Any]:
        status, _headers, text = await get(world, "/retention")
        assert status == 200
        body: dict[str, Any] = json.loads(text)
        return {entry["service"]: entry for entry in body["services"]}

    async def newest_shown() -> dict[str, Any] | None:
        services = await overview()
        sweep = services.get("accounts", {}).get("latest_sweep")
        return services if sweep else None

    services = await eventually(newest_shown, timeout=10, what="the sweep shown")
    late = await world.publish(older)
    await eventually(lambda: world.privacy_handled(late), timeout=10, what="late sweep handled")
    services = await overview()
    assert services["accounts"]["latest_sweep"]["removed"] == {"login_history": 7}
    assert set(services) == set(INVENTORIES)
    rules = {rule["name"]: rule for rule in services["accounts"]["rules"]}
    assert set(rules) == {category.name for category in ACCOUNTS_INVENTORY}
    for category in ACCOUNTS_INVENTORY:
        assert rules[category.name]["retention"] == category.retention
        assert rules[category.name]["retention_days"] == category.retention_days
    assert services["logs"]["latest_sweep"] is None


async def test_privacy_policy_page_serves_markdown_or_html_with_its_date(
    world: PolicyWorld,
) -> None:
    """/privacy-policy: the text in force as markdown, or as HTML when asked, with its date."""
    status, headers, markdown = await get(world, "/privacy-policy")
    assert status == 200
    assert headers["Content-Type"].startswith("text/markdown")
    assert headers["Last-Updated"] == "2026-02-01"
    assert "Last updated: February 2026" in markdown
    status, headers, html = await get(world, "/privacy-policy", accept="text/html")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert html.startswith("<!doctype html>")
    assert "<p>Privacy Policy</p>" in html
    assert "last updated February 2026" in html
