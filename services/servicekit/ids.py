"""Prefixed, time-sortable identifiers (`ptn_…`, `ord_…`, `dsr_…`)."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_PAIRS = tuple(high + low for high in _ALPHABET for low in _ALPHABET)
"""Every two-digit string, indexed by the 10 bits it encodes: ten bits per lookup."""

_RANDOM_BYTES = 10
_MILLIS_SHIFTS = tuple(range(40, -1, -10))
"""10 digits: 50 bits of milliseconds since the epoch."""
_RANDOM_SHIFTS = tuple(range(8 * _RANDOM_BYTES - 10, -1, -10))
"""16 digits: 80 random bits."""
_DRAWS_PER_READ = 256
"""Random values read from the OS at once: one system call per id costs more than the rest of
making it."""

_random_values: Iterator[int] = iter(())


def _read_random_values() -> Iterator[int]:
    block = os.urandom(_RANDOM_BYTES * _DRAWS_PER_READ)
    return iter(
        [
            int.from_bytes(block[start : start + _RANDOM_BYTES])
            for start in range(0, len(block), _RANDOM_BYTES)
        ]
    )


def _random_value() -> int:
    """80 bits from the OS's CSPRNG (`next` on a list iterator is atomic, so threads share the
    values safely; two that find it empty both read a block, which is harmless)."""
    global _random_values
    value = next(_random_values, None)
    while value is None:
        _random_values = _read_random_values()
        value = next(_random_values, None)
    return value


def _forget_random_values() -> None:
    """A forked child must not reuse the values its parent still holds."""
    global _random_values
    _random_values = iter(())


os.register_at_fork(after_in_child=_forget_random_values)


def _digits(value: int, shifts: tuple[int, ...]) -> str:
    """The bits of `value` at `shifts` (ten each) as base32 digits, most significant first."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in shifts])


@functools.lru_cache(maxsize=1)
def _millis_digits(millis: int) -> str:
    """Ids made within the same millisecond share these digits: encoded once."""
    return _digits(millis, _MILLIS_SHIFTS)


def new_id(prefix: str) -> str:
    """A new id: the prefix, then 10 characters of milliseconds and 16 of randomness.

    Ids made later sort after ids made earlier (to the millisecond), so `_id` order is
    creation order and cursors can page by `_id`.
    """
    millis = _millis_digits(time.time_ns() // 1_000_000)
    return f"{prefix}_{millis}{_digits(_random_value(), _RANDOM_SHIFTS)}"
