"""The base of every message that crosses the bus, and the envelope that travels with it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SecretStr

MessageKind = Literal["command", "event", "query", "reply"]

WireSecret = Annotated[
    SecretStr, PlainSerializer(lambda value: value.get_secret_value(), when_used="json")
]
"""A secret that crosses the wire in JSON but is masked in `repr`, `str` and Python dumps."""


class Contract(BaseModel):
    """A message body: strict about unknown fields, immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    KIND: ClassVar[MessageKind]


class Command(Contract):
    """An instruction addressed to one service; named imperatively (`privacy.erase_subject.v1`)."""

    KIND: ClassVar[MessageKind] = "command"


class Event(Contract):
    """A fact that happened, published to whoever subscribes; named in the past tense."""

    KIND: ClassVar[MessageKind] = "event"


class Query(Contract):
    """A request answered over direct reply-to with a reply model.

    Mostly reads; also a command whose caller needs the answer at once (opening a privacy
    request returns its id). Either way it travels on the queries exchange.
    """

    KIND: ClassVar[MessageKind] = "query"


class Reply(Contract):
    """The answer to a query or to a request-style command."""

    KIND: ClassVar[MessageKind] = "reply"


class Envelope(BaseModel):
    """Metadata every message carries in its AMQP properties (the body is the contract's JSON).

    `type` goes in the AMQP `type` property, `producer` in `app_id`, `occurred_at` in
    `timestamp`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str = Field(description="Unique id of this message; the consumers' inbox key.")
    correlation_id: str = Field(description="Id shared by every message of one causal chain.")
    type: str = Field(description="Contract type with version, e.g. `privacy.erase_subject.v1`.")
    occurred_at: datetime = Field(description="When the message was created (UTC).")
    producer: str = Field(description="Name of the service that produced the message.")


class RemoteError(Reply):
    """The reply to a query that failed: a stable machine code and a human message."""

    TYPE: ClassVar[str] = "error.v1"

    code: str = Field(description="Stable machine-readable error code.", examples=["not_found"])
    message: str = Field(description="Human-readable explanation, free of secrets.")
