"""Structured logging: JSON off a TTY, console on one, correlation ids bound, secrets redacted.

Redacted records are also copied to the log shipper (`servicekit.logshipping`).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

from servicekit.logshipping import ship_processor

REDACTED = "[REDACTED]"

_SECRET_KEY_NAMES = re.compile(
    r"(pass(word)?|secret|api[_-]?key|authorization|token|activation[_-]?code|lpa|cookie|pepper"
    r"|master[_-]?key|private[_-]?key|credential)",
    re.IGNORECASE,
)
_SECRET_PATTERNS = (
    re.compile(r"esk_(?:live|test)_[A-Za-z0-9_]+"),
    re.compile(r"LPA:1\$[^\s\"',;]+", re.IGNORECASE),
    re.compile(r"whsec_[A-Za-z0-9+/=_-]+"),
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(amqps?|mongodb(?:\+srv)?)://[^:/\s@]+:[^@/\s]+@"),
)


def redact_text(text: str) -> str:
    """Replace every secret-shaped substring (API keys, LPA strings, bearer tokens...)."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    """Redact a value: wholly when its key names a secret, else any secret inside it."""
    if _SECRET_KEY_NAMES.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact_value(key, item) for item in value]
    if isinstance(value, BaseException):
        return redact_text(repr(value))
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: no secret reaches a log record."""
    for key in list(event_dict):
        event_dict[key] = redact_value("" if key == "event" else key, event_dict[key])
    return event_dict


def _redact_rendered(_logger: Any, _method: str, rendered: Any) -> Any:
    return redact_text(rendered) if isinstance(rendered, str) else rendered


def configure_logging(
    service: str, level: str = "info", fmt: str = "auto", stream: TextIO | None = None
) -> None:
    """Configure structlog (and the standard library's logging) for one service process."""
    output = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not output.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=output.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    structlog.configure(
        processors=[*shared, ship_processor, renderer, _redact_rendered],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.WriteLoggerFactory(output),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(output)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
                _redact_rendered,
            ],
            foreign_pre_chain=[
                *shared[:-1],
                structlog.stdlib.ExtraAdder(),
                redact_processor,
                ship_processor,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger(service).setLevel(level.upper())
