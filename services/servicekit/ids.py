"""Prefixed, time-sortable identifiers (`ptn_…`, `ord_…`, `dsr_…`)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id: the prefix, then 10 characters of milliseconds and 16 of randomness.

    Ids made later sort after ids made earlier (to the millisecond), so `_id` order is
    creation order and cursors can page by `_id`.
    """
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_encode(millis, 10)}{_encode(secrets.randbits(80), 16)}"
