"""API keys: `esk_<mode>_<key id><secret><checksum>`, stored only as an HMAC of the secret.

The key id is public (shown in listings, used to find the key); the secret has 190 bits of
entropy; the checksum (CRC32 of the rest) lets scanners recognise a leaked key and lets us
reject a mistyped one without a database read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import zlib
from dataclasses import dataclass
from typing import Literal

Mode = Literal["live", "test"]

_BASE62 = string.digits + string.ascii_letters
KEY_ID_LENGTH = 16
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
_KEY = re.compile(
    rf"esk_(live|test)_([0-9A-Za-z]{{{KEY_ID_LENGTH}}})([0-9A-Za-z]{{{SECRET_LENGTH}}})"
    rf"([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})"
)


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


@dataclass(frozen=True)
class ParsedKey:
    """A presented key split into its parts."""

    mode: Mode
    key_id: str
    secret: str

    @property
    def prefix(self) -> str:
        """What listings show: enough to recognise the key, useless to an attacker."""
        return f"esk_{self.mode}_{self.key_id[:6]}"


def generate(mode: Mode) -> tuple[str, ParsedKey]:
    """A new key: the full string (shown once) and its parts."""
    key_id = _random_base62(KEY_ID_LENGTH)
    secret = _random_base62(SECRET_LENGTH)
    body = f"esk_{mode}_{key_id}{secret}"
    return body + _checksum(body), ParsedKey(mode=mode, key_id=key_id, secret=secret)


def parse(presented: str) -> ParsedKey | None:
    """The key's parts, or None when it is not a well-formed key with a valid checksum."""
    match = _KEY.fullmatch(presented)
    if match is None:
        return None
    mode, key_id, secret, checksum = match.groups()
    body = presented[:-CHECKSUM_LENGTH]
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return ParsedKey(mode="live" if mode == "live" else "test", key_id=key_id, secret=secret)


def secret_digest(secret: str, pepper: str) -> str:
    """HMAC-SHA256 of the secret under the server-side pepper: all that is stored."""
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()
