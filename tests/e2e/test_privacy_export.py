"""An access request end to end: every data owner's export reaches one ZIP package, which the
partner downloads through a signed link without its API key."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import aiohttp
from e2e_support import Platform, poll_request

from support.waiting import eventually

DEMO_PARTNER = "ptn_demo"


async def _link(api: aiohttp.ClientSession, request_id: str) -> dict[str, Any] | None:
    """The package's link once it is built (409 until then)."""
    async with api.get(f"/v1/privacy/requests/{request_id}/export") as response:
        if response.status == 409:
            return None
        assert response.status == 200, await response.text()
        link: dict[str, Any] = await response.json()
    return link


async def test_an_access_request_is_downloaded_as_a_verified_zip(
    platform: Platform, api: aiohttp.ClientSession
) -> None:
    """The demo partner asks for its own data: the request completes, its package is built
    from every data owner's signed export, and the signed link (no API key) downloads a ZIP
    whose manifest checksums hold; a forged link is 403."""
    async with api.post(
        "/v1/privacy/requests", json={"type": "access", "subject": {"partner_id": DEMO_PARTNER}}
    ) as response:
        assert response.status == 202, await response.text()
        request_id = (await response.json())["id"]
    done = await poll_request(api, request_id)
    assert done["status"] == "completed", done
    link = await eventually(lambda: _link(api, request_id), timeout=30, what="the package")
    async with aiohttp.ClientSession(base_url=platform.gateway) as anonymous:
        async with anonymous.get(link["url"]) as download:
            assert download.status == 200, await download.text()
            assert download.headers["Content-Type"] == "application/zip"
            assert download.headers["Cache-Control"] == "no-store"
            data = await download.read()
        async with anonymous.get(link["url"][:-4] + "AAAA") as forged:
            assert forged.status == 403
    assert hashlib.sha256(data).hexdigest() == link["sha256"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(entries["manifest.json"])
    assert manifest["request"]["id"] == request_id
    assert {s["service"] for s in manifest["services"]} >= {"accounts", "provisioning", "logs"}
    for item in manifest["files"]:
        assert hashlib.sha256(entries[item["path"]]).hexdigest() == item["sha256"]
    assert "accounts/partner_identity.json" in entries
