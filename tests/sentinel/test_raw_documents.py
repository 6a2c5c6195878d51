"""Raw documents on the real store: plaintext personal data and secrets in stored logs are
found, sealed fields and blind indexes are not, and dropping a namespace reads it first."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from support.raw_documents import scan_database
from support.sentinel import SENTINEL
from support.services import fresh_namespace

EMAIL = "ada.planted" + "@example.com"
# Not named as a secret: the sentinel would learn a `*SECRET*` constant and name it by value.
PLANTED_HOOK_KEY = "wh" + "sec_" + "cGxhbnRlZC1ob29rLWtleQ"
TOKEN = "enc1.usr_1.k1.bm9uY2U.Y2lwaGVydGV4dA"
DIGEST = "3f2a9c1e0b7d4a5e8f6c2b1a0d9e8f7c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d1e"

SEALED_USER = {"_id": "usr_sealed", "name": TOKEN, "email": TOKEN, "email_bidx": DIGEST}
LEAKY_USER = {"_id": "usr_leaky", "name": "Ada Planted", "email": TOKEN, "note": f"was {EMAIL}"}
LEAKY_LOG = {"_id": "log_1", "event": "endpoint_created", "fields": {"secret": PLANTED_HOOK_KEY}}


async def test_plaintext_personal_data_and_stored_secrets_are_found(
    amqp_url: str, mongo_url: str
) -> None:
    """A sealed user is clean; a user with a plaintext name (a sealed field) and an email in
    another field, and a stored log record with a webhook secret, are each found by place."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "logs"]) as settings:
        accounts = client[settings.database_name("accounts")]
        logs = client[settings.database_name("logs")]
        await accounts["users"].insert_many([SEALED_USER, LEAKY_USER])
        await logs["technical_logs"].insert_one(LEAKY_LOG)
        try:
            found = await scan_database(accounts) + await scan_database(logs)
        finally:
            await accounts["users"].delete_one({"_id": "usr_leaky"})
            await logs["technical_logs"].delete_one({"_id": "log_1"})
    await client.close()
    places = sorted((f.kind, f.collection, f.document_id, f.path) for f in found)
    assert places == [
        ("email address", "users", "usr_leaky", "note"),
        ("unsealed personal field", "users", "usr_leaky", "name"),
        ("webhook secret", "technical_logs", "log_1", "fields.secret"),
    ]
    assert all(f.namespace == settings.bus_namespace for f in found)
    assert all(EMAIL not in f.place() and PLANTED_HOOK_KEY not in f.place() for f in found)


async def test_dropping_a_namespace_database_reads_it_first(amqp_url: str, mongo_url: str) -> None:
    """Whoever drops a test namespace's database, the sentinel reads its raw documents first
    and records what it finds (taken back here: it was planted)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    async with fresh_namespace(amqp_url, mongo_url, ["accounts"]) as settings:
        name = settings.database_name("accounts")
        await client[name]["contacts"].insert_one({"_id": "con_1", "phone": "+44 20 7946 0958"})
        before = len(SENTINEL.findings)
        await client.drop_database(name)
        planted = SENTINEL.findings[before:]
        del SENTINEL.findings[before:]
    await client.close()
    assert planted == [
        f"phone number in namespace {settings.bus_namespace}, database {name}, collection"
        f" contacts, document con_1, field phone (during {SENTINEL.current})",
        f"unsealed personal field in namespace {settings.bus_namespace}, database {name},"
        f" collection contacts, document con_1, field phone (during {SENTINEL.current})",
    ]


async def test_databases_of_other_services_and_stores_are_not_read(mongo_url: str) -> None:
    """Test-only services' and store tests' databases hold made-up data: never findings."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    for name in ("t6b092f74205258_alpha", "store_compat_db"):
        await client[name]["notes"].insert_one({"_id": "n1", "email": EMAIL})
        assert await scan_database(client[name]) == []
        await client.drop_database(name)
    await client.close()
