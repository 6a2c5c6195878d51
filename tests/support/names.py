"""Unique names so test runs never collide on the shared broker."""

from __future__ import annotations

import re
import secrets

THROWAWAY_NAMESPACES = re.compile(r"t[0-9a-f]{10}|bench[0-9a-f]{8}(bus)?")
"""Namespaces of test and benchmark runs; one nobody consumes from is a killed run's leftover."""


def unique_namespace() -> str:
    """A fresh bus namespace (also the database-name prefix)."""
    return f"t{secrets.token_hex(5)}"
