"""The human-readable API reference served at `GET /docs`: one self-contained HTML page
rendered from the OpenAPI document (no JavaScript, no external style sheet or font, light and
dark colours from `prefers-color-scheme`). Every text of the document is escaped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any

from gateway.docs_schema import (
    Schema,
    anchor,
    component_link,
    inline,
    notes_html,
    prose,
    ref_link,
    referenced_components,
    schema_block,
    type_label,
)

METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
UNTAGGED = "other"
_NOT_ANCHOR = re.compile(r"[^A-Za-z0-9]+")
STYLE = (
    ":root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;"
    "--code:#f0f2f4;--link:#0550ae;--req:#c1121f}"
    "@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;"
    "--line:#3d444d;--code:#1c2128;--link:#6cb6ff;--req:#ff7b72}}"
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);"
    "background:var(--bg);max-width:72rem;margin:0 auto;padding:1rem 1.5rem 4rem}"
    "a{color:var(--link)}h1,h2{border-bottom:1px solid var(--line);padding-bottom:.2em}"
    "code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "background:var(--code);padding:.05em .3em;border-radius:4px;overflow-wrap:anywhere}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0}"
    "th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "th{background:var(--code)}td p{margin:.2rem 0}"
    ".op,.schema{border-top:1px solid var(--line);margin-top:2rem;padding-top:.5rem}"
    ".sub{margin-left:1rem}.summary{font-weight:600}.muted,.notes{color:var(--muted)}"
    ".notes{font-size:.9em}.req{color:var(--req);font-size:.8em;font-weight:600}"
    ".method{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;"
    "font:700 .8em ui-monospace,monospace;padding:.15em .4em;color:#fff;background:#59636e}"
    ".m-get{background:#0969da}.m-post{background:#1a7f37}.m-put,.m-patch{background:#9a6700}"
    ".m-delete{background:#cf222e}nav ul{padding-left:1.2rem}nav li{margin:.15rem 0}"
    "nav a{text-decoration:none}"
)


@dataclass(frozen=True)
class Operation:
    """One method of one path, with the parameters its path item shares with it."""

    method: str
    path: str
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]

    @property
    def anchor(self) -> str:
        """The id of the operation's section on the page."""
        return "op-" + _NOT_ANCHOR.sub("-", f"{self.method} {self.path}").strip("-").lower()

    @property
    def tag(self) -> str:
        """The tag the operation is listed under: its first one."""
        tags = self.spec.get("tags")
        return str(tags[0]) if isinstance(tags, list) and tags else UNTAGGED


def render_docs(document: dict[str, Any]) -> str:
    """The whole reference page of an OpenAPI 3.x document, as HTML."""
    info = _mapping(document.get("info"))
    schemas = _mapping(_mapping(document.get("components")).get("schemas"))
    groups = operations_by_tag(document)
    title = escape(str(info.get("title") or "API reference"))
    body = "".join(
        [
            _introduction(info),
            _authentication(document),
            _contents(groups, bool(schemas)),
            *(
                _tag_section(document, tag, operations, schemas)
                for tag, operations in groups.items()
            ),
            _schemas_section(schemas),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def operations_by_tag(document: dict[str, Any]) -> dict[str, list[Operation]]:
    """The document's operations grouped by first tag: declared tags first, in their order."""
    groups: dict[str, list[Operation]] = {
        str(tag["name"]): []
        for tag in document.get("tags") or []
        if isinstance(tag, dict) and "name" in tag
    }
    for path, item in _mapping(document.get("paths")).items():
        shared = [p for p in _mapping(item).get("parameters") or [] if isinstance(p, dict)]
        for method in METHODS:
            spec = _mapping(item).get(method)
            if isinstance(spec, dict):
                operation = Operation(method, str(path), spec, _merged(shared, spec))
                groups.setdefault(operation.tag, []).append(operation)
    return {tag: operations for tag, operations in groups.items() if operations}


def _merged(shared: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The path item's parameters, overridden by the operation's own (same name and place)."""
    own = [p for p in spec.get("parameters") or [] if isinstance(p, dict)]
    keys = {(p.get("name"), p.get("in")) for p in own}
    return [p for p in shared if (p.get("name"), p.get("in")) not in keys] + own


def _introduction(info: dict[str, Any]) -> str:
    title = escape(str(info.get("title") or "API reference"))
    version = escape(str(info.get("version") or ""))
    return (
        f'<header><h1>{title}</h1><p class="muted">Version <code>{version}</code>'
        ' &middot; generated from <a href="openapi.json">/openapi.json</a></p>'
        f"{prose(info.get('description'))}</header>"
    )


def _authentication(document: dict[str, Any]) -> str:
    schemes = _mapping(_mapping(document.get("components")).get("securitySchemes"))
    entries = "".join(
        f"<dt><code>{escape(str(name))}</code></dt><dd>{scheme_text(_mapping(scheme))}</dd>"
        for name, scheme in schemes.items()
    )
    declared = f"<dl>{entries}</dl>" if entries else "<p>The API declares no authentication.</p>"
    return (
        '<section id="authentication"><h2>Authentication</h2>'
        f"{declared}<p>An operation that names a scope needs a key holding that scope;"
        " each operation says how it is authenticated.</p></section>"
    )


def scheme_text(scheme: dict[str, Any]) -> str:
    """How a client authenticates with one security scheme, in a sentence."""
    kind = str(scheme.get("type", ""))
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        how = "Send the header <code>Authorization: Bearer &lt;key&gt;</code>"
        if scheme.get("bearerFormat"):
            how += f" (the key: {inline(scheme['bearerFormat'])})"
    elif kind == "http":
        how = f"HTTP <code>{escape(str(scheme.get('scheme', '')))}</code> authentication"
    elif kind == "apiKey":
        where = escape(str(scheme.get("in", "")))
        how = f"An API key in the {where} <code>{escape(str(scheme.get('name', '')))}</code>"
    else:
        how = f"Scheme <code>{escape(kind)}</code>"
    return f"<p>{how}.</p>{prose(scheme.get('description'))}"


def _contents(groups: dict[str, list[Operation]], has_schemas: bool) -> str:
    parts = ['<nav id="contents"><h2>Contents</h2><ul>']
    for tag, operations in groups.items():
        links = "".join(
            f'<li><a href="#{op.anchor}">{_method(op.method)} <code>{escape(op.path)}</code></a>'
            f" {inline(op.spec.get('summary') or '')}</li>"
            for op in operations
        )
        parts.append(f'<li><a href="#{_tag_anchor(tag)}">{escape(tag)}</a><ul>{links}</ul></li>')
    if has_schemas:
        parts.append('<li><a href="#schemas">Schemas</a></li>')
    parts.append("</ul></nav>")
    return "".join(parts)


def _tag_anchor(tag: str) -> str:
    return "tag-" + _NOT_ANCHOR.sub("-", tag).strip("-").lower()


def _method(method: str) -> str:
    return f'<span class="method m-{escape(method)}">{escape(method.upper())}</span>'


def _tag_section(
    document: dict[str, Any], tag: str, operations: list[Operation], schemas: dict[str, Any]
) -> str:
    declared = [
        t for t in document.get("tags") or [] if isinstance(t, dict) and t.get("name") == tag
    ]
    described = prose(declared[0].get("description")) if declared else ""
    body = "".join(_operation(document, op, schemas) for op in operations)
    return f'<section id="{_tag_anchor(tag)}"><h2>{escape(tag)}</h2>{described}{body}</section>'


def _operation(document: dict[str, Any], op: Operation, schemas: dict[str, Any]) -> str:
    spec = op.spec
    deprecated = ' <span class="req">deprecated</span>' if spec.get("deprecated") else ""
    return (
        f'<article class="op" id="{op.anchor}"><h3>{_method(op.method)} '
        f"<code>{escape(op.path)}</code>{deprecated}</h3>"
        f'<p class="summary">{inline(spec.get("summary") or "")}</p>'
        f"{_access(document, spec)}{prose(spec.get('description'))}"
        f"{_parameters(op.parameters)}{_request_body(spec.get('requestBody'), schemas)}"
        f"{_responses(spec.get('responses'))}</article>"
    )


def _access(document: dict[str, Any], spec: dict[str, Any]) -> str:
    scope = spec.get("x-required-scope")
    scope_text = f"<code>{escape(str(scope))}</code>" if scope else "none"
    return (
        f'<p class="access"><span class="scope">Scope: {scope_text}</span>'
        f" &middot; Authentication: {_security(spec.get('security', document.get('security')))}"
        "</p>"
    )


def _security(requirements: object) -> str:
    """How an operation is authenticated: the schemes of its requirements, or none."""
    if not isinstance(requirements, list) or not requirements:
        return "none"
    options = []
    for requirement in requirements:
        names = [escape(str(name)) for name in _mapping(requirement)]
        options.append(" and ".join(f"<code>{name}</code>" for name in names) or "none")
    return " or ".join(options)


def _parameters(parameters: list[dict[str, Any]]) -> str:
    if not parameters:
        return ""
    rows = "".join(_parameter_row(parameter) for parameter in parameters)
    return (
        '<h4>Parameters</h4><table class="fields"><thead><tr><th>Name</th><th>In</th>'
        f"<th>Type</th><th>Description</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _parameter_row(parameter: dict[str, Any]) -> str:
    if isinstance(parameter.get("$ref"), str):
        return f'<tr><td colspan="4">{ref_link(parameter["$ref"])}</td></tr>'
    schema = _mapping(parameter.get("schema"))
    mark = ' <span class="req">required</span>' if parameter.get("required") else ""
    described = prose(parameter.get("description") or schema.get("description"))
    return (
        f"<tr><td><code>{escape(str(parameter.get('name', '')))}</code>{mark}</td>"
        f"<td>{escape(str(parameter.get('in', '')))}</td><td>{type_label(schema)}</td>"
        f"<td>{described}{notes_html(schema)}</td></tr>"
    )


def _request_body(body: object, schemas: dict[str, Any]) -> str:
    if not isinstance(body, dict):
        return ""
    needed = "required" if body.get("required") else "optional"
    parts = [f'<h4>Request body <span class="muted">({needed})</span></h4>']
    parts.append(prose(body.get("description")))
    for media, content in _mapping(body.get("content")).items():
        schema = _mapping(_mapping(content).get("schema"))
        parts.append(f"<p><code>{escape(str(media))}</code>: {type_label(schema)}</p>")
        parts.append(_expanded(schema, schemas))
    return "".join(parts)


def _expanded(schema: Schema, schemas: dict[str, Any]) -> str:
    """The schema, then each component it reaches, once: readable without leaving the page."""
    own = "" if isinstance(schema.get("$ref"), str) else schema_block(schema)
    reached = "".join(
        f'<div class="sub"><h5>{component_link(name)}</h5>{schema_block(schemas[name])}</div>'
        for name in referenced_components(schema, schemas)
    )
    return own + reached


def _responses(responses: object) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(str(status))}</code></td>"
        f"<td>{inline(_mapping(response).get('description') or '')}</td>"
        f"<td>{_content_summary(_mapping(response).get('content'))}</td></tr>"
        for status, response in _mapping(responses).items()
    )
    if not rows:
        return ""
    return (
        '<h4>Responses</h4><table class="fields"><thead><tr><th>Status</th>'
        f"<th>Description</th><th>Content</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _content_summary(content: object) -> str:
    return "<br>".join(
        f"<code>{escape(str(media))}</code>: {type_label(_mapping(_mapping(body).get('schema')))}"
        for media, body in _mapping(content).items()
    )


def _schemas_section(schemas: dict[str, Any]) -> str:
    if not schemas:
        return ""
    entries = "".join(
        f'<article class="schema" id="{escape(anchor(str(name)))}"><h3>{escape(str(name))}</h3>'
        f"{schema_block(_mapping(schema))}</article>"
        for name, schema in schemas.items()
    )
    return f'<section id="schemas"><h2>Schemas</h2>{entries}</section>'
