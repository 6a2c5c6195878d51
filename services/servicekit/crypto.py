"""Encryption at rest: master keys, field tokens and ciphers, blind indexes.

Key hierarchy: master keys (settings; a KMS later, behind `MasterKeys`) wrap one data key per
data subject (stored by `servicekit.keyring.KeyRing`, which also has `EncryptionSettings`); a
data key encrypts that subject's fields with AES-256-GCM. Destroying the data key shreds every
copy of those fields. Decision 0004: token format, rotation, what shredding guarantees.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_TAG = "enc1"
KEY_BYTES = 32
NONCE_BYTES = 12
SUBJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_VERSION = re.compile(r"[A-Za-z0-9_-]{1,32}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class CryptoError(Exception):
    """Something could not be encrypted or decrypted; the message never holds plaintext or keys."""


class KeyDestroyed(CryptoError):
    """The data key that sealed a token was destroyed (crypto-shredded): the value is gone."""

    def __init__(self, subject_id: str) -> None:
        super().__init__(f"the data key of subject {subject_id} was destroyed")
        self.subject_id = subject_id


def check_subject_id(subject_id: str) -> str:
    """Return `subject_id` if it is an opaque id (letters, digits, `_`, `-`; at most 128).

    Subject ids appear in clear in every token, so an email or phone number must never be one;
    the pattern also keeps the token's `.` separator unambiguous.
    """
    if not isinstance(subject_id, str) or not SUBJECT_ID.fullmatch(subject_id):
        raise ValueError("a subject id is 1-128 letters, digits, '_' or '-' (an opaque id)")
    return subject_id


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding (no `.`, so it can sit between token separators)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Inverse of `b64url`; ValueError on anything else."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not url-safe base64")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not url-safe base64") from None


def _associated(*parts: str) -> bytes:
    return json.dumps(parts, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under one master-key version."""

    version: str
    nonce: bytes
    ciphertext: bytes = field(repr=False)


class MasterKeys(Protocol):
    """Wraps and unwraps data keys. Async, so a KMS (a network call) fits behind it later."""

    @property
    def current_version(self) -> str:
        """The version new wraps use; older versions still unwrap."""
        ...

    async def wrap(self, data_key: bytes, *, subject_id: str) -> WrappedKey:
        """Encrypt `data_key` under the current version, bound to `subject_id`."""
        ...

    async def unwrap(self, wrapped: WrappedKey, *, subject_id: str) -> bytes:
        """Decrypt a wrapped key; CryptoError if its version is unknown or it does not open."""
        ...


class LocalMasterKeys:
    """Master keys from a settings string `"v1:<base64 32 bytes>,v2:<base64 32 bytes>"`.

    The last entry is current; earlier ones only unwrap. Entries may also be separated by
    newlines (a key file). Wraps are AES-256-GCM with the version and subject id as
    associated data.
    """

    def __init__(self, setting: str) -> None:
        self._keys: dict[str, AESGCM] = {}
        entries = [entry.strip() for entry in re.split(r"[,\n]", setting) if entry.strip()]
        if not entries:
            raise ValueError("no master keys: expected 'v1:<base64 of 32 bytes>[,v2:...]'")
        for position, entry in enumerate(entries, start=1):
            version, colon, encoded = entry.partition(":")
            version = version.strip()
            if not colon or not _VERSION.fullmatch(version):
                raise ValueError(
                    f"master key entry {position} is not '<version>:<base64>' with a version"
                    " of letters, digits, '_' or '-'"
                )
            if version in self._keys:
                raise ValueError(f"master key version {version} appears twice")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"master key {version} is not valid base64") from None
            if len(key) != KEY_BYTES:
                raise ValueError(f"master key {version} must be {KEY_BYTES} bytes, not {len(key)}")
            self._keys[version] = AESGCM(key)
        self._current = list(self._keys)[-1]

    @classmethod
    def generate(cls, version: str = "v1") -> str:
        """A new random entry `"<version>:<base64>"`: a whole setting, or one to append."""
        if not _VERSION.fullmatch(version):
            raise ValueError("a version is 1-32 letters, digits, '_' or '-'")
        return f"{version}:{base64.b64encode(os.urandom(KEY_BYTES)).decode('ascii')}"

    @property
    def current_version(self) -> str:
        """The version new wraps use."""
        return self._current

    @property
    def versions(self) -> list[str]:
        """Every configured version, oldest first."""
        return list(self._keys)

    async def wrap(self, data_key: bytes, *, subject_id: str) -> WrappedKey:
        """Encrypt `data_key` under the current version, bound to `subject_id`."""
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated("esim-dek", self._current, subject_id)
        sealed = self._keys[self._current].encrypt(nonce, data_key, aad)
        return WrappedKey(self._current, nonce, sealed)

    async def unwrap(self, wrapped: WrappedKey, *, subject_id: str) -> bytes:
        """Decrypt a wrapped key; CryptoError if its version is unknown or it does not open."""
        master = self._keys.get(wrapped.version)
        if master is None:
            raise CryptoError(
                f"the data key of subject {subject_id} is wrapped with master key version"
                f" {wrapped.version}, which is not configured"
            )
        aad = _associated("esim-dek", wrapped.version, subject_id)
        try:
            return master.decrypt(wrapped.nonce, wrapped.ciphertext, aad)
        except InvalidTag:
            raise CryptoError(
                f"master key {wrapped.version} does not open the data key of subject"
                f" {subject_id} (wrong master key, or the key record was altered)"
            ) from None

    def __repr__(self) -> str:
        return f"LocalMasterKeys(versions={self.versions}, current={self._current!r})"


@dataclass(frozen=True, slots=True)
class Token:
    """A parsed token `enc1.<subject id>.<key id>.<nonce>.<ciphertext>` (base64url parts)."""

    subject_id: str
    key_id: str
    nonce: bytes
    ciphertext: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Token:
        """Parse a stored token; CryptoError if it is not one."""
        parts = text.split(".") if isinstance(text, str) else []
        if len(parts) != 5 or parts[0] != FORMAT_TAG or not SUBJECT_ID.fullmatch(parts[1]):
            raise CryptoError(f"not an {FORMAT_TAG} token")
        try:
            key_id, nonce, sealed = parts[2], unb64url(parts[3]), unb64url(parts[4])
            unb64url(key_id)
        except ValueError:
            raise CryptoError(f"not an {FORMAT_TAG} token") from None
        if len(nonce) != NONCE_BYTES or len(sealed) < 16:
            raise CryptoError(f"not an {FORMAT_TAG} token")
        return cls(parts[1], key_id, nonce, sealed)

    def __str__(self) -> str:
        parts = (self.subject_id, self.key_id, b64url(self.nonce), b64url(self.ciphertext))
        return ".".join((FORMAT_TAG, *parts))


class FieldCipher:
    """One subject's data key, for one unit of work: encrypts and decrypts that subject's fields.

    The associated data is the token version, subject id, record id and field name, so a
    token copied to another record or field does not decrypt. Get one from
    `KeyRing.cipher_for`; do not keep it beyond the work at hand (the key may be destroyed).
    """

    def __init__(self, subject_id: str, key_id: str, data_key: bytes) -> None:
        self.subject_id = check_subject_id(subject_id)
        self.key_id = key_id
        self._aead = AESGCM(data_key)

    def encrypt(self, record_id: str, field: str, plaintext: str) -> str:
        """The token for `plaintext` stored in `field` of record `record_id` (fresh nonce)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._aad(record_id, field))
        return str(Token(self.subject_id, self.key_id, nonce, sealed))

    def decrypt(self, record_id: str, field: str, token: str) -> str:
        """The plaintext of `token` read from `field` of `record_id`.

        KeyDestroyed if the token was sealed by a key since destroyed; CryptoError if it
        belongs to another subject, record or field, or was altered.
        """
        parsed = Token.parse(token)
        if parsed.subject_id != self.subject_id:
            raise CryptoError(f"the token belongs to another subject than {self.subject_id}")
        if parsed.key_id != self.key_id:
            raise KeyDestroyed(self.subject_id)
        try:
            plain = self._aead.decrypt(parsed.nonce, parsed.ciphertext, self._aad(record_id, field))
        except InvalidTag:
            raise CryptoError(
                f"the token does not decrypt for record {record_id!r} field {field!r}"
                " (altered, or moved from another record or field)"
            ) from None
        return plain.decode()

    def _aad(self, record_id: str, field: str) -> bytes:
        if not record_id or not field:
            raise ValueError("record id and field name are required")
        return _associated(FORMAT_TAG, self.subject_id, record_id, field)

    def __repr__(self) -> str:
        return f"FieldCipher(subject_id={self.subject_id!r}, key_id={self.key_id!r})"


def _normalise(kind: str, value: str) -> str:
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        return "".join(ch for ch in value if ch in "+0123456789")
    if kind == "ip":
        return _canonical_ip(value.strip())
    return value.strip()


def _canonical_ip(text: str) -> str:
    """An IP address in its canonical text (`2001:DB8::0:1` → `2001:db8::1`); else as given."""
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


class BlindIndex:
    """Exact-match lookup values for encrypted fields: HMAC-SHA256 under a key of its own.

    `of("email", " A@B.example ")` equals `of("email", "a@b.example")`: emails are stripped
    and lower-cased, phones keep `+` and digits only, IP addresses take their canonical form,
    other kinds are stripped. The kind is
    part of the message, so an email and a phone with the same text index differently.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a blind-index key has at least {KEY_BYTES} bytes")
        self._key = key

    @staticmethod
    def generate_key() -> str:
        """A new random key, base64 (for BLIND_INDEX_KEY in development)."""
        return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    def of(self, kind: str, value: str) -> str:
        """The hex index of `value` as a `kind` (e.g. "email", "phone"), after normalising."""
        if not _KIND.fullmatch(kind):
            raise ValueError("a kind is lower-case letters, digits and '_'")
        normalised = _normalise(kind, value)
        if not normalised:
            raise ValueError(f"nothing to index: the {kind} is empty once normalised")
        message = f"{kind}\x00{normalised}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "BlindIndex(key=**********)"
