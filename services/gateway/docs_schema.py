"""JSON Schemas (OpenAPI 3.1) as readable HTML for the API reference page: type labels that
link each `$ref` to its component, notes on the constraints, and tables of properties.

Every text that comes from the document is escaped with `html.escape`; nothing here emits a
script or a link that leaves the page.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

Schema = dict[str, Any]

SCHEMA_REF = "#/components/schemas/"
NESTED_TABLE_DEPTH = 3
"""How deep inline objects (ones without a `$ref`) are drawn as nested tables."""

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_NOT_ANCHOR = re.compile(r"[^A-Za-z0-9_.-]+")
_LIMITS = {
    "minimum": "Minimum",
    "exclusiveMinimum": "Greater than",
    "maximum": "Maximum",
    "exclusiveMaximum": "Less than",
    "minLength": "Min length",
    "maxLength": "Max length",
    "minItems": "Min items",
    "maxItems": "Max items",
}


def inline(value: object) -> str:
    """Escaped text, with the Markdown `code` spans of descriptions drawn as <code>."""
    # The span's content is already escaped: the substitution adds only the tags.
    return _CODE_SPAN.sub(r"<code>\1</code>", escape(str(value)))


def prose(value: object) -> str:
    """A description as escaped paragraphs (blank lines separate them); empty if none."""
    if not isinstance(value, str) or not value.strip():
        return ""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", value) if part.strip()]
    return "".join(f"<p>{inline(part)}</p>" for part in paragraphs)


def literal(value: object) -> str:
    """A value of the document (enum member, example, default) as escaped code."""
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return f"<code>{escape(shown)}</code>"


def anchor(name: str) -> str:
    """The id of a component schema's entry on the page."""
    return "schema-" + _NOT_ANCHOR.sub("-", name)


def ref_name(ref: str) -> str | None:
    """The component a local `$ref` names, or None for any other reference."""
    if not ref.startswith(SCHEMA_REF):
        return None
    return ref[len(SCHEMA_REF) :].replace("~1", "/").replace("~0", "~")


def component_link(name: str) -> str:
    """A link to a component schema's entry on the page."""
    return f'<a href="#{escape(anchor(name))}">{escape(name)}</a>'


def ref_link(ref: str) -> str:
    """A link to the component a `$ref` names (plain code when it points elsewhere)."""
    name = ref_name(ref)
    return literal(ref) if name is None else component_link(name)


def type_label(schema: object) -> str:
    """A short HTML label of a schema's type: `string (date-time)`, `array of Money`, ..."""
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("$ref"), str):
        return ref_link(schema["$ref"])
    for key, joiner in (("anyOf", " or "), ("oneOf", " or "), ("allOf", " and ")):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return joiner.join(type_label(option) for option in options)
    if "const" in schema:
        return "constant " + literal(schema["const"])
    kinds = schema.get("type")
    names = kinds if isinstance(kinds, list) else [kinds] if kinds is not None else []
    if not names:
        return "enum" if "enum" in schema else "any"
    return " or ".join(_kind_label(str(kind), schema) for kind in names)


def _kind_label(kind: str, schema: Schema) -> str:
    if kind == "array" and "items" in schema:
        return "array of " + type_label(schema["items"])
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map of string to " + type_label(schema["additionalProperties"])
    if isinstance(schema.get("format"), str):
        return f"{escape(kind)} ({escape(schema['format'])})"
    return escape(kind)


def _branches(schema: Schema) -> list[Schema]:
    """The schema and its inline alternatives: where an optional field keeps its rules."""
    branches = [schema]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list):
            branches += [option for option in options if isinstance(option, dict)]
    return branches


def notes(schema: Schema) -> list[str]:
    """The schema's rules and examples as short HTML notes: allowed values, pattern, limits."""
    found: list[str] = []
    for branch in _branches(schema):
        if isinstance(branch.get("enum"), list):
            found.append("One of: " + ", ".join(literal(value) for value in branch["enum"]))
        if "pattern" in branch:
            found.append("Pattern: " + literal(branch["pattern"]))
        found += [
            f"{label} {literal(branch[key])}" for key, label in _LIMITS.items() if key in branch
        ]
        examples = branch.get("examples")
        if isinstance(examples, list) and examples:
            found.append("Example: " + ", ".join(literal(example) for example in examples))
        if "example" in branch:
            found.append("Example: " + literal(branch["example"]))
    if schema.get("default") is not None:
        found.append("Default: " + literal(schema["default"]))
    return found


def description_of(schema: Schema) -> object:
    """The schema's own description, else the first of its alternatives'."""
    for branch in _branches(schema):
        if branch.get("description"):
            return branch["description"]
    return None


def notes_html(schema: Schema) -> str:
    """The notes of a schema as one block, empty when there are none."""
    found = notes(schema)
    return f'<p class="notes">{"; ".join(found)}</p>' if found else ""


def property_table(schema: Schema, depth: int = 0) -> str:
    """A table of an object schema's properties: name, required mark, type, description."""
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return ""
    required = set(schema.get("required") or [])
    rows = "".join(
        _property_row(str(name), field, name in required, depth)
        for name, field in properties.items()
    )
    closed = schema.get("additionalProperties") is False
    return (
        '<table class="fields"><thead><tr><th>Field</th><th>Type</th><th>Description</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        + ('<p class="muted">No other fields are accepted.</p>' if closed else "")
    )


def _property_row(name: str, field: object, required: bool, depth: int) -> str:
    schema = field if isinstance(field, dict) else {}
    mark = ' <span class="req">required</span>' if required else ""
    nested = property_table(schema, depth + 1) if depth < NESTED_TABLE_DEPTH else ""
    return (
        f"<tr><td><code>{escape(name)}</code>{mark}</td><td>{type_label(schema)}</td>"
        f"<td>{prose(description_of(schema))}{notes_html(schema)}{nested}</td></tr>"
    )


def schema_block(schema: Schema) -> str:
    """A schema in full: description, then its properties, or its type and rules."""
    described = prose(schema.get("description"))
    table = property_table(schema)
    if table:
        return described + table
    return f"{described}<p>Type: {type_label(schema)}</p>{notes_html(schema)}"


def refs_within(node: object) -> list[str]:
    """The components a schema refers to anywhere inside it, in order of appearance, once each."""
    found: list[str] = []
    stack: list[object] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            name = ref_name(current["$ref"]) if isinstance(current.get("$ref"), str) else None
            if name is not None and name not in found:
                found.append(name)
            stack += reversed(list(current.values()))
        elif isinstance(current, list):
            stack += reversed(current)
    return found


def referenced_components(schema: Schema, components: dict[str, Any]) -> list[str]:
    """Every component `schema` reaches through `$ref`s, transitively; each once, so a cycle
    (a schema that refers back to itself) ends the walk instead of repeating it."""
    reached: list[str] = []
    pending = refs_within(schema)
    while pending:
        name = pending.pop(0)
        if name in reached or not isinstance(components.get(name), dict):
            continue
        reached.append(name)
        pending += refs_within(components[name])
    return reached
