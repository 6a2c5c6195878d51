"""Export packages through the gateway: the link for a key with `privacy:read`, the download
for whoever holds the signed link (no API key), refusals as problem documents."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import aiohttp
from exports_support import OWNER, Gateway, stage_request, zip_entries

from gateway.catalogue_handlers import CatalogueHandlers
from gateway.export_handlers import download_openapi
from gateway.handlers import GatewayHandlers
from gateway.openapi import build_openapi
from gateway.order_handlers import OrderHandlers, OutcomeWaiter
from gateway.principals import PrincipalCache, Verifier
from gateway.routes import endpoints
from servicekit.bus import Bus
from servicekit.topology import Topology
from support.waiting import eventually


async def _completed_access_request(gateway: Gateway, email: str) -> str:
    """Open an access request through the API, wait until it completed, build its package."""
    async with gateway.api.post(
        "/v1/privacy/requests", json={"type": "access", "subject": {"email": email}}
    ) as response:
        assert response.status == 202, await response.text()
        request_id = str((await response.json())["id"])

    async def completed() -> bool:
        async with gateway.api.get(f"/v1/privacy/requests/{request_id}") as response:
            return bool((await response.json())["status"] == "completed")

    await eventually(completed, what=f"{request_id} completed")
    package = await gateway.world.settled(request_id)
    assert package["status"] == "ready", package.get("error")
    return request_id


async def test_the_link_downloads_the_zip_without_an_api_key(through_gateway: Gateway) -> None:
    """GET .../export answers a signed link; GET of the link with no API key streams the ZIP
    as an attachment that is never cached, matching the link's size and SHA-256, with every
    data owner's categories inside (accounts' small export came inside its result, alpha's in
    parts); the exports kept whole are dropped once packaged."""
    request_id = await _completed_access_request(through_gateway, "ida@example.com")
    async with through_gateway.api.get(f"/v1/privacy/requests/{request_id}/export") as response:
        assert response.status == 200, await response.text()
        assert response.headers["Cache-Control"] == "no-store"
        link = await response.json()
    assert link["url"].startswith("/v1/privacy/exports/")
    async with (
        aiohttp.ClientSession(base_url=through_gateway.base_url) as anonymous,
        anonymous.get(link["url"]) as download,
    ):
        assert download.status == 200
        assert download.headers["Content-Type"] == "application/zip"
        assert download.headers["Cache-Control"] == "no-store"
        assert download.headers["Content-Disposition"] == (
            f'attachment; filename="{request_id}-export.zip"'
        )
        data = await download.read()
    assert len(data) == link["size"]
    assert hashlib.sha256(data).hexdigest() == link["sha256"]
    entries = zip_entries(data)
    assert {"manifest.json", "SUMMARY.txt", f"{OWNER}/notes.json", f"{OWNER}/notes.csv"} <= set(
        entries
    )
    manifest = json.loads(entries["manifest.json"])
    assert {s["service"] for s in manifest["services"]} == {OWNER, "accounts"}
    kept = through_gateway.world.db["exports"]
    assert await kept.count_documents({"request_id": request_id}) == 0


async def test_an_expired_link_is_410_and_a_forged_one_403(through_gateway: Gateway) -> None:
    """Past its expiry the link answers 410 problem+json; a forged token 403; asking for the
    link of a request whose package is not built is 409."""
    request_id = await _completed_access_request(through_gateway, "jo@example.com")
    async with through_gateway.api.get(f"/v1/privacy/requests/{request_id}/export") as response:
        link = await response.json()
    async with aiohttp.ClientSession(base_url=through_gateway.base_url) as anonymous:
        forged = link["url"][:-3] + ("AAA" if not link["url"].endswith("AAA") else "BBB")
        async with anonymous.get(forged) as response:
            assert response.status == 403
            assert response.content_type == "application/problem+json"
            assert (await response.json())["code"] == "forbidden"
        clock = through_gateway.world.clock
        clock.at = clock() + timedelta(hours=25)
        async with anonymous.get(link["url"]) as response:
            assert response.status == 410
            assert response.content_type == "application/problem+json"
            assert (await response.json())["code"] == "gone"
    unbuilt, _ = await stage_request(
        through_gateway.world, "ko@example.com", through_gateway.partner_id
    )
    async with through_gateway.api.get(f"/v1/privacy/requests/{unbuilt}/export") as response:
        assert response.status == 409
        assert (await response.json())["code"] == "conflict"


def test_the_download_is_documented_without_an_api_key() -> None:
    """The download's OpenAPI item declares no key, its token, the ZIP and its refusals, and
    its references resolve in the gateway's document; the link operation needs a key."""
    bus = Bus(url="amqp://127.0.0.1:1/", topology=Topology("openapi"), service="gateway")
    verifier = Verifier(bus, 1.0, PrincipalCache(ttl=timedelta(seconds=1)))
    orders = OrderHandlers(bus, 1.0, OutcomeWaiter(), 1.0)
    catalogue = CatalogueHandlers(bus, 1.0)
    document = build_openapi(
        endpoints(GatewayHandlers(bus, 1.0, verifier), orders, catalogue), "1.0.0"
    )
    link = document["paths"]["/v1/privacy/requests/{id}/export"]["get"]
    assert link["x-required-scope"] == "privacy:read"
    assert {"403", "404", "409"} <= set(link["responses"])
    document["paths"].update(download_openapi())
    download = document["paths"]["/v1/privacy/exports/{token}"]["get"]
    assert download["security"] == [{}]
    assert [p["name"] for p in download["parameters"]] == ["token"]
    assert "application/zip" in download["responses"]["200"]["content"]
    assert {"403", "410"} <= set(download["responses"])
    assert download["responses"]["410"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "Problem" in document["components"]["schemas"]
