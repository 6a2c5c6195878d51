"""The AsyncAPI 3.0.0 document of every contract, built from the models alone (pure, no I/O).

Each command, event and query gets a channel addressed by its routing key, with an AMQP
channel binding naming its exchange: events by their type on `{namespace}.events` (topic),
commands by `{service}.<type>` on `{namespace}.commands` (topic), queries by `{service}` on
`{namespace}.queries` (direct). The replies share the direct reply-to channel, so that a
query's `reply` can name every reply that may answer it. Which service sends or receives a
message is not in the models, so operations describe each message from its channel: one `send`
operation per message. `deploy/asyncapi.py` writes the document to `docs/asyncapi.yaml`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts import ALL_CONTRACTS
from contracts.base import Contract, Envelope, MessageKind, RemoteError

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT_VERSION = "1.0.0"
"""The document's own version; each message carries its version in its type."""

AMQP_BINDING_VERSION = "0.3.0"
SCHEMA_REF = "#/components/schemas/{model}"
CONTENT_TYPE = "application/json"

NAMESPACE = "{namespace}"
SERVICE_PARAMETER = "service"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
REPLY_CHANNEL = "direct_reply_to"
CORRELATION_ID = "correlation_id"

ENVELOPE_PROPERTIES: dict[str, str] = {
    "message_id": "message_id",
    "correlation_id": "correlation_id",
    "type": "type",
    "occurred_at": "timestamp",
    "producer": "app_id",
}
"""The AMQP property each envelope field travels in."""

_KINDS: tuple[MessageKind, ...] = ("command", "event", "query", "reply")
_EXCHANGE_BINDING: dict[MessageKind, str] = {
    "command": "commands",
    "event": "events",
    "query": "queries",
    "reply": REPLY_CHANNEL,
}
_OPERATION_PREFIX: dict[MessageKind, str] = {
    "command": "send",
    "event": "publish",
    "query": "request",
    "reply": "reply",
}
_COMPONENT_KEY = re.compile(r"^[\w.\-]+$")
_PARAMETER = re.compile(r"{([^}]+)}")

_CHANNEL_DESCRIPTION: dict[MessageKind, str] = {
    "event": (
        f"Topic exchange `{NAMESPACE}.events`, routing key = the message type. Every service"
        " whose queue binds the type gets a copy; an event no queue binds is dropped, which is"
        " not an error."
    ),
    "command": (
        f"Topic exchange `{NAMESPACE}.commands`, routing key `{{service}}.<type>`: the target"
        " service's queue binds `{service}.#`. A command that no queue takes is a failed"
        " publish."
    ),
    "query": (
        f"Direct exchange `{NAMESPACE}.queries`, routing key = the target service, whose query"
        " queue binds its name; its replicas compete for the requests. The answer comes back"
        f" over direct reply-to: one of the reply messages, or `{RemoteError.TYPE}` when the"
        " request failed."
    ),
}

_OPERATION_DESCRIPTION: dict[MessageKind, str] = {
    "event": (
        "Published persistent, with a publisher confirm and `mandatory`; consumers ack after"
        " their effects are committed and deduplicate by `message_id`."
    ),
    "command": (
        "Sent persistent, with a publisher confirm and `mandatory`, to one service; the"
        " consumer acks after its effects are committed and deduplicates by `message_id`."
    ),
    "query": (
        f"Sent transient with `reply_to` = `{DIRECT_REPLY_TO}` and an expiration equal to the"
        " caller's timeout; the models do not say which reply answers which query, so every"
        " reply is listed."
    ),
    "reply": (
        "Sent by the service that answered a query, to the address in the query's `reply_to`,"
        " transient and not confirmed."
    ),
}

_REPLY_CHANNEL_DESCRIPTION = (
    f"RabbitMQ direct reply-to: the requester consumes `{DIRECT_REPLY_TO}` and sets it as the"
    " query's `reply_to`; the answering service publishes the reply to the default exchange"
    " with that address as routing key. A reply keeps the query's `correlation_id` and names"
    " the query's `message_id` in its `in_reply_to` header."
)

_INFO_DESCRIPTION = (
    "Every message that crosses the RabbitMQ bus, generated from the pydantic models in"
    " `services/contracts` (`make asyncapi`); do not edit the YAML by hand.\n\n"
    f"Exchange names start with the bus namespace, written `{NAMESPACE}` (production: `esim`;"
    " each test run has its own). The body is the JSON of the contract model (`payload`); the"
    " envelope (`headers`) travels in the AMQP properties: "
    + ", ".join(f"`{field}` in `{prop}`" for field, prop in ENVELOPE_PROPERTIES.items())
    + ". Add fields only as optional; a breaking change is a new message type version."
)


def build_asyncapi(contracts: Iterable[type[Contract]] | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of `contracts` (default: every contract), deterministic."""
    ordered = _checked(ALL_CONTRACTS if contracts is None else contracts)
    schemas, refs = _schemas(ordered)
    replies = [contract for contract in ordered if contract.KIND == "reply"]
    kinds = sorted({contract.KIND for contract in ordered}, key=_KINDS.index)

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for contract in ordered:
        if contract.KIND != "reply":
            channels[contract.TYPE] = _channel(contract)
        operations[_operation_id(contract)] = _operation(contract, replies)
    if replies:
        channels[REPLY_CHANNEL] = _reply_channel(replies)

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "eSIM platform message bus",
            "version": DOCUMENT_VERSION,
            "description": _INFO_DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": {contract.TYPE: _message(contract, refs) for contract in ordered},
            "parameters": _parameters(ordered),
            "correlationIds": {
                CORRELATION_ID: {
                    "description": (
                        "Shared by every message of one causal chain; handlers bind it into"
                        " their log context."
                    ),
                    "location": f"$message.header#/{CORRELATION_ID}",
                }
            },
            "channelBindings": {_EXCHANGE_BINDING[kind]: _channel_binding(kind) for kind in kinds},
            "operationBindings": {kind: _operation_binding(kind) for kind in kinds},
        },
    }


def _checked(contracts: Iterable[type[Contract]]) -> list[type[Contract]]:
    by_type: dict[str, type[Contract]] = {}
    for contract in contracts:
        message_type = getattr(contract, "TYPE", None)
        kind = getattr(contract, "KIND", None)
        if not isinstance(message_type, str) or kind not in _KINDS:
            raise ValueError(f"{contract.__qualname__} needs the ClassVars TYPE and KIND")
        if not _COMPONENT_KEY.match(message_type):
            raise ValueError(f"message type {message_type!r} is not a valid AsyncAPI key")
        if message_type == REPLY_CHANNEL:
            raise ValueError(f"message type {message_type!r} is reserved")
        other = by_type.setdefault(message_type, contract)
        if other is not contract:
            raise ValueError(
                f"{contract.__qualname__} and {other.__qualname__} share the type {message_type}"
            )
    return [by_type[message_type] for message_type in sorted(by_type)]


def _ref(*parts: str) -> dict[str, str]:
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return {"$ref": "#/" + "/".join(escaped)}


def _docstring(contract: type[Contract]) -> tuple[str | None, str | None]:
    """The summary (first paragraph, one line) and the description (the rest)."""
    doc = inspect.cleandoc(contract.__doc__ or "")
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def _address(contract: type[Contract]) -> str:
    if contract.KIND == "event":
        return contract.TYPE
    if contract.KIND == "command":
        return f"{{{SERVICE_PARAMETER}}}.{contract.TYPE}"
    if contract.KIND == "query":
        return f"{{{SERVICE_PARAMETER}}}"
    return DIRECT_REPLY_TO


def _operation_id(contract: type[Contract]) -> str:
    return f"{_OPERATION_PREFIX[contract.KIND]}_{contract.TYPE}"


def _channel(contract: type[Contract]) -> dict[str, Any]:
    address = _address(contract)
    channel: dict[str, Any] = {
        "address": address,
        "title": contract.__name__,
        "description": _CHANNEL_DESCRIPTION[contract.KIND],
        "messages": {contract.TYPE: _ref("components", "messages", contract.TYPE)},
    }
    parameters = _PARAMETER.findall(address)
    if parameters:
        channel["parameters"] = {
            name: _ref("components", "parameters", name) for name in sorted(set(parameters))
        }
    channel["bindings"] = _ref("components", "channelBindings", _EXCHANGE_BINDING[contract.KIND])
    return channel


def _reply_channel(replies: list[type[Contract]]) -> dict[str, Any]:
    return {
        "address": DIRECT_REPLY_TO,
        "title": "Direct reply-to",
        "description": _REPLY_CHANNEL_DESCRIPTION,
        "messages": {reply.TYPE: _ref("components", "messages", reply.TYPE) for reply in replies},
        "bindings": _ref("components", "channelBindings", _EXCHANGE_BINDING["reply"]),
    }


def _channel_id(contract: type[Contract]) -> str:
    return REPLY_CHANNEL if contract.KIND == "reply" else contract.TYPE


def _operation(contract: type[Contract], replies: list[type[Contract]]) -> dict[str, Any]:
    channel_id = _channel_id(contract)
    summary, _ = _docstring(contract)
    operation: dict[str, Any] = {
        "action": "send",
        "channel": _ref("channels", channel_id),
        "title": f"{_OPERATION_PREFIX[contract.KIND].capitalize()} {contract.__name__}",
    }
    if summary is not None:
        operation["summary"] = summary
    operation["description"] = _OPERATION_DESCRIPTION[contract.KIND]
    operation["messages"] = [_ref("channels", channel_id, "messages", contract.TYPE)]
    if contract.KIND == "query" and replies:
        operation["reply"] = {
            "channel": _ref("channels", REPLY_CHANNEL),
            "messages": [
                _ref("channels", REPLY_CHANNEL, "messages", reply.TYPE) for reply in replies
            ],
        }
    operation["bindings"] = _ref("components", "operationBindings", contract.KIND)
    operation["x-kind"] = contract.KIND
    return operation


def _message(
    contract: type[Contract], refs: dict[type[BaseModel], dict[str, str]]
) -> dict[str, Any]:
    summary, description = _docstring(contract)
    message: dict[str, Any] = {"name": contract.TYPE, "title": contract.__name__}
    if summary is not None:
        message["summary"] = summary
    if description is not None:
        message["description"] = description
    message.update(
        {
            "contentType": CONTENT_TYPE,
            "headers": refs[Envelope],
            "correlationId": _ref("components", "correlationIds", CORRELATION_ID),
            "payload": refs[contract],
            "bindings": {
                "amqp": {"messageType": contract.TYPE, "bindingVersion": AMQP_BINDING_VERSION}
            },
            "x-kind": contract.KIND,
        }
    )
    return message


def _schemas(
    contracts: list[type[Contract]],
) -> tuple[dict[str, Any], dict[type[BaseModel], dict[str, str]]]:
    """The JSON Schemas of the contracts, the envelope and the models they use, by name; and
    the reference to each contract's and the envelope's schema."""
    models: list[type[BaseModel]] = [*contracts, Envelope]
    keyed, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template=SCHEMA_REF
    )
    refs = {model: {"$ref": str(keyed[(model, "validation")]["$ref"])} for model in models}
    schemas: dict[str, Any] = definitions.get("$defs", {})
    envelope = schemas[refs[Envelope]["$ref"].rpartition("/")[2]]
    if set(envelope["properties"]) != set(ENVELOPE_PROPERTIES):
        raise ValueError("ENVELOPE_PROPERTIES must name the AMQP property of every envelope field")
    for field, amqp_property in ENVELOPE_PROPERTIES.items():
        envelope["properties"][field]["x-amqp-property"] = amqp_property
    return {name: schemas[name] for name in sorted(schemas)}, refs


def _parameters(contracts: list[type[Contract]]) -> dict[str, Any]:
    if not any(contract.KIND in ("command", "query") for contract in contracts):
        return {}
    return {
        SERVICE_PARAMETER: {
            "description": (
                "Name of the service the command or query is addressed to (e.g. `privacy`);"
                " the models do not fix it, the sender chooses it."
            )
        }
    }


def _channel_binding(kind: MessageKind) -> dict[str, Any]:
    if kind == "reply":
        amqp: dict[str, Any] = {
            "is": "queue",
            "queue": {"name": DIRECT_REPLY_TO, "durable": False, "exclusive": True},
        }
    else:
        amqp = {
            "is": "routingKey",
            "exchange": {
                "name": f"{NAMESPACE}.{_EXCHANGE_BINDING[kind]}",
                "type": "direct" if kind == "query" else "topic",
                "durable": True,
                "autoDelete": False,
            },
        }
    amqp["bindingVersion"] = AMQP_BINDING_VERSION
    return {"amqp": amqp}


def _operation_binding(kind: MessageKind) -> dict[str, Any]:
    if kind in ("command", "event"):
        amqp: dict[str, Any] = {"deliveryMode": 2, "mandatory": True, "timestamp": True}
    elif kind == "query":
        amqp = {"deliveryMode": 1, "mandatory": True, "timestamp": True}
    else:
        amqp = {"deliveryMode": 1, "mandatory": False}
    amqp["bindingVersion"] = AMQP_BINDING_VERSION
    return {"amqp": amqp}
