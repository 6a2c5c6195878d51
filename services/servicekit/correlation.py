"""The correlation id of the work in progress, carried across awaits by a context variable."""

from __future__ import annotations

from contextvars import ContextVar

import structlog

from servicekit.ids import new_id

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    """The correlation id bound to this task, or a fresh one when none is bound."""
    return _current.get() or new_id("cor")


def bound_correlation_id() -> str | None:
    """The correlation id bound to this task, if any."""
    return _current.get()


def correlation_of(message_id: str) -> str:
    """The correlation id a message starts when none is bound: its own id, as `cor_…`
    (unique as the message id is, and one fewer id to make per message)."""
    _, _, suffix = message_id.partition("_")
    return f"cor_{suffix or message_id}"


def bind_correlation_id(correlation_id: str, **fields: str) -> None:
    """Bind a correlation id (and extra fields) for this task and its log records."""
    _current.set(correlation_id)
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **fields)
