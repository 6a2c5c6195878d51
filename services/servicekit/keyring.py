"""The key ring: one data key per data subject, wrapped by the master keys, in the service's store.

A key document (collection `_subject_keys`, `_id` = subject id):
`{"_id", "key_id", "master": <master version>, "wrapped": {"nonce", "key", "at"}, "created_at"}`.
Deleting it is crypto-shredding. Unwrapped keys are never cached beyond one `FieldCipher`:
another replica may have destroyed the key a moment ago.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from servicekit.clock import utcnow
from servicekit.crypto import (
    KEY_BYTES,
    BlindIndex,
    CryptoError,
    FieldCipher,
    KeyDestroyed,
    LocalMasterKeys,
    MasterKeys,
    Token,
    WrappedKey,
    b64url,
    check_subject_id,
    unb64url,
)
from servicekit.grouped import deletes_from

KEY_COLLECTION = "_subject_keys"
_CREATE_ATTEMPTS = 3


def _stored(wrapped: WrappedKey, at: datetime) -> dict[str, Any]:
    return {"nonce": b64url(wrapped.nonce), "key": b64url(wrapped.ciphertext), "at": at}


def _wrapped_of(document: dict[str, Any]) -> WrappedKey:
    try:
        stored = document["wrapped"]
        return WrappedKey(document["master"], unb64url(stored["nonce"]), unb64url(stored["key"]))
    except (KeyError, TypeError, ValueError):
        raise CryptoError(f"the key record of subject {document.get('_id')} is malformed") from None


class KeyRing:
    """The data keys of one service's subjects, kept in its own database.

    `cipher_for` creates a subject's key on first use; `destroy` shreds it; `rotate_master`
    rewraps every key under the current master version. Nothing unwrapped is cached.
    """

    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        master: MasterKeys,
        collection: str = KEY_COLLECTION,
    ) -> None:
        self._keys = db[collection]
        self._master = master

    async def create_indexes(self) -> None:
        """Index the master version, which `rotate_master` selects on (idempotent)."""
        await self._keys.create_index("master")

    async def cipher_for(self, subject_id: str, *, create: bool = True) -> FieldCipher | None:
        """The subject's cipher; its key is created on first use unless `create` is False.

        Race-safe: the key document is inserted with `_id` = subject id, so of concurrent
        first uses (in any replica) one insert wins and the others read the winner's key.
        None only when `create` is False and the subject has no key (never had or shredded).
        """
        check_subject_id(subject_id)
        for _ in range(_CREATE_ATTEMPTS):
            document = await self._keys.find_one({"_id": subject_id})
            if document is not None:
                return await self._open(document)
            if not create:
                return None
            data_key = os.urandom(KEY_BYTES)
            key_id = b64url(os.urandom(6))
            wrapped = await self._master.wrap(data_key, subject_id=subject_id)
            now = utcnow()
            record = {
                "_id": subject_id,
                "key_id": key_id,
                "master": wrapped.version,
                "wrapped": _stored(wrapped, now),
                "created_at": now,
            }
            try:
                await self._keys.insert_one(record)
            except DuplicateKeyError:
                continue  # another writer created it first: read theirs
            return FieldCipher(subject_id, key_id, data_key)
        raise CryptoError(f"could not settle the data key of subject {subject_id}")

    async def ciphers_of(self, subject_ids: Iterable[str]) -> dict[str, FieldCipher]:
        """The ciphers of those subjects that have a key, by subject id, from one store query.

        Creates no key: a subject without one (never had, or shredded) is simply absent.
        """
        wanted = sorted({check_subject_id(subject_id) for subject_id in subject_ids})
        if not wanted:
            return {}
        found = self._keys.find({"_id": {"$in": wanted}})
        return {document["_id"]: await self._open(document) async for document in found}

    async def decrypt(self, record_id: str, field: str, token: str) -> str:
        """The plaintext of a token; KeyDestroyed if its subject's key is gone."""
        subject_id = Token.parse(token).subject_id
        cipher = await self.cipher_for(subject_id, create=False)
        if cipher is None:
            raise KeyDestroyed(subject_id)
        return cipher.decrypt(record_id, field, token)

    async def decrypt_field(self, record_id: str, field: str, token: str) -> str | None:
        """The plaintext of a token, or None if it was crypto-shredded (reads as absent)."""
        try:
            return await self.decrypt(record_id, field, token)
        except KeyDestroyed:
            return None

    async def destroy(self, *subject_ids: str) -> None:
        """Crypto-shred: delete these subjects' data keys (those that have one), in one
        command shared with the other shreddings made meanwhile."""
        await deletes_from(self._keys).delete_in(map(check_subject_id, subject_ids))

    async def rotate_master(self, *, batch_size: int = 200) -> int:
        """Rewrap every data key not under the current master version; how many were rewrapped.

        Idempotent, resumable: keys already current are not selected. Each rewrap is guarded
        by the wrap it replaces, so a key destroyed meanwhile stays destroyed. A key whose
        version is not configured raises CryptoError; fix the settings and run it again.
        """
        current = self._master.current_version
        rewrapped = 0
        after: str | None = None
        while True:
            criteria: dict[str, Any] = {"master": {"$nin": [current]}}
            if after is not None:
                criteria["_id"] = {"$gt": after}
            cursor = self._keys.find(criteria).sort("_id", 1).limit(batch_size)
            batch = [document async for document in cursor]
            if not batch:
                return rewrapped
            for document in batch:
                subject_id = document["_id"]
                old = _wrapped_of(document)
                data_key = await self._master.unwrap(old, subject_id=subject_id)
                new = await self._master.wrap(data_key, subject_id=subject_id)
                result = await self._keys.update_one(
                    {
                        "_id": subject_id,
                        "master": old.version,
                        "wrapped.nonce": document["wrapped"]["nonce"],
                    },
                    {"$set": {"master": new.version, "wrapped": _stored(new, utcnow())}},
                )
                rewrapped += result.modified_count
            after = batch[-1]["_id"]

    async def _open(self, document: dict[str, Any]) -> FieldCipher:
        subject_id = document["_id"]
        data_key = await self._master.unwrap(_wrapped_of(document), subject_id=subject_id)
        return FieldCipher(subject_id, str(document.get("key_id", "")), data_key)


_SECRETS = frozenset({"master_keys", "blind_index_key"})


class EncryptionSettings(BaseSettings):
    """Keys of a data-owning service; mix in: `class Settings(ServiceSettings, EncryptionSettings)`.

    - `MASTER_KEYS`: `"v1:<base64 of 32 bytes>[,v2:...]"`, the last entry current, earlier
      ones only unwrap (see `LocalMasterKeys`).
    - `MASTER_KEYS_FILE`: a file holding that string (entries by comma or by line). When set,
      its content is used and `MASTER_KEYS` is ignored.
    - `BLIND_INDEX_KEY`: base64 of at least 32 random bytes, separate from the master keys.

    Both keys are required. Errors name the setting and the problem, never the value: secrets
    become `SecretStr` before any validator sees them and inputs are hidden from validation
    errors. For development: `LocalMasterKeys.generate()` and `BlindIndex.generate_key()`.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    master_keys_file: Path | None = None
    master_keys: SecretStr = Field(default=SecretStr(""), validate_default=True)
    blind_index_key: SecretStr = Field(default=SecretStr(""), validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _conceal_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                name: SecretStr(value) if name in _SECRETS and isinstance(value, str) else value
                for name, value in data.items()
            }
        return data

    @field_validator("master_keys")
    @classmethod
    def _check_master_keys(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        source = "MASTER_KEYS"
        path = info.data.get("master_keys_file")
        if path is not None:
            source = f"MASTER_KEYS_FILE {path}"
            try:
                value = SecretStr(Path(path).read_text(encoding="utf-8").strip())
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                raise ValueError(f"cannot read {source}: {reason}") from None
        if not value.get_secret_value().strip():
            raise ValueError(f"{source} is empty: set MASTER_KEYS or MASTER_KEYS_FILE")
        try:
            LocalMasterKeys(value.get_secret_value())
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
        return value

    @field_validator("blind_index_key")
    @classmethod
    def _check_blind_index_key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("BLIND_INDEX_KEY is required: base64 of at least 32 random bytes")
        try:
            key = base64.b64decode(value.get_secret_value().strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("BLIND_INDEX_KEY is not valid base64") from None
        if len(key) < KEY_BYTES:
            raise ValueError(f"BLIND_INDEX_KEY must decode to at least {KEY_BYTES} bytes")
        return value

    def make_master_keys(self) -> LocalMasterKeys:
        """The master keys these settings configure."""
        return LocalMasterKeys(self.master_keys.get_secret_value())

    def make_blind_index(self) -> BlindIndex:
        """The blind index these settings configure."""
        return BlindIndex(base64.b64decode(self.blind_index_key.get_secret_value().strip()))


class OptionalSealingKeys(BaseSettings):
    """The same keys, optional at start-up; mix in where a service runs without them (and
    refuses only what needs them): `class Settings(ServiceSettings, OptionalSealingKeys)`."""

    model_config = SettingsConfigDict(extra="ignore", hide_input_in_errors=True)

    master_keys: SecretStr | None = Field(default=None, description="MASTER_KEYS.")
    master_keys_file: Path | None = Field(default=None, description="MASTER_KEYS_FILE.")
    blind_index_key: SecretStr | None = Field(default=None, description="BLIND_INDEX_KEY.")

    def encryption(self) -> EncryptionSettings | None:
        """The validated keys, or None when they are not configured."""
        has_master = self.master_keys is not None or self.master_keys_file is not None
        if not has_master or self.blind_index_key is None:
            return None
        return EncryptionSettings(
            master_keys_file=self.master_keys_file,
            master_keys=self.master_keys.get_secret_value() if self.master_keys else "",
            blind_index_key=self.blind_index_key.get_secret_value(),
        )
