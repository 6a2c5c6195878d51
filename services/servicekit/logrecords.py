"""The shippable form of a structlog record: subject ids lifted, everything else bounded.

Subject identifiers are lifted from the record's own keys (`partner_id`, `user_id`, `email`,
`ip`, `user_agent`) so that the logs service seals them; a service that logs personal data
under any other key defeats that, so it must not. Other keys go to `fields` as JSON scalars
a document store keeps as they are.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from contracts.logs import MAX_EXTRA_FIELDS, MAX_VALUE_CHARS
from servicekit.clock import utcnow

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_LEVEL_ALIASES = {"exception": "error", "warn": "warning", "fatal": "critical"}
LIFTED_LIMITS = {
    "correlation_id": 200,
    "request_id": 200,
    "message_type": 200,
    "partner_id": 200,
    "user_id": 200,
    "email": 320,
    "ip": 64,
    "user_agent": 512,
}
"""Keys lifted out of `fields` into the record itself, with the length each is cut to."""
_NOT_FIELDS = {"event", "level", "timestamp", "service", "logger", *LIFTED_LIMITS}
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_INT64 = 2**63


def level_of(method: str, event_dict: Mapping[str, Any]) -> str:
    """The record's level as the contract names it."""
    name = str(event_dict.get("level") or method).lower()
    name = _LEVEL_ALIASES.get(name, name)
    return name if name in LEVELS else "info"


def to_record(event_dict: Mapping[str, Any], level: str, service: str) -> dict[str, Any]:
    """The shippable form of a structlog event dict: subject ids lifted, the rest bounded."""
    record: dict[str, Any] = {
        "at": _time_of(event_dict.get("timestamp")),
        "service": _cut(str(event_dict.get("service") or service), 200),
        "level": level,
        "event": _cut(str(event_dict.get("event") or "-"), MAX_VALUE_CHARS),
    }
    logger = event_dict.get("logger") or getattr(event_dict.get("_record"), "name", None)
    if logger:
        record["logger"] = _cut(str(logger), 200)
    for key, limit in LIFTED_LIMITS.items():
        value = event_dict.get(key)
        if value is not None and str(value):
            record[key] = _cut(str(value), limit)
    record["fields"] = extra_fields(event_dict)
    return record


def extra_fields(event_dict: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """The record's other keys as JSON scalars: at most 50, strings cut at 1,000 characters."""
    fields: dict[str, str | int | float | bool] = {}
    for key, value in event_dict.items():
        name = str(key)
        if name in _NOT_FIELDS or name.startswith("_") or value is None:
            continue
        safe = _UNSAFE_KEY_CHARS.sub("_", name)[:64] or "_"
        if safe in fields:
            continue
        if len(fields) == MAX_EXTRA_FIELDS:
            break
        fields[safe] = scalar_of(value)
    return fields


def scalar_of(value: Any) -> str | int | float | bool:
    """A value any store keeps as it is: bounded strings, 64-bit ints, finite floats, bools."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and -_INT64 <= value < _INT64:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        return _cut(value, MAX_VALUE_CHARS)
    if isinstance(value, Mapping | list | tuple):
        with contextlib.suppress(Exception):
            return _cut(json.dumps(value, default=str, ensure_ascii=False), MAX_VALUE_CHARS)
    return _cut(str(value), MAX_VALUE_CHARS)


def _cut(text: str, limit: int) -> str:
    return text[:limit]


def _time_of(stamp: Any) -> datetime:
    if isinstance(stamp, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(stamp)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return utcnow()
