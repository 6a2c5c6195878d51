"""Prefixed, time-sortable identifiers (`ptn_…`, `ord_…`, `dsr_…`)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_PAIRS = tuple(high + low for high in _ALPHABET for low in _ALPHABET)
"""Every two-digit string, indexed by the 10 bits it encodes: ten bits per lookup."""

_MILLIS_DIGITS = 10
_RANDOM_BITS = 80


def _encode(value: int, length: int) -> str:
    """The low `5 * length` bits of `value` as `length` base32 digits, most significant first."""
    head = _ALPHABET[(value >> (5 * (length - 1))) & 31] if length % 2 else ""
    top = 10 * (length // 2 - 1)
    return head + "".join([_PAIRS[(value >> shift) & 1023] for shift in range(top, -1, -10)])


def new_id(prefix: str) -> str:
    """A new id: the prefix, then 10 characters of milliseconds and 16 of randomness.

    Ids made later sort after ids made earlier (to the millisecond), so `_id` order is
    creation order and cursors can page by `_id`.
    """
    millis = time.time_ns() // 1_000_000
    value = (millis << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
    return f"{prefix}_{_encode(value, _MILLIS_DIGITS + _RANDOM_BITS // 5)}"
