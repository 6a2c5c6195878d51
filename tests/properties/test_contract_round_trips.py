"""Property tests of the wire contracts: every message of `contracts.ALL_CONTRACTS`, and every
model nested in one, round-trips through its JSON (`model_validate_json(m.model_dump_json())
== m`), and the JSON Schema it publishes (the AsyncAPI document's) accepts what it dumps.

Instances are generated from each model's own published JSON Schema. hypothesis-jsonschema
(0.23.1, its newest release) cannot do it here: it calls `many.more()`, a private Hypothesis
API that our pinned Hypothesis no longer has, and fails on every object schema. The subset of
JSON Schema pydantic emits is small, so `from_schema` below covers it. Values the schema allows
but a model's validator refuses (an unknown country code, a rule across fields) are rejected,
not counted; a model whose schema yields nothing it accepts fails as unsatisfiable.
"""

from __future__ import annotations

import json
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts import ALL_CONTRACTS

Json = Any
Schema = dict[str, Any]

EXAMPLES_PER_MODEL = 8
MAX_ITEMS = 3
"""Arrays and free-form objects stay small: the point is each field's shape, not volume."""
OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
DATETIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=OFFSETS
).map(lambda moment: moment.isoformat())
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)).map(date.isoformat)
LABELS = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)
EMAILS = st.builds("{}@{}.{}".format, LABELS, LABELS, st.sampled_from(["com", "org", "de"]))
IPS = st.ip_addresses().map(str)
FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date-time": DATETIMES,
    "date": DATES,
    "email": EMAILS,
    "ipvanyaddress": IPS,
}


def nested_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """The pydantic models a model's fields use, at any depth (the model itself too)."""
    found: set[type[BaseModel]] = set()
    pending: list[Any] = [model]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.add(annotation)
                pending += [field.annotation for field in annotation.model_fields.values()]
        else:
            pending += typing.get_args(annotation)
    return found


ALL_MODELS = sorted(
    {nested for contract in ALL_CONTRACTS for nested in nested_models(contract)},
    key=lambda model: f"{model.__module__}.{model.__qualname__}",
)


def _string(schema: Schema) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if "format" in schema and schema["format"] in FORMATS:
        strategy = FORMATS[schema["format"]]
    elif "pattern" in schema:
        pattern: str = schema["pattern"]
        anchored = pattern.startswith("^") and pattern.endswith("$")
        strategy = st.from_regex(pattern[1:-1] if anchored else pattern, fullmatch=anchored)
    else:
        return st.text(min_size=low, max_size=high if high is not None else 20)
    return strategy.filter(lambda text: low <= len(text) <= (high or len(text)))


def _number(schema: Schema, integers: bool) -> st.SearchStrategy[Any]:
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if integers else 1e-9)
    high = schema.get("maximum")
    if integers:
        return st.integers(min_value=low, max_value=high)
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def _object(schema: Schema, defs: Schema) -> st.SearchStrategy[dict[str, Json]]:
    properties: Schema = schema.get("properties", {})
    if not properties:
        keys, values = _entries(schema, defs)
        return st.dictionaries(
            keys,
            values,
            min_size=schema.get("minProperties", 0),
            max_size=schema.get("maxProperties", MAX_ITEMS),
        )
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {name: from_schema(sub, defs) for name, sub in properties.items() if name in required},
        optional={
            name: from_schema(sub, defs) for name, sub in properties.items() if name not in required
        },
    )


def _entries(
    schema: Schema, defs: Schema
) -> tuple[st.SearchStrategy[str], st.SearchStrategy[Json]]:
    """Keys and values of a free-form object: its key pattern's (pydantic emits one, from the
    key type), else any keys, with `additionalProperties`' values."""
    patterns: Schema = schema.get("patternProperties", {})
    if patterns:
        [(pattern, values)] = patterns.items()
        return _string({"pattern": pattern}), from_schema(values, defs)
    extra = schema.get("additionalProperties", {})
    values = from_schema(extra, defs) if isinstance(extra, dict) else st.nothing()
    return st.text(min_size=1, max_size=12), values


def from_schema(schema: Schema, defs: Schema) -> st.SearchStrategy[Json]:
    """Values valid against a JSON Schema of the subset pydantic emits (`$defs` given apart);
    the schema's `examples` are drawn too, as the likeliest valid values."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return st.deferred(lambda: from_schema(defs[name], defs))
    strategy = _plain(schema, defs)
    examples = [e for e in schema.get("examples", []) if not isinstance(e, dict | list)]
    return st.one_of(st.sampled_from(examples), strategy) if examples else strategy


def _plain(schema: Schema, defs: Schema) -> st.SearchStrategy[Json]:
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(branch, defs) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, defs)
    if kind == "array":
        return st.lists(
            from_schema(schema.get("items", {}), defs),
            min_size=schema.get("minItems", 0),
            max_size=schema.get("maxItems", MAX_ITEMS),
        )
    simple: dict[str, st.SearchStrategy[Json]] = {
        "null": st.none(),
        "boolean": st.booleans(),
        "integer": _number(schema, integers=True) if kind == "integer" else st.nothing(),
        "number": _number(schema, integers=False) if kind == "number" else st.nothing(),
        "string": _string(schema) if kind == "string" else st.nothing(),
    }
    if kind in simple:
        return simple[kind]
    # No type at all (`Any`): any JSON scalar will do.
    return st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))


@cache
def published_schema(model: type[BaseModel]) -> Schema:
    """The JSON Schema a model publishes (validation mode, as in the AsyncAPI document)."""
    return model.model_json_schema(mode="validation")


@cache
def strategy_for(model: type[BaseModel]) -> st.SearchStrategy[Json]:
    """JSON values valid against the model's published schema."""
    schema = published_schema(model)
    return from_schema(schema, schema.get("$defs", {}))


def _instance(model: type[BaseModel], data: Json) -> BaseModel:
    """The model built from a generated value's JSON, as a consumer on the bus builds it;
    rejected when a validator refuses it."""
    try:
        return model.model_validate_json(json.dumps(data))
    except ValidationError:
        reject()


def _name(model: type[BaseModel]) -> str:
    return model.__qualname__


ROUND_TRIP_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODEL,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_every_contract_is_covered() -> None:
    """Every message of ALL_CONTRACTS is among the models checked (so a new one is too)."""
    assert set(ALL_CONTRACTS) <= set(ALL_MODELS)
    assert len(ALL_MODELS) > len(ALL_CONTRACTS), "nested models are checked as well"


@pytest.mark.parametrize("model", ALL_MODELS, ids=_name)
def test_a_model_round_trips_and_its_schema_accepts_what_it_dumps(model: type[BaseModel]) -> None:
    """A valid instance dumped to JSON validates back to an equal instance, and that JSON is
    valid against the model's published JSON Schema (formats checked too)."""
    validator = jsonschema_rs.validator_for(published_schema(model), validate_formats=True)

    @ROUND_TRIP_SETTINGS
    @given(st.data())
    def round_trips(data: st.DataObject) -> None:
        generated = data.draw(strategy_for(model))
        # Else this would test the generator, not the contracts.
        assert validator.is_valid(generated), "the generator left the schema"
        instance = _instance(model, generated)
        dumped = instance.model_dump_json()
        assert model.model_validate_json(dumped) == instance
        errors = [
            f"{e.instance_path}: {e.message}" for e in validator.iter_errors(json.loads(dumped))
        ]
        assert not errors, errors

    round_trips()
