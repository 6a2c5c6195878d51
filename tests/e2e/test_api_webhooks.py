"""Webhooks through the partners' API, against the running platform: the endpoint lifecycle,
the secret shown once and stored sealed, SSRF and validation refusals that write nothing,
tenancy, scope, test-send, the delivery log, replay, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import aiohttp
from e2e_support import Platform, add_api_key
from pymongo import AsyncMongoClient

PROBLEM_JSON = "application/problem+json"
ENDPOINTS = "/v1/webhook-endpoints"
PUBLIC_URL = "https://93.184.215.14/webhooks"
"""A public address by IP literal: the test sandbox has no DNS. Nothing answers there, so
deliveries to it fail and are retried in the background; the endpoint is deleted at the end."""

Db = AsyncMongoClient[dict[str, Any]]


async def stored_endpoints(platform: Platform, db: Db, partner_id: str) -> list[dict[str, Any]]:
    """The partner's stored webhook endpoints."""
    collection = db[platform.database("provisioning")]["webhook_endpoints"]
    return await collection.find({"partner_id": partner_id}).to_list()


async def status_and_json(response: aiohttp.ClientResponse) -> tuple[int, Any]:
    """The status and JSON body (problem or not) of a response."""
    return response.status, await response.json(content_type=None)


async def pong(api: aiohttp.ClientSession) -> dict[str, Any]:
    """Who the API key is."""
    async with api.get("/v1/ping") as response:
        body: dict[str, Any] = await response.json()
    return body


async def test_endpoint_lifecycle(api: aiohttp.ClientSession, platform: Platform, db: Db) -> None:
    """Create (secret once, stored sealed), list, patch, rotate, test-send, log, replay, delete."""
    body = {"url": PUBLIC_URL, "event_types": ["order.completed", "balance.low"]}
    async with api.post(ENDPOINTS, json=body) as response:
        status, created = await status_and_json(response)
    assert status == 201, created
    secret, endpoint_id = created["secret"], created["endpoint"]["id"]
    assert secret.startswith("whsec_")
    assert created["endpoint"]["mode"] == "test"
    partner_id = (await pong(api))["partner_id"]
    stored = [
        e for e in await stored_endpoints(platform, db, partner_id) if e["_id"] == endpoint_id
    ]
    assert secret not in str(stored)
    async with api.get(ENDPOINTS) as response:
        listed = await response.json()
    assert endpoint_id in [e["id"] for e in listed["data"]]
    assert secret not in str(listed)
    patch = {"event_types": ["esim.installed"], "enabled": False}
    async with api.patch(f"{ENDPOINTS}/{endpoint_id}", json=patch) as response:
        status, patched = await status_and_json(response)
    assert status == 200, patched
    assert (patched["event_types"], patched["enabled"]) == (["esim.installed"], False)
    async with api.post(f"{ENDPOINTS}/{endpoint_id}/rotate-secret") as response:
        status, rotated = await status_and_json(response)
    assert status == 201, rotated
    assert rotated["secret"] != secret
    assert rotated["endpoint"]["secret_overlap_until"] is not None
    async with api.post(f"{ENDPOINTS}/{endpoint_id}/test") as response:
        status, sent = await status_and_json(response)
    assert status == 202, sent
    assert sent["event_type"] == "webhook.test"
    async with api.get("/v1/webhook-deliveries", params={"endpoint_id": endpoint_id}) as response:
        log = await response.json()
    assert [d["id"] for d in log["data"]] == [sent["id"]]
    async with api.post(f"/v1/webhook-deliveries/{sent['id']}/replay") as response:
        status, replay = await status_and_json(response)
    assert status == 202, replay
    assert replay["replay_of"] == sent["id"]
    async with api.delete(f"{ENDPOINTS}/{endpoint_id}") as response:
        assert response.status == 200
    async with api.get(f"{ENDPOINTS}/{endpoint_id}") as response:
        assert response.status == 404


async def test_internal_urls_are_refused_in_live_mode(
    api: aiohttp.ClientSession, platform: Platform, db: Db
) -> None:
    """With a live key, loopback, private and link-local URLs are refused with 422 and nothing
    is stored, even where the dev stack allows local receivers for test-mode keys."""
    partner_id = (await pong(api))["partner_id"]
    live_key = await add_api_key(
        platform, db, partner_id=partner_id, scopes=["webhooks:manage"], mode="live"
    )
    before = len(await stored_endpoints(platform, db, partner_id))
    async with aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {live_key}"}
    ) as live:
        for url in (
            "https://127.0.0.1:8443/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/x",
        ):
            body = {"url": url, "event_types": ["order.failed"]}
            async with live.post(ENDPOINTS, json=body) as r:
                status, problem = await status_and_json(r)
            assert status == 422, problem
            assert problem["code"] == "invalid_request"
    assert len(await stored_endpoints(platform, db, partner_id)) == before


async def test_bad_input_writes_nothing(
    api: aiohttp.ClientSession, platform: Platform, db: Db
) -> None:
    """Unknown event types, bad URLs and unknown fields are 422 and store nothing."""
    partner_id = (await pong(api))["partner_id"]
    before = len(await stored_endpoints(platform, db, partner_id))
    bodies = [
        {"url": PUBLIC_URL, "event_types": ["order.exploded"]},
        {"url": "ftp://example.com/x", "event_types": ["order.failed"]},
        {"url": PUBLIC_URL, "event_types": []},
        {"url": PUBLIC_URL, "event_types": ["order.failed"], "secret": "whsec_x"},
    ]
    for body in bodies:
        async with api.post(ENDPOINTS, json=body) as response:
            status, problem = await status_and_json(response)
        assert status == 422, problem
        assert problem["code"] == "validation_failed"
    assert len(await stored_endpoints(platform, db, partner_id)) == before


async def test_scope_and_tenancy(api: aiohttp.ClientSession, platform: Platform, db: Db) -> None:
    """A key without `webhooks:manage` gets 403; another partner's endpoint is a 404."""
    body = {"url": PUBLIC_URL, "event_types": ["order.failed"], "enabled": False}
    async with api.post(ENDPOINTS, json=body) as response:
        endpoint_id = (await response.json())["endpoint"]["id"]
    reader = await add_api_key(platform, db, partner_id="ptn_hooks_reader", scopes=["orders:read"])
    other = await add_api_key(
        platform, db, partner_id="ptn_hooks_other", scopes=["webhooks:manage"]
    )
    try:
        for key, status in ((reader, 403), (other, 404)):
            headers = {"Authorization": f"Bearer {key}"}
            async with (
                aiohttp.ClientSession(base_url=platform.gateway, headers=headers) as session,
                session.get(f"{ENDPOINTS}/{endpoint_id}") as response,
            ):
                assert response.status == status, await response.text()
    finally:
        async with api.delete(f"{ENDPOINTS}/{endpoint_id}") as response:
            assert response.status == 200


async def test_openapi_documents_webhooks(platform: Platform) -> None:
    """Every webhook operation is in the OpenAPI document, with the retry schedule."""
    async with (
        aiohttp.ClientSession(base_url=platform.gateway) as anonymous,
        anonymous.get("/openapi.json") as response,
    ):
        document = await response.json()
    paths = document["paths"]
    assert set(paths[ENDPOINTS]) >= {"get", "post"}
    assert set(paths[f"{ENDPOINTS}/{{id}}"]) >= {"get", "patch", "delete"}
    assert "post" in paths[f"{ENDPOINTS}/{{id}}/test"]
    assert "get" in paths["/v1/webhook-deliveries"]
    assert "post" in paths["/v1/webhook-deliveries/{id}/replay"]
    assert "5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h" in paths[ENDPOINTS]["post"]["description"]
