"""Opening a page of records at once: one key query for the page, shredded keys read as gone."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from servicekit.crypto import BlindIndex, CryptoError, LocalMasterKeys
from servicekit.keyring import KEY_COLLECTION, KeyRing
from servicekit.vault import Vault
from support.commands import Commands, watched_client

Doc = dict[str, Any]
FIELDS = ("email", "reference")


@pytest.fixture
async def watched(mongo_url: str) -> AsyncIterator[tuple[Vault, Commands]]:
    """A vault over a database of this test only (dropped afterwards), and the commands its
    client sends."""
    async with watched_client(mongo_url) as (client, commands):
        name = f"vault_{uuid.uuid4().hex[:16]}"
        db: AsyncDatabase[Doc] = client[name]
        try:
            keys = KeyRing(db, LocalMasterKeys(LocalMasterKeys.generate()))
            yield Vault(keys, BlindIndex(os.urandom(32))), commands
        finally:
            await client.drop_database(name)


@pytest.fixture
def vault(watched: tuple[Vault, Commands]) -> Vault:
    """The test's vault."""
    return watched[0]


@pytest.fixture
def key_queries(watched: tuple[Vault, Commands]) -> Commands:
    """The commands the vault's client sends (its key reads are `find`s of the key ring)."""
    return watched[1]


async def _sealed_records(vault: Vault, count: int) -> list[tuple[str, Doc]]:
    """`count` records, each sealed with its own subject's key (as orders are)."""
    records = []
    for number in range(count):
        record_id = f"ord_{number}"
        fields = {"email": f"user{number}@example.com", "reference": f"ref-{number}"}
        records.append((record_id, dict(await vault.seal(record_id, record_id, fields))))
    return records


async def test_a_page_opens_with_one_key_query(vault: Vault, key_queries: Commands) -> None:
    """Every record of a page opens to its own plaintext, its keys read in a single query."""
    records = await _sealed_records(vault, 12)
    key_queries.clear()
    opened = await vault.open_many(records, FIELDS)
    assert opened == [
        {"email": f"user{number}@example.com", "reference": f"ref-{number}"} for number in range(12)
    ]
    assert key_queries.count("find", KEY_COLLECTION) == 1


async def test_shredded_subjects_read_as_absent_beside_others(vault: Vault) -> None:
    """A shredded record's fields read as None; the rest of the page still opens."""
    records = await _sealed_records(vault, 3)
    await vault.shred("ord_1")
    opened = await vault.open_many(records, FIELDS)
    assert opened[1] == {"email": None, "reference": None}
    assert opened[0]["email"] == "user0@example.com"
    assert opened[2]["reference"] == "ref-2"


async def test_a_key_made_after_shredding_opens_no_old_field(vault: Vault) -> None:
    """A new key of a shredded subject does not open the values sealed under the old one."""
    [(record_id, document)] = await _sealed_records(vault, 1)
    await vault.shred(record_id)
    await vault.seal(record_id, "ord_other", {"email": "new@example.com"})
    assert await vault.open_many([(record_id, document)], FIELDS) == [
        {"email": None, "reference": None}
    ]


async def test_records_without_sealed_fields_need_no_query(
    vault: Vault, key_queries: Commands
) -> None:
    """Absent and non-text fields read as None, and no key is looked up for them."""
    opened = await vault.open_many([("ord_a", {}), ("ord_b", {"email": None})], FIELDS)
    assert opened == [{"email": None, "reference": None}] * 2
    assert await vault.open_many([], FIELDS) == []
    assert key_queries.count("find", KEY_COLLECTION) == 0


async def test_a_malformed_token_is_a_clear_error(vault: Vault) -> None:
    """A stored value that is not a token fails with CryptoError, never as plaintext."""
    with pytest.raises(CryptoError, match="not an enc1 token"):
        await vault.open_many([("ord_a", {"email": "plain@example.com"})], FIELDS)
