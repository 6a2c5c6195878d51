"""Reading the dashboard's HTML forms."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


def text(form: Form, name: str, default: str = "") -> str:
    """A text field's value (anything else, e.g. a file, counts as absent)."""
    value = form.get(name)
    return value if isinstance(value, str) else default


def texts(form: Form, name: str) -> list[str]:
    """Every value of a repeated text field (checkboxes)."""
    return [value for value in form.getall(name, []) if isinstance(value, str)]


def safe_return_path(path: str, default: str) -> str:
    """Where to send the browser back to: only a path of the dashboard, never another site."""
    if path.startswith("/dashboard") and not path.startswith("//") and "\\" not in path:
        return path
    return default
