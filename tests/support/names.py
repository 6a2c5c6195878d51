"""Unique names so test runs never collide on the shared broker."""

from __future__ import annotations

import secrets


def unique_namespace() -> str:
    """A fresh bus namespace (also the database-name prefix)."""
    return f"t{secrets.token_hex(5)}"
