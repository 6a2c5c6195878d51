"""Encryption at rest: field tokens, the key ring on the real store, shredding, rotation."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from servicekit.crypto import (
    BlindIndex,
    CryptoError,
    FieldCipher,
    KeyDestroyed,
    LocalMasterKeys,
    Token,
    WrappedKey,
)
from servicekit.keyring import KEY_COLLECTION, EncryptionSettings, KeyRing

Doc = dict[str, Any]
WAIT = 30.0


@pytest.fixture
async def db(mongo_url: str) -> AsyncIterator[AsyncDatabase[Doc]]:
    """A database of this test only, on the session's embedded store; dropped afterwards."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    name = f"crypto_{uuid.uuid4().hex[:16]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
def master() -> LocalMasterKeys:
    """One freshly generated master key, version v1."""
    return LocalMasterKeys(LocalMasterKeys.generate("v1"))


@pytest.fixture
async def ring(db: AsyncDatabase[Doc], master: LocalMasterKeys) -> KeyRing:
    """A key ring over the test database with its indexes created."""
    keyring = KeyRing(db, master)
    await keyring.create_indexes()
    return keyring


class RecordingMaster:
    """Local master keys that remember every data key they wrap; optionally hold each wrap
    at a barrier, so concurrent first uses all get past their read before anyone inserts."""

    def __init__(self, inner: LocalMasterKeys, barrier: asyncio.Barrier | None = None) -> None:
        self.inner = inner
        self.barrier = barrier
        self.data_keys: list[bytes] = []

    @property
    def current_version(self) -> str:
        return self.inner.current_version

    async def wrap(self, data_key: bytes, *, subject_id: str) -> WrappedKey:
        self.data_keys.append(data_key)
        if self.barrier is not None:
            await self.barrier.wait()
        return await self.inner.wrap(data_key, subject_id=subject_id)

    async def unwrap(self, wrapped: WrappedKey, *, subject_id: str) -> bytes:
        return await self.inner.unwrap(wrapped, subject_id=subject_id)


def _cipher(subject: str = "usr_1") -> FieldCipher:
    return FieldCipher(subject, "k1", os.urandom(32))


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


async def test_round_trip_through_the_key_ring(ring: KeyRing) -> None:
    """A value encrypted with a subject's cipher decrypts to itself, also via the key ring."""
    cipher = await ring.cipher_for("usr_1")
    assert cipher is not None
    token = cipher.encrypt("rec_1", "email", "ana@example.com")
    assert token.startswith("enc1.usr_1.")
    assert cipher.decrypt("rec_1", "email", token) == "ana@example.com"
    assert await ring.decrypt("rec_1", "email", token) == "ana@example.com"
    again = await ring.cipher_for("usr_1", create=False)
    assert again is not None
    assert again.decrypt("rec_1", "email", token) == "ana@example.com"


@given(
    plaintext=st.text(),
    record_id=st.text(min_size=1, max_size=40),
    field=st.text(min_size=1, max_size=40),
)
def test_round_trip_property_over_arbitrary_text(
    plaintext: str, record_id: str, field: str
) -> None:
    """Any text, under any record id and field name, decrypts to itself."""
    cipher = _cipher()
    token = cipher.encrypt(record_id, field, plaintext)
    assert cipher.decrypt(record_id, field, token) == plaintext


def test_each_encryption_uses_a_fresh_nonce() -> None:
    """Encrypting the same plaintext twice gives different tokens with different nonces."""
    cipher = _cipher()
    first = cipher.encrypt("rec_1", "email", "same@example.com")
    second = cipher.encrypt("rec_1", "email", "same@example.com")
    assert first != second
    assert Token.parse(first).nonce != Token.parse(second).nonce


def test_associated_data_binds_record_and_field() -> None:
    """A token moved to another record or another field does not decrypt."""
    cipher = _cipher()
    token = cipher.encrypt("rec_1", "email", "ana@example.com")
    for record_id, field in [("rec_2", "email"), ("rec_1", "phone"), ("rec_1e", "mail")]:
        with pytest.raises(CryptoError) as caught:
            cipher.decrypt(record_id, field, token)
        assert "ana@example.com" not in str(caught.value)


def test_tampered_tokens_fail_without_leaking() -> None:
    """An altered nonce, ciphertext, subject or shape raises CryptoError naming no plaintext."""
    cipher = _cipher()
    token = cipher.encrypt("rec_1", "name", "Ana Secret")
    prefix, subject, key_id, nonce, sealed = token.split(".")
    tampered = [
        ".".join((prefix, subject, key_id, _flip(nonce, 3), sealed)),
        ".".join((prefix, subject, key_id, nonce, _flip(sealed, 5))),
        ".".join((prefix, subject, key_id, nonce, sealed[:-4])),
        ".".join((prefix, "usr_2", key_id, nonce, sealed)),
        ".".join(("enc2", subject, key_id, nonce, sealed)),
        token + ".x",
        "Ana Secret",
        "",
    ]
    for text in tampered:
        with pytest.raises(CryptoError) as caught:
            cipher.decrypt("rec_1", "name", text)
        assert "Ana Secret" not in str(caught.value)


def test_subject_ids_must_be_opaque() -> None:
    """Subject ids with the token separator, or that look like an email, are refused."""
    for bad in ["usr.1", "ana@example.com", "", "a b", "x" * 129]:
        with pytest.raises(ValueError, match="opaque id"):
            FieldCipher(bad, "k1", os.urandom(32))


async def test_stored_documents_hold_no_plaintext_or_data_key(db: AsyncDatabase[Doc]) -> None:
    """Neither a record with encrypted fields nor the key document contains plaintext or key."""
    master = RecordingMaster(LocalMasterKeys(LocalMasterKeys.generate()))
    ring = KeyRing(db, master)
    cipher = await ring.cipher_for("usr_1")
    assert cipher is not None
    email, phone = "ana.private@example.com", "+44 7700 900123"
    await db["contacts"].insert_one(
        {
            "_id": "con_1",
            "subject": "usr_1",
            "email": cipher.encrypt("con_1", "email", email),
            "phone": cipher.encrypt("con_1", "phone", phone),
        }
    )
    stored = json.dumps(await db["contacts"].find_one({"_id": "con_1"}), default=str)
    assert email not in stored
    assert "900123" not in stored
    key_document = json.dumps(await db[KEY_COLLECTION].find_one({"_id": "usr_1"}), default=str)
    [data_key] = master.data_keys
    for encoding in (base64.b64encode, base64.urlsafe_b64encode):
        assert encoding(data_key).decode().rstrip("=") not in key_document
    assert data_key.hex() not in key_document


async def test_destroy_shreds_one_subject_only(ring: KeyRing) -> None:
    """After destroy (once or twice), that subject's tokens read as destroyed; other subjects
    are unaffected."""
    ana, bob = await ring.cipher_for("usr_ana"), await ring.cipher_for("usr_bob")
    assert ana is not None
    assert bob is not None
    ana_token = ana.encrypt("rec_1", "email", "ana@example.com")
    bob_token = bob.encrypt("rec_2", "email", "bob@example.com")

    await ring.destroy("usr_ana")
    await ring.destroy("usr_ana")  # again: nothing left to destroy, and no error
    with pytest.raises(KeyDestroyed) as caught:
        await ring.decrypt("rec_1", "email", ana_token)
    assert caught.value.subject_id == "usr_ana"
    assert "ana@example.com" not in str(caught.value)
    assert await ring.decrypt_field("rec_1", "email", ana_token) is None
    assert await ring.cipher_for("usr_ana", create=False) is None
    assert await ring.decrypt_field("rec_2", "email", bob_token) == "bob@example.com"


async def test_a_new_key_after_shredding_does_not_open_old_tokens(ring: KeyRing) -> None:
    """A subject's key created after destroy seals new values; old tokens stay destroyed."""
    first = await ring.cipher_for("usr_ana")
    assert first is not None
    old_token = first.encrypt("rec_1", "email", "ana@example.com")
    await ring.destroy("usr_ana")

    second = await ring.cipher_for("usr_ana")
    assert second is not None
    new_token = second.encrypt("rec_1", "email", "ana@new.example")
    with pytest.raises(KeyDestroyed):
        second.decrypt("rec_1", "email", old_token)
    assert await ring.decrypt_field("rec_1", "email", old_token) is None
    assert await ring.decrypt("rec_1", "email", new_token) == "ana@new.example"


async def test_concurrent_first_use_leaves_one_key(db: AsyncDatabase[Doc]) -> None:
    """Twenty concurrent first uses of one subject store one key that every cipher shares."""
    master = RecordingMaster(LocalMasterKeys(LocalMasterKeys.generate()), asyncio.Barrier(20))
    ring = KeyRing(db, master)
    async with asyncio.timeout(WAIT):
        ciphers = await asyncio.gather(*(ring.cipher_for("usr_race") for _ in range(20)))
    assert len(master.data_keys) == 20  # every call tried to create the key
    assert await db[KEY_COLLECTION].count_documents({}) == 1
    tokens = [c.encrypt("rec_1", "email", f"v{i}") for i, c in enumerate(ciphers) if c]
    assert len(tokens) == 20
    for cipher in ciphers:
        assert cipher is not None
        assert [cipher.decrypt("rec_1", "email", t) for t in tokens] == [f"v{i}" for i in range(20)]


async def test_master_rotation_rewraps_and_retires_the_old_version(
    db: AsyncDatabase[Doc],
) -> None:
    """Keys wrapped with v1 open under v1+v2; after rotate_master they open with v2 alone."""
    v1, v2 = LocalMasterKeys.generate("v1"), LocalMasterKeys.generate("v2")
    old_ring = KeyRing(db, LocalMasterKeys(v1))
    await old_ring.create_indexes()
    tokens: dict[str, str] = {}
    for n in range(5):
        cipher = await old_ring.cipher_for(f"usr_{n}")
        assert cipher is not None
        tokens[f"usr_{n}"] = cipher.encrypt(f"rec_{n}", "email", f"user{n}@example.com")

    both = KeyRing(db, LocalMasterKeys(f"{v1},{v2}"))
    assert await both.decrypt("rec_0", "email", tokens["usr_0"]) == "user0@example.com"
    await both.cipher_for("usr_new")  # created under v2 directly
    assert await both.rotate_master(batch_size=2) == 5
    assert await both.rotate_master() == 0
    assert await db[KEY_COLLECTION].distinct("master") == ["v2"]
    async for document in db[KEY_COLLECTION].find({}):
        assert isinstance(document["wrapped"]["at"], datetime)

    only_v2 = KeyRing(db, LocalMasterKeys(v2))
    for n in range(5):
        plain = await only_v2.decrypt(f"rec_{n}", "email", tokens[f"usr_{n}"])
        assert plain == f"user{n}@example.com"
    with pytest.raises(CryptoError, match="not configured"):
        await KeyRing(db, LocalMasterKeys(v1)).cipher_for("usr_0")


async def test_wrong_master_key_fails_clearly(ring: KeyRing, db: AsyncDatabase[Doc]) -> None:
    """A key ring with a different master key of the same version cannot open stored keys."""
    cipher = await ring.cipher_for("usr_1")
    assert cipher is not None
    token = cipher.encrypt("rec_1", "email", "ana@example.com")
    other_setting = LocalMasterKeys.generate("v1")
    imposter = KeyRing(db, LocalMasterKeys(other_setting))
    with pytest.raises(CryptoError, match="wrong master key") as caught:
        await imposter.decrypt("rec_1", "email", token)
    assert other_setting.split(":", 1)[1] not in str(caught.value)
    assert not isinstance(caught.value, KeyDestroyed)


def test_master_key_setting_errors_never_echo_key_material() -> None:
    """Malformed master-key settings raise ValueError naming the entry, not its key."""
    short = base64.b64encode(b"s" * 16).decode()
    good = LocalMasterKeys.generate("v1")
    cases = {
        "": "no master keys",
        f"v1:{short}": "must be 32 bytes",
        "v1:not*base64!": "not valid base64",
        f"{good},{good}": "appears twice",
        good.split(":", 1)[1]: "is not '<version>:<base64>'",
        f"v 1:{short}": "is not '<version>:<base64>'",
    }
    for setting, message in cases.items():
        with pytest.raises(ValueError, match=message) as caught:
            LocalMasterKeys(setting)
        secret = setting.split(":", 1)[-1]
        assert not secret or secret not in str(caught.value)
    keys = LocalMasterKeys(f"{good}\n{LocalMasterKeys.generate('v2')}\n")
    assert keys.versions == ["v1", "v2"]
    assert keys.current_version == "v2"
    assert good.split(":", 1)[1] not in repr(keys)


def test_blind_index_matches_normalised_values_only() -> None:
    """Equal for normalised-equal inputs; different per kind and per key; no plaintext inside."""
    key = base64.b64decode(BlindIndex.generate_key())
    index = BlindIndex(key)
    assert index.of("email", "  Ana@Example.COM ") == index.of("email", "ana@example.com")
    assert index.of("phone", "+44 (7700) 900-123") == index.of("phone", "+447700900123")
    assert index.of("ip", " 2001:DB8:0::0:1") == index.of("ip", "2001:db8::1")
    assert index.of("ip", "192.0.2.1") != index.of("ip", "192.0.2.10")
    assert index.of("email", "ana@example.com") != index.of("email", "bob@example.com")
    assert index.of("email", "4477") != index.of("phone", "4477")
    assert BlindIndex(os.urandom(32)).of("email", "ana@example.com") != index.of(
        "email", "ana@example.com"
    )
    value = index.of("email", "ana@example.com")
    assert len(value) == 64
    assert "ana" not in value
    with pytest.raises(ValueError, match="empty"):
        index.of("phone", "call me")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        BlindIndex(b"k" * 16)


def _settings_failure(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        EncryptionSettings(**values)
    failure = caught.value
    return "\n".join((str(failure), repr(failure), json.dumps(failure.errors(), default=str)))


def test_settings_validation_errors_never_include_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Bad MASTER_KEYS or BLIND_INDEX_KEY fail with a clear error that omits the value."""
    good_master, good_index = LocalMasterKeys.generate("v1"), BlindIndex.generate_key()
    short_master = "v1:" + base64.b64encode(b"m" * 31).decode()
    short_index = base64.b64encode(b"b" * 31).decode()

    text = _settings_failure(master_keys=short_master, blind_index_key=good_index)
    assert "must be 32 bytes" in text
    assert short_master[3:] not in text
    assert good_index not in text

    text = _settings_failure(master_keys=good_master, blind_index_key=short_index)
    assert "at least 32 bytes" in text
    assert short_index not in text
    assert good_master[3:] not in text

    monkeypatch.setenv("MASTER_KEYS", "v1:" + "Z" * 43 + "!")
    monkeypatch.setenv("BLIND_INDEX_KEY", good_index)
    text = _settings_failure()
    assert "MASTER_KEYS: master key v1 is not valid base64" in text
    assert "Z" * 43 not in text

    monkeypatch.delenv("MASTER_KEYS")
    assert "set MASTER_KEYS or MASTER_KEYS_FILE" in _settings_failure()
    text = _settings_failure(master_keys_file=tmp_path / "missing")
    assert "cannot read MASTER_KEYS_FILE" in text


def test_settings_read_master_keys_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """MASTER_KEYS_FILE's content is used in place of MASTER_KEYS; secrets stay out of repr."""
    v1, v2 = LocalMasterKeys.generate("v1"), LocalMasterKeys.generate("v2")
    key_file = tmp_path / "master.keys"
    key_file.write_text(f"{v1}\n{v2}\n")
    monkeypatch.setenv("MASTER_KEYS", LocalMasterKeys.generate("v9"))
    monkeypatch.setenv("MASTER_KEYS_FILE", str(key_file))
    monkeypatch.setenv("BLIND_INDEX_KEY", BlindIndex.generate_key())
    settings = EncryptionSettings()
    keys = settings.make_master_keys()
    assert keys.versions == ["v1", "v2"]
    assert keys.current_version == "v2"
    assert settings.make_blind_index().of("email", "a@b.example")
    assert v1[3:] not in repr(settings)
    assert v2[3:] not in str(settings)
