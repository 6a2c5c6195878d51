"""Unique names so test runs never collide on the shared broker, stamped with their start so
a later run can tell a killed run's leftovers from a live run's namespaces."""

from __future__ import annotations

import re
import secrets
import time

LEFT_BEHIND_AFTER_S = 2 * 3600
"""A test or benchmark namespace older than this is a leftover (a whole suite takes minutes)."""
_STAMPED = re.compile(r"(?:t|bench)(?P<started>[0-9a-f]{8})[0-9a-f]{6}(?:bus)?")
_UNSTAMPED = re.compile(r"t[0-9a-f]{10}|bench[0-9a-f]{8}(?:bus)?")
"""Names from before namespaces carried their start: all from runs long over."""


def unique_namespace() -> str:
    """A fresh bus namespace (also the database-name prefix): its start time, then chance."""
    return f"t{int(time.time()):08x}{secrets.token_hex(3)}"


def left_behind(namespace: str) -> bool:
    """Whether a namespace is a test or benchmark run's that started long ago."""
    if _UNSTAMPED.fullmatch(namespace):
        return True
    stamped = _STAMPED.fullmatch(namespace)
    return bool(stamped) and time.time() - int(stamped["started"], 16) > LEFT_BEHIND_AFTER_S
