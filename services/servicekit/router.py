"""Which handler takes which message type, and with which contract model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from contracts import Contract, Reply
from servicekit.messages import MessageContext

M = TypeVar("M", bound=Contract)
R = TypeVar("R", bound=Reply)

Handler = Callable[[Any, MessageContext], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """A message type's model and the function that handles it."""

    model: type[Contract]
    handler: Handler


@dataclass
class Router:
    """A service's handlers: `on` for commands and events, `answer` for request/reply."""

    routes: dict[str, Route] = field(default_factory=dict)
    answers: dict[str, Route] = field(default_factory=dict)

    def on(self, model: type[M], handler: Callable[[M, MessageContext], Awaitable[None]]) -> None:
        """Handle a command or event: at least once, acknowledged after its effects commit."""
        if model.TYPE in self.routes:
            raise ValueError(f"{model.TYPE} already has a handler")
        if model.KIND not in ("command", "event"):
            raise ValueError(f"{model.TYPE} is a {model.KIND}; `on` takes commands and events")
        self.routes[model.TYPE] = Route(model, handler)

    def answer(self, model: type[M], handler: Callable[[M, MessageContext], Awaitable[R]]) -> None:
        """Answer a request/reply call (a query, or a command that needs an answer)."""
        if model.TYPE in self.answers:
            raise ValueError(f"{model.TYPE} already has an answer")
        self.answers[model.TYPE] = Route(model, handler)

    @property
    def event_types(self) -> list[str]:
        """The event types this service subscribes to."""
        return sorted(t for t, route in self.routes.items() if route.model.KIND == "event")
