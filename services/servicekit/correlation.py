"""The correlation id of the work in progress, carried across awaits by a context variable."""

from __future__ import annotations

from contextvars import ContextVar

import structlog

from servicekit.ids import new_id

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    """The correlation id bound to this task, or a fresh one when none is bound."""
    return _current.get() or new_id("cor")


def bind_correlation_id(correlation_id: str, **fields: str) -> None:
    """Bind a correlation id (and extra fields) for this task and its log records."""
    _current.set(correlation_id)
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **fields)
