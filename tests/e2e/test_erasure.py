"""The walking skeleton end to end: an erasure through the gateway reaches every data owner."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
from devstack.run import seed_demo
from e2e_support import Platform, poll_request
from pymongo import AsyncMongoClient

from servicekit.crypto import BlindIndex
from support.waiting import eventually

SUBJECT_EMAIL = "demo.contact@example.com"


def order_email_index(platform: Platform) -> dict[str, str]:
    """The filter that finds orders of SUBJECT_EMAIL: its blind index (the email is sealed)."""
    blind_index = BlindIndex(base64.b64decode(platform.env["BLIND_INDEX_KEY"]))
    return {"end_user.email_bidx": blind_index.of("email", SUBJECT_EMAIL)}


def email_index(platform: Platform) -> dict[str, str]:
    """The filter that finds the subject's contact: accounts stores emails sealed, with a
    blind index beside them."""
    blind_index = BlindIndex(base64.b64decode(platform.env["BLIND_INDEX_KEY"]))
    return {"email_bidx": blind_index.of("email", SUBJECT_EMAIL)}


async def test_erasure_through_the_gateway_completes_across_all_services(
    platform: Platform, api: aiohttp.ClientSession, db: AsyncMongoClient[dict[str, Any]]
) -> None:
    """POST an erasure for the demo contact's email: 202 with an id; privacy fans it out;
    accounts deletes the contact, provisioning pseudonymises the order, logs deletes the
    sign-in record; the request completes listing each service's result."""
    accounts = db[platform.database("accounts")]
    provisioning = db[platform.database("provisioning")]
    logs = db[platform.database("logs")]
    assert await accounts["contacts"].count_documents(email_index(platform)) == 1
    assert await accounts["_subject_keys"].count_documents({"_id": "con_demo"}) == 1
    assert await provisioning["orders"].count_documents(order_email_index(platform)) == 1
    assert await logs["technical_logs"].count_documents(email_index(platform)) == 1

    async with api.post(
        "/v1/privacy/requests", json={"type": "erasure", "subject": {"email": SUBJECT_EMAIL}}
    ) as response:
        assert response.status == 202, await response.text()
        opened = await response.json()
    assert opened["id"].startswith("dsr_")
    assert opened["status"] == "in_progress"
    assert {task["service"] for task in opened["tasks"]} == {"accounts", "provisioning", "logs"}

    done = await poll_request(api, opened["id"])
    assert done["status"] == "completed"
    assert done["completed_at"] is not None
    outcomes = {
        (task["service"], outcome["category"]): outcome
        for task in done["tasks"]
        for outcome in task["outcomes"]
    }
    assert all(task["status"] == "completed" for task in done["tasks"])
    assert outcomes[("accounts", "contact_people")]["disposition"] == "deleted"
    assert outcomes[("accounts", "contact_people")]["records"] == 1
    assert outcomes[("provisioning", "end_user_data")]["disposition"] == "deleted"
    retained = outcomes[("provisioning", "orders")]
    assert retained["disposition"] == "pseudonymised"
    assert retained["legal_basis"] == "legal_obligation"
    assert retained["retained_until"]
    assert outcomes[("logs", "technical_logs")]["disposition"] == "deleted"

    assert await accounts["contacts"].count_documents(email_index(platform)) == 0
    assert await accounts["_subject_keys"].count_documents({"_id": "con_demo"}) == 0, (
        "the erased contact's key is shredded"
    )
    assert await provisioning["orders"].count_documents(order_email_index(platform)) == 0
    assert await provisioning["orders"].count_documents({"_id": "ord_demo"}) == 1
    assert await logs["technical_logs"].count_documents(email_index(platform)) == 0

    async with api.get("/v1/privacy/requests") as response:
        listed = await response.json()
    assert opened["id"] in [item["id"] for item in listed["data"]]

    seed_demo(platform.env)
    assert await accounts["contacts"].count_documents(email_index(platform)) == 0, (
        "seeding the demo again must not bring erased personal data back"
    )
    assert await logs["technical_logs"].count_documents(email_index(platform)) == 0


async def test_api_requests_reach_the_logs_service_without_secrets(
    platform: Platform, api: aiohttp.ClientSession, db: AsyncMongoClient[dict[str, Any]]
) -> None:
    """Each API request is recorded by the logs service with partner, route and status, and
    the API key appears in no record and no service's log output."""
    async with api.get("/v1/ping", headers={"X-Request-Id": "req-e2e-logging-1"}) as response:
        assert response.status == 200
        assert response.headers["X-Request-Id"] == "req-e2e-logging-1"
        pong = await response.json()
    assert pong["partner_id"] == "ptn_demo"
    requests = db[platform.database("logs")]["api_requests"]

    async def recorded() -> dict[str, Any] | None:
        return await requests.find_one({"request_id": "req-e2e-logging-1"})

    record = await eventually(recorded, what="the request recorded by the logs service")
    assert record["partner_id"] == "ptn_demo"
    assert record["route"] == "/v1/ping"
    assert record["status"] == 200
    everything = [doc async for doc in requests.find({})]
    assert platform.demo_key not in repr(everything)
    secret_part = platform.demo_key[len("esk_test_") + 16 :]
    assert secret_part not in platform.all_output()
    assert platform.env["API_KEY_PEPPER"] not in platform.all_output()
