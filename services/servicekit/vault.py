"""A data-owning service's personal fields: sealed per subject, opened per record, indexed blind.

Stored documents keep sealed fields as tokens (`enc1.…` strings) and, for the fields looked up
exactly (emails, phones), a blind index beside them: `{"email": "enc1…", "email_bidx": "…"}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from servicekit.crypto import BlindIndex, FieldCipher, KeyDestroyed, Token
from servicekit.keyring import EncryptionSettings, KeyRing

BLIND_SUFFIX = "_bidx"


def blind_field(field: str) -> str:
    """The name of the field that holds `field`'s blind index."""
    return f"{field}{BLIND_SUFFIX}"


class Vault:
    """Seals and opens personal fields with per-subject keys; computes blind indexes."""

    def __init__(self, keyring: KeyRing, blind_index: BlindIndex) -> None:
        self.keyring = keyring
        self.blind_index = blind_index

    @classmethod
    def from_settings(
        cls, db: AsyncDatabase[dict[str, Any]], settings: EncryptionSettings
    ) -> Vault:
        """The vault of a service, its keys in the service's own database."""
        return cls(KeyRing(db, settings.make_master_keys()), settings.make_blind_index())

    def index(self, kind: str, value: str) -> str:
        """The blind index of a value (`kind` is "email", "phone", ...)."""
        return self.blind_index.of(kind, value)

    async def seal(
        self,
        subject_id: str,
        record_id: str,
        fields: Mapping[str, str | None],
        *,
        indexed: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Encrypted tokens of the non-empty `fields`, plus blind indexes of the `indexed` ones.

        `indexed` maps a field name to its index kind, e.g. `{"email": "email"}`.
        """
        present = {name: value for name, value in fields.items() if value is not None}
        if not present:
            return {}
        cipher = await self.keyring.cipher_for(subject_id)
        assert cipher is not None  # created on first use
        sealed = {name: cipher.encrypt(record_id, name, value) for name, value in present.items()}
        for name, kind in (indexed or {}).items():
            if name in present:
                sealed[blind_field(name)] = self.index(kind, present[name])
        return sealed

    async def open(
        self, record_id: str, document: Mapping[str, Any], fields: Iterable[str]
    ) -> dict[str, str | None]:
        """The plaintext of each sealed field present; None where absent or shredded."""
        return (await self.open_many([(record_id, document)], fields))[0]

    async def open_many(
        self, records: Sequence[tuple[str, Mapping[str, Any]]], fields: Iterable[str]
    ) -> list[dict[str, str | None]]:
        """`open` of each `(record id, document)`, in order, their keys read in one query.

        Nothing unwrapped outlives the call, so a key shredded before it is never used.
        """
        names = list(fields)
        tokens = [
            {name: token for name in names if isinstance(token := document.get(name), str)}
            for _, document in records
        ]
        subjects = {Token.parse(token).subject_id for found in tokens for token in found.values()}
        ciphers = await self.keyring.ciphers_of(subjects)
        return [
            {name: _opened(ciphers, record_id, name, found.get(name)) for name in names}
            for (record_id, _), found in zip(records, tokens, strict=True)
        ]

    async def shred(self, *subject_ids: str) -> None:
        """Destroy these subjects' keys: every sealed copy of their fields becomes unreadable."""
        await self.keyring.destroy(*subject_ids)


def _opened(
    ciphers: Mapping[str, FieldCipher], record_id: str, field: str, token: str | None
) -> str | None:
    """The plaintext of one token, or None if there is none or its key is gone."""
    if token is None:
        return None
    cipher = ciphers.get(Token.parse(token).subject_id)
    if cipher is None:
        return None
    try:
        return cipher.decrypt(record_id, field, token)
    except KeyDestroyed:
        return None
