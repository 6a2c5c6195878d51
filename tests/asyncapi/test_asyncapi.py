"""The AsyncAPI document: in step with the models, complete, valid, and true to the topology."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest
import yaml
from accounts_examples import ACCOUNTS_EXAMPLES
from log_query_examples import LOG_QUERY_EXAMPLES
from logs_examples import LOGS_EXAMPLES
from ops_status_examples import OPS_STATUS_EXAMPLES
from policy_examples import POLICY_EXAMPLES
from privacy_export_examples import PRIVACY_EXPORT_EXAMPLES
from privacy_request_examples import PRIVACY_REQUEST_EXAMPLES
from provisioning_examples import PROVISIONING_EXAMPLES

from contracts import ALL_CONTRACTS, Contract, Event
from contracts.asyncapi import build_asyncapi
from servicekit.topology import DIRECT_REPLY_TO, Topology

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = REPO_ROOT / "docs" / "asyncapi.yaml"
SCRIPT = REPO_ROOT / "deploy" / "asyncapi.py"
COMPONENT_KEY = re.compile(r"^[\w\d.\-_]+$")
RUNTIME_EXPRESSION = re.compile(r"^\$message\.(header|payload)#(/(([^/~])|(~[01]))*)*$")

CHANNEL_FIELDS = {
    "address",
    "title",
    "summary",
    "description",
    "messages",
    "parameters",
    "servers",
    "bindings",
    "tags",
    "externalDocs",
}
MESSAGE_FIELDS = {
    "headers",
    "payload",
    "correlationId",
    "contentType",
    "name",
    "title",
    "summary",
    "description",
    "tags",
    "externalDocs",
    "bindings",
    "examples",
    "traits",
    "deprecated",
}
OPERATION_FIELDS = {
    "action",
    "channel",
    "title",
    "summary",
    "description",
    "security",
    "tags",
    "externalDocs",
    "bindings",
    "traits",
    "messages",
    "reply",
}
EXCHANGE_TYPES = {"topic", "direct", "fanout", "default", "headers"}

WHEN = "2026-11-26T16:30:35Z"
OUTCOME = {
    "category": "orders",
    "records": 3,
    "disposition": "pseudonymised",
    "legal_basis": "legal_obligation",
    "retained_until": "2033-12-31",
    "note": "Invoices are kept for ten years.",
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "accounts.principal.v1": {
        "partner_id": "ptn_1",
        "key_id": "key_1",
        "scopes": ["orders:read", "privacy:write"],
        "mode": "live",
    },
    "accounts.verify_api_key.v1": {"api_key": "sk_test_0123456789abcdef"},
    "error.v1": {"code": "not_found", "message": "No such request."},
    "privacy.erase_subject.v1": {
        "request_id": "dsr_1",
        "task_id": "tsk_1",
        "subject": {"email": "Ada@Example.com", "iccid": "8944500102030405067"},
    },
    "privacy.export_subject.v1": {
        "request_id": "dsr_1",
        "task_id": "tsk_2",
        "subject": {"partner_id": "ptn_1", "phone": "+447700900123", "ip": "2001:db8::1"},
    },
    "privacy.get_request.v1": {"partner_id": "ptn_1", "request_id": "dsr_1"},
    "privacy.inventory_announced.v1": {
        "service": "accounts",
        "categories": [
            {
                "name": "contact_people",
                "description": "The partner's contact people.",
                "fields": ["name", "email", "phone"],
                "purpose": "Running the partner contract.",
                "legal_basis": "contract",
                "retention": "The contract's term plus 30 days.",
                "retention_days": 30,
                "actions": ["locate", "export", "erase", "rectify"],
            }
        ],
        "receipt_public_key": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
        "receipt_key_id": "ed25519:2f1c9a0b7d3e4f56",
    },
    "privacy.inventory_requested.v1": {},
    "privacy.list_requests.v1": {"partner_id": "ptn_1", "limit": 20, "cursor": "cur_1"},
    "privacy.locate_subject.v1": {
        "request_id": "dsr_1",
        "task_id": "tsk_3",
        "subject": {"user_id": "usr_1"},
    },
    "privacy.rectify_subject.v1": {
        "request_id": "dsr_2",
        "task_id": "tsk_4",
        "subject": {"end_user_ref": "eu-42"},
        "changes": {"email": "ada@example.org"},
    },
    "privacy.restrict_subject.v1": {
        "request_id": "dsr_3",
        "task_id": "tsk_5",
        "subject": {"email": "ada@example.com"},
        "restricted": True,
        "objection": True,
    },
    "privacy.submit_request.v1": {
        "partner_id": "ptn_1",
        "type": "rectification",
        "subject": {"end_user_ref": "eu-42"},
        "changes": {"phone": "+4915112345678"},
    },
    "privacy.task_completed.v1": {
        "request_id": "dsr_1",
        "task_id": "tsk_2",
        "service": "accounts",
        "action": "export",
        "succeeded": True,
        "outcomes": [{"category": "contact_people", "records": 1, "disposition": "exported"}],
        "export": {"contact_people": [{"name": "Ada", "email": "ada@example.com"}]},
        "completed_at": WHEN,
        "signature": "c2lnbmF0dXJlIG9mIHRoZSBjYW5vbmljYWwgcmVjZWlwdA==",
        "key_id": "ed25519:2f1c9a0b7d3e4f56",
    },
    "gateway.rate_limit_spent.v1": {"replica": "3f9a1c2b7d4e", "spent": {"key_1": 12}},
    **ACCOUNTS_EXAMPLES,
    **PROVISIONING_EXAMPLES,
    **LOG_QUERY_EXAMPLES,
    **LOGS_EXAMPLES,
    **POLICY_EXAMPLES,
    **PRIVACY_REQUEST_EXAMPLES,
    **PRIVACY_EXPORT_EXAMPLES,
    **OPS_STATUS_EXAMPLES,
}
"""One real instance of each contract (its JSON input); a new contract needs one here."""

BY_TYPE = {contract.TYPE: contract for contract in ALL_CONTRACTS}


# -- helpers ------------------------------------------------------------------------------------


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asyncapi_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pointer_parts(ref: str) -> list[str]:
    assert ref.startswith("#/"), f"{ref!r} is not a local reference"
    return [part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")]


def _follow(document: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """A node with its reference (and the references it leads to) replaced by their target."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref not in seen, f"reference cycle: {[*seen, ref]}"
        seen = (*seen, ref)
        node = _resolve(document, ref, seen)
    return node


def _resolve(document: dict[str, Any], ref: str, seen: tuple[str, ...] = ()) -> Any:
    """The target of a local JSON reference, following references on the way."""
    node: Any = document
    for part in _pointer_parts(ref):
        node = _follow(document, node, seen)
        assert isinstance(node, dict), f"{ref} does not resolve (at {part!r})"
        assert part in node, f"{ref} does not resolve (at {part!r})"
        node = node[part]
    return _follow(document, node, seen)


def _refs(node: Any) -> Iterator[str]:
    """Every `$ref` value in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _inline(schema: Any, lookup: Callable[[str], Any], stack: tuple[str, ...] = ()) -> Any:
    """A schema with every reference replaced by the schema it names (recursion kept named)."""
    if isinstance(schema, list):
        return [_inline(item, lookup, stack) for item in schema]
    if not isinstance(schema, dict):
        return schema
    inlined = {key: _inline(value, lookup, stack) for key, value in schema.items() if key != "$ref"}
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        inlined["$ref"] = name if name in stack else _inline(lookup(name), lookup, (*stack, name))
    return inlined


ANNOTATIONS = {"title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated"}


def _format_ok(kind: str, value: str) -> bool:
    checks: dict[str, Callable[[str], object]] = {
        "date-time": lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")),
        "date": date.fromisoformat,
        "email": _email,
        "ipvanyaddress": ipaddress.ip_address,
        "password": str,
    }
    if kind not in checks:
        pytest.fail(f"the test's validator does not know the format {kind!r}; teach it")
    try:
        checks[kind](value)
    except ValueError:
        return False
    return True


def _email(text: str) -> str:
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) is None:
        raise ValueError(f"{text!r} is not an email address")
    return text


def _type_ok(kind: str, value: Any) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    return checks[kind](value)


def _errors(document: dict[str, Any], schema: Any, value: Any, path: str = "$") -> list[str]:
    """Where `value` breaks the JSON Schema `schema` (the keywords pydantic emits)."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: nothing is allowed here"]
    errors: list[str] = []
    for keyword, rule in schema.items():
        if keyword in ANNOTATIONS or keyword.startswith("x-"):
            continue
        if keyword == "$ref":
            errors += _errors(document, _resolve(document, rule), value, path)
        elif keyword == "type":
            kinds = rule if isinstance(rule, list) else [rule]
            if not any(_type_ok(kind, value) for kind in kinds):
                errors.append(f"{path}: {value!r} is not of type {rule}")
        elif keyword == "enum":
            if value not in rule:
                errors.append(f"{path}: {value!r} is not one of {rule}")
        elif keyword == "const":
            if value != rule:
                errors.append(f"{path}: {value!r} is not {rule!r}")
        elif keyword == "anyOf":
            if all(_errors(document, option, value, path) for option in rule):
                errors.append(f"{path}: {value!r} matches none of anyOf")
        elif keyword == "oneOf":
            if sum(not _errors(document, option, value, path) for option in rule) != 1:
                errors.append(f"{path}: {value!r} does not match exactly one of oneOf")
        elif keyword == "allOf":
            for option in rule:
                errors += _errors(document, option, value, path)
        elif keyword in ("properties", "patternProperties", "additionalProperties", "required"):
            if isinstance(value, dict):
                errors += _object_errors(document, keyword, rule, schema, value, path)
        elif keyword == "items":
            if isinstance(value, list):
                for index, item in enumerate(value):
                    errors += _errors(document, rule, item, f"{path}[{index}]")
        elif keyword in ("minLength", "maxLength", "pattern", "format"):
            if isinstance(value, str):
                errors += _string_errors(keyword, rule, value, path)
        elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if _type_ok("number", value):
                errors += _number_errors(keyword, rule, value, path)
        elif keyword in ("minItems", "maxItems", "minProperties", "maxProperties"):
            if isinstance(value, list | dict):
                size = len(value)
                if (size < rule) if keyword.startswith("min") else (size > rule):
                    errors.append(f"{path}: {size} items break {keyword}={rule}")
        else:
            pytest.fail(f"the test's validator does not know the keyword {keyword!r}; teach it")
    return errors


def _object_errors(
    document: dict[str, Any],
    keyword: str,
    rule: Any,
    schema: dict[str, Any],
    value: dict[str, Any],
    path: str,
) -> list[str]:
    properties: dict[str, Any] = schema.get("properties", {})
    patterns: dict[str, Any] = schema.get("patternProperties", {})
    if keyword == "required":
        return [f"{path}: {name!r} is required" for name in rule if name not in value]
    if keyword == "properties":
        return [
            error
            for name, sub in rule.items()
            if name in value
            for error in _errors(document, sub, value[name], f"{path}.{name}")
        ]
    if keyword == "patternProperties":
        return [
            error
            for name, item in value.items()
            for pattern, sub in rule.items()
            if re.search(pattern, name)
            for error in _errors(document, sub, item, f"{path}.{name}")
        ]
    return [
        error
        for name, item in value.items()
        if name not in properties and not any(re.search(pattern, name) for pattern in patterns)
        for error in _errors(document, rule, item, f"{path}.{name}")
    ]


def _string_errors(keyword: str, rule: Any, value: str, path: str) -> list[str]:
    if keyword == "minLength":
        broken = len(value) < rule
    elif keyword == "maxLength":
        broken = len(value) > rule
    elif keyword == "pattern":
        broken = re.search(rule, value) is None
    else:
        broken = not _format_ok(rule, value)
    return [f"{path}: {value!r} breaks {keyword}={rule!r}"] if broken else []


def _number_errors(keyword: str, rule: float, value: float, path: str) -> list[str]:
    broken = {
        "minimum": value < rule,
        "maximum": value > rule,
        "exclusiveMinimum": value <= rule,
        "exclusiveMaximum": value >= rule,
    }[keyword]
    return [f"{path}: {value!r} breaks {keyword}={rule!r}"] if broken else []


def _wire_example(contract: type[Contract]) -> dict[str, Any]:
    if contract.TYPE not in EXAMPLES:
        pytest.fail(f"add an example of {contract.TYPE} to EXAMPLES in {Path(__file__).name}")
    wire: dict[str, Any] = json.loads(
        contract.model_validate(EXAMPLES[contract.TYPE]).model_dump_json()
    )
    return wire


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document the models generate."""
    return build_asyncapi()


def _contract_ids(contract: type[Contract]) -> str:
    return contract.TYPE


# -- (a) drift ----------------------------------------------------------------------------------


def test_checked_in_document_matches_the_models() -> None:
    """docs/asyncapi.yaml is exactly what the models generate (run `make asyncapi` if not)."""
    script = _load_script()
    render: Callable[[dict[str, Any]], str] = script.render
    check: Callable[[Path, str], str | None] = script.check
    problem = check(DOCUMENT, render(build_asyncapi()))
    assert problem is None, problem


def test_checked_in_document_parses_back_to_the_generated_one(document: dict[str, Any]) -> None:
    """The YAML loads back to the very document built from the models: rendering loses nothing."""
    text = DOCUMENT.read_text(encoding="utf-8")
    assert text.startswith("# Generated by `make asyncapi`")
    assert yaml.safe_load(text) == document, "docs/asyncapi.yaml drifted; run `make asyncapi`"


def test_check_mode_fails_on_drift_and_passes_when_current(tmp_path: Path) -> None:
    """`deploy/asyncapi.py --check` exits 1 with the fix on drift, 0 once regenerated."""
    target = tmp_path / "asyncapi.yaml"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--output", str(target), *args],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=False,
        )

    missing = run("--check")
    assert missing.returncode == 1
    assert "make asyncapi" in missing.stderr
    assert run().returncode == 0
    assert target.read_text(encoding="utf-8") == DOCUMENT.read_text(encoding="utf-8")
    assert run("--check").returncode == 0
    target.write_text(target.read_text(encoding="utf-8").replace("3.0.0", "2.6.0", 1))
    drifted = run("--check")
    assert drifted.returncode == 1
    assert "differs from the contracts; run `make asyncapi`" in drifted.stderr
    assert "-asyncapi: 2.6.0" in drifted.stderr


def test_generation_is_deterministic() -> None:
    """The same models give the same document, whatever order ALL_CONTRACTS lists them in."""
    assert build_asyncapi() == build_asyncapi(reversed(ALL_CONTRACTS))
    assert json.dumps(build_asyncapi()) == json.dumps(build_asyncapi(reversed(ALL_CONTRACTS)))


# -- (b) completeness and payloads --------------------------------------------------------------


def test_every_contract_is_a_message_on_one_channel_with_one_operation(
    document: dict[str, Any],
) -> None:
    """Each contract is a message named by its type, on one channel, sent by one operation."""
    messages = document["components"]["messages"]
    assert set(messages) == set(BY_TYPE)
    for message_type, contract in BY_TYPE.items():
        message = messages[message_type]
        assert message["name"] == message_type
        assert message["title"] == contract.__name__
        assert message["summary"], f"{contract.__name__} needs a docstring"
        assert message["x-kind"] == contract.KIND
        assert message["bindings"]["amqp"]["messageType"] == message_type
        ref = f"#/components/messages/{message_type}"
        carriers = [
            name
            for name, channel in document["channels"].items()
            if {"$ref": ref} in channel["messages"].values()
        ]
        assert len(carriers) == 1, f"{message_type} is on channels {carriers}"
        senders = [
            name
            for name, operation in document["operations"].items()
            if _resolve(document, operation["messages"][0]["$ref"]) is messages[message_type]
        ]
        assert len(senders) == 1, f"{message_type} is sent by operations {senders}"


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=_contract_ids)
def test_payload_is_the_model_schema(document: dict[str, Any], contract: type[Contract]) -> None:
    """A message's payload is its model's JSON Schema (references inlined on both sides)."""
    payload = _resolve(
        document, document["components"]["messages"][contract.TYPE]["payload"]["$ref"]
    )
    own = contract.model_json_schema()
    definitions = own.pop("$defs", {})

    def from_document(name: str) -> Any:
        return document["components"]["schemas"][name]

    def from_model(name: str) -> Any:
        return definitions[name]

    assert _inline(payload, from_document) == _inline(own, from_model)


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=_contract_ids)
def test_payload_schema_validates_a_real_instance(
    document: dict[str, Any], contract: type[Contract]
) -> None:
    """The wire JSON of a real instance passes the payload schema; an unknown field does not."""
    payload = document["components"]["messages"][contract.TYPE]["payload"]
    wire = _wire_example(contract)
    assert _errors(document, payload, wire) == []
    assert _errors(document, payload, {**wire, "unexpected": 1}) != []


def test_validator_rejects_what_the_models_reject(document: dict[str, Any]) -> None:
    """The schema checks the constraints too: a bad ICCID, a status out of range, a bad enum."""
    erase = document["components"]["messages"]["privacy.erase_subject.v1"]["payload"]
    bad_iccid = {**EXAMPLES["privacy.erase_subject.v1"], "subject": {"iccid": "12345"}}
    errors = _errors(document, erase, bad_iccid)
    assert any(error.startswith("$.subject.iccid:") for error in errors)
    logged = document["components"]["messages"]["gateway.api_requests_logged.v1"]["payload"]
    example = EXAMPLES["gateway.api_requests_logged.v1"]
    bad_status = {"records": [{**example["records"][0], "status": 700}]}
    assert any("maximum" in error for error in _errors(document, logged, bad_status))
    principal = document["components"]["messages"]["accounts.principal.v1"]["payload"]
    bad_scope = {**EXAMPLES["accounts.principal.v1"], "scopes": ["everything"]}
    assert any("one of" in error for error in _errors(document, principal, bad_scope))
    rectify = document["components"]["messages"]["privacy.rectify_subject.v1"]["payload"]
    dotted = {**EXAMPLES["privacy.rectify_subject.v1"], "changes": {"contact.name": "Ann"}}
    assert any("nothing is allowed" in error for error in _errors(document, rectify, dotted))


def test_a_new_contract_gets_its_channel_message_and_operation() -> None:
    """A contract added to the list appears with its routing, from TYPE and KIND alone."""

    class ShipmentDispatched(Event):
        """A test-only event."""

        TYPE: ClassVar[str] = "test.shipment_dispatched.v1"

        shipment_id: str

    built = build_asyncapi([*ALL_CONTRACTS, ShipmentDispatched])
    channel = built["channels"]["test.shipment_dispatched.v1"]
    assert channel["address"] == "test.shipment_dispatched.v1"
    assert channel["bindings"] == {"$ref": "#/components/channelBindings/events"}
    assert built["components"]["schemas"]["ShipmentDispatched"]["required"] == ["shipment_id"]
    assert built["operations"]["publish_test.shipment_dispatched.v1"]["action"] == "send"


def test_two_contracts_with_one_type_are_refused() -> None:
    """Two models claiming one message type cannot both be documented."""

    class Impostor(Event):
        """Claims another contract's type."""

        TYPE: ClassVar[str] = ALL_CONTRACTS[0].TYPE

    with pytest.raises(ValueError, match="share the type"):
        build_asyncapi([*ALL_CONTRACTS, Impostor])


# -- (c) structure ------------------------------------------------------------------------------


def test_document_is_structurally_asyncapi_3(document: dict[str, Any]) -> None:
    """Version, info, and channels, messages and operations with only the fields AsyncAPI 3 has."""
    assert document["asyncapi"] == "3.0.0"
    assert isinstance(document["info"]["title"], str)
    assert isinstance(document["info"]["version"], str)
    assert document["channels"]
    assert document["operations"]
    for section, entries in document["components"].items():
        bad = [key for key in entries if not COMPONENT_KEY.match(key)]
        assert not bad, f"components.{section} has keys AsyncAPI forbids: {bad}"
    for name, channel in document["channels"].items():
        assert not set(channel) - CHANNEL_FIELDS, f"channel {name}: {set(channel) - CHANNEL_FIELDS}"
        placeholders = set(re.findall(r"{([^}]+)}", channel["address"]))
        assert placeholders == set(channel.get("parameters", {})), f"channel {name} parameters"
        amqp = _resolve(document, channel["bindings"]["$ref"])["amqp"]
        if amqp["is"] == "routingKey":
            assert amqp["exchange"]["type"] in EXCHANGE_TYPES
            assert "queue" not in amqp
        else:
            assert amqp["is"] == "queue"
            assert "exchange" not in amqp
            assert amqp["queue"]["name"]
    for name, message in document["components"]["messages"].items():
        assert not set(message) - MESSAGE_FIELDS - {"x-kind"}, f"message {name}"
        location = _resolve(document, message["correlationId"]["$ref"])["location"]
        assert RUNTIME_EXPRESSION.match(location), location
        headers = _resolve(document, message["headers"]["$ref"])
        assert location.rpartition("/")[2] in headers["properties"]


def test_operations_reference_their_channel_and_its_messages(document: dict[str, Any]) -> None:
    """Each operation sends on an existing channel, and its (reply) messages are that channel's."""
    for name, operation in document["operations"].items():
        assert not set(operation) - OPERATION_FIELDS - {"x-kind"}, f"operation {name}"
        assert operation["action"] in ("send", "receive")
        parts = [(operation["channel"], operation["messages"])]
        if "reply" in operation:
            parts.append((operation["reply"]["channel"], operation["reply"]["messages"]))
        for channel_ref, message_refs in parts:
            channel_pointer = channel_ref["$ref"]
            channel_parts = _pointer_parts(channel_pointer)
            assert channel_parts[0] == "channels"
            assert channel_parts[1] in document["channels"]
            channel = _resolve(document, channel_pointer)
            assert message_refs, f"operation {name} names no message"
            for ref in message_refs:
                prefix, _, key = ref["$ref"].rpartition("/")
                assert prefix == f"{channel_pointer}/messages", f"{name}: {ref} not on its channel"
                assert key in channel["messages"]
                assert "payload" in _resolve(document, ref["$ref"])


def test_every_reference_resolves_and_every_component_is_used(document: dict[str, Any]) -> None:
    """All `$ref`s are local and resolve; no component is left unreferenced."""
    refs = set(_refs(document))
    for ref in sorted(refs):
        _resolve(document, ref)
    unused = [
        f"#/components/{section}/{key}"
        for section, entries in document["components"].items()
        for key in entries
        if f"#/components/{section}/{key}" not in refs
    ]
    assert not unused, f"unreferenced components: {unused}"


def test_routing_matches_the_topology(document: dict[str, Any]) -> None:
    """Addresses and exchanges are the ones servicekit.topology routes by."""
    topology = Topology(namespace="{namespace}")
    exchanges = {
        "event": (topology.events, "topic"),
        "command": (topology.commands, "topic"),
        "query": (topology.queries, "direct"),
    }
    addresses: dict[str, Callable[[str], str]] = {
        "event": lambda message_type: message_type,
        "command": lambda message_type: Topology.command_key("{service}", message_type),
        "query": lambda message_type: "{service}",
    }
    for contract in ALL_CONTRACTS:
        operation = next(
            op
            for op in document["operations"].values()
            if op["messages"][0]["$ref"].endswith(f"/messages/{contract.TYPE}")
        )
        channel = _resolve(document, operation["channel"]["$ref"])
        amqp = _resolve(document, channel["bindings"]["$ref"])["amqp"]
        if contract.KIND == "reply":
            assert channel["address"] == DIRECT_REPLY_TO
            assert amqp["queue"]["name"] == DIRECT_REPLY_TO
            continue
        assert channel["address"] == addresses[contract.KIND](contract.TYPE)
        name, kind = exchanges[contract.KIND]
        assert (amqp["exchange"]["name"], amqp["exchange"]["type"]) == (name, kind)
        assert amqp["exchange"]["durable"] is True
        if contract.KIND == "query":
            replies = {ref["$ref"].rpartition("/")[2] for ref in operation["reply"]["messages"]}
            assert replies == {c.TYPE for c in ALL_CONTRACTS if c.KIND == "reply"}
