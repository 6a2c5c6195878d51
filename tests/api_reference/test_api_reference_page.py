"""The reference page the running gateway serves at `/docs`: open to anyone, HTML only, and
complete: every operation of `/openapi.json` with its summary and scope, every schema with its
properties, every link landing on the page."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict
from reference_html import ReferencePage

SCHEMA_REF = "#/components/schemas/"
Client = TestClient[web.Request, web.Application]
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


@dataclass(frozen=True)
class Served:
    """What the gateway answered for `/docs`, and the OpenAPI document it was made from."""

    status: int
    content_type: str
    charset: str | None
    headers: CIMultiDict[str]
    page: str
    document: dict[str, Any]

    @property
    def parsed(self) -> ReferencePage:
        """The page, parsed."""
        return ReferencePage(self.page)


@pytest.fixture(scope="module")
async def served(gateway: Client) -> Served:
    """`GET /docs` and `GET /openapi.json`, both without credentials."""
    async with gateway.get("/openapi.json") as response:
        assert response.status == 200
        document: dict[str, Any] = await response.json()
    async with gateway.get("/docs") as response:
        return Served(
            status=response.status,
            content_type=response.content_type,
            charset=response.charset,
            headers=CIMultiDict(response.headers),
            page=await response.text(),
            document=document,
        )


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation the document declares."""
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def section_of(page: ReferencePage, method: str, path: str) -> str:
    """The text of the one operation section whose heading is `METHOD path`."""
    heading = f"{method.upper()} {path}"
    found = [
        page.texts[element_id]
        for element_id, text in page.headings.items()
        if element_id.startswith("op-") and text == heading
    ]
    assert len(found) == 1, (heading, len(found))
    return found[0]


def visible(markup: str) -> str:
    """The text a reader sees (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def plain(description: str) -> str:
    """A description as the page shows it: its `code` spans without the backticks."""
    return description.replace("`", "")


def component_refs(node: object) -> set[str]:
    """The component schemas named by every `$ref` anywhere in a JSON document."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = {ref.removeprefix(SCHEMA_REF)} if isinstance(ref, str) else set()
        return found.union(*(component_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(component_refs(value) for value in node))
    return set()


async def test_docs_is_an_html_page_anyone_may_read(served: Served) -> None:
    """/docs answers 200 `text/html; charset=utf-8` without an API key, with an id and a CSP."""
    assert served.status == 200, served.page[:500]
    assert served.content_type == "text/html"
    assert served.charset == "utf-8"
    assert served.page.startswith("<!DOCTYPE html>")
    assert re.match(r"^req_[0-9a-z]{26}$", served.headers["X-Request-Id"])
    assert "script-src" not in served.headers["Content-Security-Policy"]
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]


async def test_every_operation_is_on_the_page_with_its_summary_and_scope(served: Served) -> None:
    """Each method and path of /openapi.json has its section, with summary and required scope."""
    page = served.parsed
    listed = operations(served.document)
    assert len(listed) > 30
    for method, path, operation in listed:
        section = section_of(page, method, path)
        assert plain(operation["summary"]) in section, (method, path)
        scope = operation.get("x-required-scope")
        assert f"Scope: {scope}" in section if scope else "Scope: none" in section, (method, path)
    assert any(operation.get("x-required-scope") for _, _, operation in listed)


async def test_the_page_names_the_title_version_and_authentication(served: Served) -> None:
    """Title, version, description and the bearer scheme of the document are on the page."""
    page = served.parsed
    info = served.document["info"]
    text = visible(served.page)
    assert info["title"] in text
    assert f"Version {info['version']}" in text
    assert info["description"] in text
    assert "Authorization: Bearer <key>" in page.texts["authentication"]
    download = section_of(page, "get", "/v1/privacy/exports/{token}")
    assert "Authentication: none" in download
    assert "Authentication: apiKey" in section_of(page, "get", "/v1/ping")


async def test_every_schema_is_listed_with_its_properties(served: Served) -> None:
    """Each component schema has its entry, naming its properties (enum schemas their values)."""
    page = served.parsed
    for name, schema in served.document["components"]["schemas"].items():
        entry = page.texts[f"schema-{name}"]
        for field in schema.get("properties", {}):
            assert field in entry, (name, field)
        for value in schema.get("enum", []):
            assert str(value) in entry, (name, value)


async def test_a_request_body_shows_the_schemas_it_refers_to(served: Served) -> None:
    """POST /v1/orders shows its body's fields and follows `$ref` into the nested schemas."""
    schemas = served.document["components"]["schemas"]
    body = served.document["paths"]["/v1/orders"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref.startswith(SCHEMA_REF)
    section = section_of(served.parsed, "post", "/v1/orders")
    for name in [ref.removeprefix(SCHEMA_REF), "EndUser", "Money"]:
        for field, spec in schemas[name]["properties"].items():
            assert field in section, (name, field)
            if spec.get("description"):
                assert plain(spec["description"]) in section, (name, field)
    assert "required" in section
    assert "No other fields are accepted." in section


async def test_every_link_lands_on_the_page_and_nothing_is_loaded(served: Served) -> None:
    """Links are in-page anchors (or openapi.json) that exist; no script, no external resource."""
    page = served.parsed
    assert not page.duplicate_ids
    assert not page.sources
    assert {"script", "link", "iframe", "object", "embed", "img"}.isdisjoint(page.tags)
    assert not re.search(r"<script|@import|url\(", served.page, re.IGNORECASE)
    for link in page.links:
        assert link == "openapi.json" or link.removeprefix("#") in page.texts, link
    refs = component_refs(served.document)
    assert "Money" in refs
    assert {f"#schema-{name}" for name in refs} <= set(page.links)


async def test_the_page_is_well_formed(served: Served) -> None:
    """Every element is closed in order: no text of the document broke the markup."""
    page = served.parsed
    assert not page.misnested
    assert not page.unclosed
