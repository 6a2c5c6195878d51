"""The render function of the reference page, on small hand-made OpenAPI documents: hostile
text is escaped, `$ref` cycles end, and every part of an operation is shown."""

from __future__ import annotations

import html
import re
from typing import Any

from reference_html import ReferencePage

from gateway.docs_page import render_docs

SCRIPT = "<script>alert('x')</script>"
ESCAPED = html.escape(SCRIPT)


def hostile_document() -> dict[str, Any]:
    """A document with a script tag in every text a partner's browser would show."""
    bad_schema = {
        "type": "object",
        "description": SCRIPT,
        "required": [SCRIPT],
        "properties": {
            SCRIPT: {"type": "string", "description": SCRIPT, "examples": [SCRIPT]},
            "kind": {"enum": [SCRIPT, "plain"], "default": SCRIPT, "pattern": SCRIPT},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": SCRIPT, "version": SCRIPT, "description": f"`{SCRIPT}` {SCRIPT}"},
        "tags": [{"name": SCRIPT, "description": SCRIPT}],
        "paths": {
            f"/v1/{SCRIPT}": {
                "post": {
                    "summary": SCRIPT,
                    "description": SCRIPT,
                    "tags": [SCRIPT],
                    "x-required-scope": SCRIPT,
                    "security": [{SCRIPT: []}],
                    "parameters": [
                        {"name": SCRIPT, "in": "query", "description": SCRIPT, "schema": {}}
                    ],
                    "requestBody": {
                        "content": {SCRIPT: {"schema": {"$ref": f"#/components/schemas/{SCRIPT}"}}}
                    },
                    "responses": {SCRIPT: {"description": SCRIPT, "content": {SCRIPT: {}}}},
                }
            }
        },
        "components": {
            "schemas": {SCRIPT: bad_schema},
            "securitySchemes": {
                SCRIPT: {"type": "http", "scheme": "bearer", "bearerFormat": SCRIPT}
            },
        },
    }


def cyclic_document() -> dict[str, Any]:
    """Two schemas that refer to each other (one also to itself), and a body that uses them."""
    ref = "#/components/schemas/{}".format
    schemas = {
        "Node": {
            "type": "object",
            "required": ["label"],
            "properties": {
                "label": {"type": "string", "description": "What the node is called."},
                "parent": {"anyOf": [{"$ref": ref("Node")}, {"type": "null"}]},
                "edges": {"type": "array", "items": {"$ref": ref("Edge")}},
            },
        },
        "Edge": {
            "type": "object",
            "properties": {"to": {"$ref": ref("Node")}, "weight": {"type": "integer"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Graphs", "version": "2.0.0"},
        "paths": {
            "/graphs": {
                "post": {
                    "summary": "Add a graph",
                    "tags": ["graphs"],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": ref("Node")}}},
                    },
                    "responses": {"201": {"description": "Created"}},
                }
            }
        },
        "components": {"schemas": schemas},
    }


def test_text_of_the_document_is_escaped_everywhere() -> None:
    """A `<script>` in any text of the document is shown as text, never as a tag."""
    page = render_docs(hostile_document())
    assert "<script" not in page.lower()
    assert page.count(ESCAPED) >= 15
    parsed = ReferencePage(page)
    assert not parsed.misnested
    assert not parsed.unclosed
    assert "script" not in parsed.tags
    assert SCRIPT in parsed.texts["authentication"]


def test_an_attribute_cannot_be_broken_out_of() -> None:
    """Quotes in names that end up in ids and links do not open a new attribute."""
    document = cyclic_document()
    name = 'x" onmouseover="alert(1)'
    document["components"]["schemas"][name] = {"type": "string"}
    document["paths"]["/graphs"]["post"]["responses"]["201"]["content"] = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
    }
    page = render_docs(document)
    assert "onmouseover=" not in re.sub(r">[^<]*<", "><", page)
    assert not ReferencePage(page).misnested


def test_a_ref_cycle_ends_and_each_schema_is_shown_once_per_body() -> None:
    """A body whose schemas refer to each other shows each referenced schema once, then stops."""
    page = render_docs(cyclic_document())
    parsed = ReferencePage(page)
    body = parsed.texts["op-post-graphs"]
    assert body.count("What the node is called.") == 1
    assert "weight" in body
    assert "label" in parsed.texts["schema-Node"]
    assert "weight" in parsed.texts["schema-Edge"]
    assert set(parsed.links) <= {"openapi.json"} | {f"#{key}" for key in parsed.texts}


def test_an_operation_shows_its_parameters_body_and_responses() -> None:
    """Parameter name, place, type and required mark; body fields; each response's status."""
    document = cyclic_document()
    document["paths"]["/graphs"]["post"]["parameters"] = [
        {
            "name": "limit",
            "in": "query",
            "required": True,
            "description": "How many at most.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        }
    ]
    section = ReferencePage(render_docs(document)).texts["op-post-graphs"]
    for expected in [
        "POST /graphs",
        "Add a graph",
        "limit required",
        "query",
        "integer",
        "How many at most.",
        "Minimum 1",
        "Maximum 100",
        "Request body (required)",
        "application/json: Node",
        "201",
        "Created",
        "Scope: none",
        "Authentication: none",
    ]:
        assert expected in section, expected


def test_authentication_names_every_declared_scheme() -> None:
    """Bearer and API-key schemes are each explained; an operation names the one it needs."""
    document = cyclic_document()
    document["components"]["securitySchemes"] = {
        "bearerKey": {"type": "http", "scheme": "bearer", "bearerFormat": "esk_… key"},
        "headerKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    }
    document["security"] = [{"bearerKey": []}]
    parsed = ReferencePage(render_docs(document))
    authentication = parsed.texts["authentication"]
    assert "Authorization: Bearer <key>" in authentication
    assert "esk_… key" in authentication
    assert "header X-Api-Key" in authentication
    assert "Authentication: bearerKey" in parsed.texts["op-post-graphs"]


def test_the_page_loads_nothing_and_has_both_colour_schemes() -> None:
    """No script, no external style sheet or font; light and dark colours via the media query."""
    page = render_docs(cyclic_document())
    assert "<script" not in page
    assert not re.search(r"(href|src)=\"https?:", page)
    assert not re.search(r"@import|url\(|<link", page)
    assert "@media (prefers-color-scheme:dark)" in page
