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
GapListener = Callable[[], None]


@dataclass(frozen=True)
class Route:
    """A message type's model and the function that handles it."""

    model: type[Contract]
    handler: Handler
    idempotent: bool = False
    """The handler's effects are idempotent by themselves, so the inbox is not consulted."""


@dataclass
class Router:
    """A service's handlers: `on` for commands and events, `answer` for request/reply,
    `on_broadcast` for events every replica must hear."""

    routes: dict[str, Route] = field(default_factory=dict)
    answers: dict[str, Route] = field(default_factory=dict)
    broadcasts: dict[str, Route] = field(default_factory=dict)
    gap_listeners: list[GapListener] = field(default_factory=list)

    def on(
        self,
        model: type[M],
        handler: Callable[[M, MessageContext], Awaitable[None]],
        *,
        idempotent: bool = False,
    ) -> None:
        """Handle a command or event: at least once, acknowledged after its effects commit.

        Each message is handled once per message id through the inbox, unless the handler
        says it is `idempotent`: its effects are keyed by a business key (an insert under a
        unique id, a conditional update), so a second delivery changes nothing by itself and
        the inbox's read and write would only cost two round trips to the store."""
        if model.TYPE in self.routes:
            raise ValueError(f"{model.TYPE} already has a handler")
        if model.KIND not in ("command", "event"):
            raise ValueError(f"{model.TYPE} is a {model.KIND}; `on` takes commands and events")
        self.routes[model.TYPE] = Route(model, handler, idempotent)

    def answer(self, model: type[M], handler: Callable[[M, MessageContext], Awaitable[R]]) -> None:
        """Answer a request/reply call (a query, or a command that needs an answer)."""
        if model.TYPE in self.answers:
            raise ValueError(f"{model.TYPE} already has an answer")
        self.answers[model.TYPE] = Route(model, handler)

    def on_broadcast(
        self, model: type[M], handler: Callable[[M, MessageContext], Awaitable[None]]
    ) -> None:
        """Hear an event in every replica of this service, for in-memory effects only.

        Each process gets its own copy, from a queue that lives as long as its connection:
        no inbox, no retries (a failing handler is logged), and events published while the
        connection is down are missed; `on_broadcast_gap` says when that may have happened.
        """
        if model.TYPE in self.broadcasts:
            raise ValueError(f"{model.TYPE} already has a broadcast handler")
        if model.KIND != "event":
            raise ValueError(f"{model.TYPE} is a {model.KIND}; only events are broadcast")
        self.broadcasts[model.TYPE] = Route(model, handler)

    def on_broadcast_gap(self, listener: GapListener) -> None:
        """Call `listener` whenever broadcasts may have been missed (the connection dropped,
        or came back): state built from broadcasts should be reset."""
        self.gap_listeners.append(listener)

    @property
    def event_types(self) -> list[str]:
        """The event types this service subscribes to."""
        return sorted(t for t, route in self.routes.items() if route.model.KIND == "event")

    @property
    def broadcast_types(self) -> list[str]:
        """The event types every replica of this service hears."""
        return sorted(self.broadcasts)
