"""eSIMs through the partners' API against the running platform: list and get (the activation
code for the owner only), the QR code as PNG and SVG, scope and tenancy refusals, and no
activation code in any service's log."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from e2e_support import Platform, add_api_key
from pymongo import AsyncMongoClient

from contracts.catalogue import Package
from contracts.money import Money
from provisioning import esim_store
from provisioning.provider import AllocatedProfile
from servicekit.ids import new_id
from servicekit.keyring import EncryptionSettings
from servicekit.vault import Vault
from support.qr_codes import decode_png_qr
from support.waiting import eventually

Db = AsyncMongoClient[dict[str, Any]]
DEMO = "ptn_demo"
OTHER = "ptn_e2e_esims_other"
SMDP = "smdp.e2e-esims.example"
PROBLEM_JSON = "application/problem+json"
PACKAGE = Package(
    id="pkg_de_e2e",
    title="Germany e2e package",
    coverage="local",
    countries=["DE"],
    regions=["EUROPE"],
    unlimited=False,
    data_mb=1024,
    validity_days=30,
    price=Money(amount=500, currency="EUR"),
    active=True,
)


async def store_esim(
    platform: Platform, db: Db, partner_id: str, order_id: str
) -> AllocatedProfile:
    """An eSIM stored in provisioning's database as the order flow stores it, sealed with the
    platform's keys; the profile, with its matching id."""
    database = db[platform.database("provisioning")]
    encryption = EncryptionSettings(
        master_keys=platform.env["MASTER_KEYS"], blind_index_key=platform.env["BLIND_INDEX_KEY"]
    )
    iccid = "89" + "".join(secrets.choice("0123456789") for _ in range(17))
    profile = AllocatedProfile(
        iccid=iccid,
        package_code="DE-1GB",
        smdp_address=SMDP,
        matching_id=f"E2E-{secrets.token_hex(10).upper()}",
    )
    document = await esim_store.esim_document(
        Vault.from_settings(database, encryption),
        profile=profile,
        position=1,
        partner_id=partner_id,
        order_id=order_id,
        package=PACKAGE,
        now=datetime.now(UTC),
        mode="test",  # as bought with a test key, like the demo key the tests read it with
    )
    await esim_store.insert_once(database, document)
    return profile


@pytest.fixture
async def demo_esim(platform: Platform, db: Db) -> AllocatedProfile:
    """An eSIM of the demo partner."""
    return await store_esim(platform, db, DEMO, new_id("ord"))


async def get(api: aiohttp.ClientSession, path: str, **params: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET."""
    async with api.get(path, params=params) as response:
        return response.status, response.content_type, await response.read()


async def test_get_returns_the_activation_code_to_the_owner(
    api: aiohttp.ClientSession, demo_esim: AllocatedProfile
) -> None:
    """GET /v1/esims/{iccid}: status, usage and the LPA activation code."""
    async with api.get(f"/v1/esims/{demo_esim.iccid}") as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    assert body["iccid"] == demo_esim.iccid
    assert body["status"] == "released"
    assert body["activation_code"] == demo_esim.activation_code
    assert (body["smdp_address"], body["matching_id"]) == (SMDP, demo_esim.matching_id)
    assert body["usage"]["data_total_bytes"] == 1024 * 1024 * 1024


async def test_list_filters_by_order_and_carries_no_credentials(
    api: aiohttp.ClientSession, platform: Platform, db: Db
) -> None:
    """GET /v1/esims?order_id=…: the order's eSIM, without any activation field."""
    order_id = new_id("ord")
    profile = await store_esim(platform, db, DEMO, order_id)
    async with api.get("/v1/esims", params={"order_id": order_id}) as response:
        assert response.status == 200, await response.text()
        text = await response.text()
        body = await response.json()
    assert [e["iccid"] for e in body["data"]] == [profile.iccid]
    assert body["next_cursor"] is None
    assert profile.matching_id not in text
    assert "LPA:1$" not in text


async def test_qr_png_scans_to_the_activation_code(
    api: aiohttp.ClientSession, demo_esim: AllocatedProfile
) -> None:
    """The default QR code is a PNG download that a scanner reads as the LPA string."""
    async with api.get(f"/v1/esims/{demo_esim.iccid}/qr") as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "image/png"
        assert f'filename="{demo_esim.iccid}.png"' in response.headers["Content-Disposition"]
        png = await response.read()
    assert decode_png_qr(png) == [demo_esim.activation_code]


async def test_qr_svg_is_an_svg_image(
    api: aiohttp.ClientSession, demo_esim: AllocatedProfile
) -> None:
    """`format=svg` answers an SVG drawing (a path), named after the ICCID."""
    async with api.get(f"/v1/esims/{demo_esim.iccid}/qr", params={"format": "svg"}) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "image/svg+xml"
        assert f'filename="{demo_esim.iccid}.svg"' in response.headers["Content-Disposition"]
        svg = await response.read()
    root = ElementTree.fromstring(svg)  # noqa: S314 (the platform's own output)
    assert root.tag.endswith("svg")
    assert any(element.tag.endswith("path") for element in root)


async def test_bad_qr_format_and_malformed_iccid_are_refused(
    api: aiohttp.ClientSession, demo_esim: AllocatedProfile
) -> None:
    """An unknown `format` is 422; an ICCID that cannot exist is 404."""
    status, content_type, _ = await get(api, f"/v1/esims/{demo_esim.iccid}/qr", format="gif")
    assert (status, content_type) == (422, PROBLEM_JSON)
    for path in ("/v1/esims/12345", "/v1/esims/not-an-iccid/qr"):
        status, content_type, _ = await get(api, path)
        assert (status, content_type) == (404, PROBLEM_JSON)


async def test_another_partners_esim_is_not_found(
    api: aiohttp.ClientSession, platform: Platform, db: Db
) -> None:
    """The demo key gets 404 for another partner's ICCID: the eSIM and its QR code."""
    profile = await store_esim(platform, db, OTHER, new_id("ord"))
    for path in (f"/v1/esims/{profile.iccid}", f"/v1/esims/{profile.iccid}/qr"):
        status, content_type, body = await get(api, path)
        assert (status, content_type) == (404, PROBLEM_JSON)
        assert profile.matching_id.encode() not in body


async def test_a_key_without_esims_read_is_refused(
    platform: Platform, db: Db, demo_esim: AllocatedProfile
) -> None:
    """A demo key with other scopes gets 403 `insufficient_scope` on every eSIM route."""
    key = await add_api_key(
        platform, db, partner_id=DEMO, scopes=["orders:read", "billing:read"], with_partner=False
    )
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(base_url=platform.gateway, headers=headers) as session:
        for path in (
            "/v1/esims",
            f"/v1/esims/{demo_esim.iccid}",
            f"/v1/esims/{demo_esim.iccid}/qr",
        ):
            async with session.get(path) as response:
                problem = await response.json(content_type=None)
                assert response.status == 403, problem
                assert problem["code"] == "insufficient_scope"


async def test_the_openapi_document_lists_the_esim_routes(api: aiohttp.ClientSession) -> None:
    """The eSIM operations are documented with their scope and the QR media types."""
    async with api.get("/openapi.json") as response:
        document = await response.json()
    qr = document["paths"]["/v1/esims/{iccid}/qr"]["get"]
    assert qr["x-required-scope"] == "esims:read"
    assert {"image/png", "image/svg+xml"} <= set(qr["responses"]["200"]["content"])
    assert document["paths"]["/v1/esims"]["get"]["x-required-scope"] == "esims:read"


async def test_no_activation_code_reaches_a_log(
    api: aiohttp.ClientSession, platform: Platform, db: Db, demo_esim: AllocatedProfile
) -> None:
    """After reading the code and its QR codes, no service's log file and no stored API
    request log holds the LPA string, the matching id or the SM-DP+ address."""
    paths = [f"/v1/esims/{demo_esim.iccid}", f"/v1/esims/{demo_esim.iccid}/qr"]
    since = datetime.now(UTC) - timedelta(seconds=1)
    for path, params in ((paths[0], {}), (paths[1], {}), (paths[1], {"format": "svg"})):
        status, _, _ = await get(api, path, **params)
        assert status == 200
    requests = db[platform.database("logs")]["api_requests"]

    async def logged() -> list[dict[str, Any]]:
        routes = ["/v1/esims/{iccid}", "/v1/esims/{iccid}/qr"]
        asked = {"route": {"$in": routes}, "received_at": {"$gte": since}}
        found = await requests.find(asked).to_list()
        return found if len(found) >= 3 else []

    stored = await eventually(logged, timeout=15, what="the eSIM requests in the API log")
    output = platform.all_output()
    assert "service_started" in output  # the real log files were read
    for text in (output, str(stored)):
        assert "LPA:1$" not in text
        assert demo_esim.matching_id not in text
        assert SMDP not in text
