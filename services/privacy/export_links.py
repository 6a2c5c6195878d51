"""Signed, expiring download tokens of export packages.

A token is `<payload>.<signature>`, both base64url without padding: the payload is the JSON
`{"r": request id, "e": expiry in Unix seconds}` (never personal data), the signature its
HMAC-SHA256 under `EXPORT_LINK_KEY`. Whoever holds a valid token may download the package
until it expires: the token is the authority, so links are handed only to the requester.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from servicekit.errors import ServiceError

KEY_BYTES = 32


class LinkKeyError(ValueError):
    """An `EXPORT_LINK_KEY` that is not base64 of at least 32 bytes."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_link_key() -> str:
    """A new `EXPORT_LINK_KEY`: base64 of 32 random bytes."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def link_key(encoded: str) -> bytes:
    """The raw key of `EXPORT_LINK_KEY`; a clear error (without the value) when malformed."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as failure:
        raise LinkKeyError("EXPORT_LINK_KEY is not valid base64") from failure
    if len(raw) < KEY_BYTES:
        raise LinkKeyError(f"EXPORT_LINK_KEY must hold at least {KEY_BYTES} bytes")
    return raw


@dataclass(frozen=True)
class LinkGrant:
    """What a valid token allows: downloading one request's package until a time."""

    request_id: str
    expires_at: datetime


def sign_token(key: bytes, grant: LinkGrant) -> str:
    """The token of a grant."""
    payload = json.dumps(
        {"r": grant.request_id, "e": int(grant.expires_at.timestamp())}, separators=(",", ":")
    ).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


FORGED = "the download link is not valid"


def check_token(key: bytes, token: str, now: datetime) -> LinkGrant:
    """The grant of a genuine, unexpired token; `forbidden` when it is not genuine, `gone`
    when it expired."""
    encoded, _, signature = token.partition(".")
    try:
        payload = _unb64(encoded)
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise ServiceError("forbidden", FORGED) from None
    expected = hmac.new(key, payload, hashlib.sha256).digest()
    if not signature or not hmac.compare_digest(given, expected):
        raise ServiceError("forbidden", FORGED)
    try:
        fields = json.loads(payload)
        grant = LinkGrant(
            request_id=str(fields["r"]), expires_at=datetime.fromtimestamp(int(fields["e"]), UTC)
        )
    except (ValueError, KeyError, TypeError):
        raise ServiceError("forbidden", FORGED) from None
    if grant.expires_at <= now:
        raise ServiceError("gone", "the download link has expired; ask for a new one")
    return grant
