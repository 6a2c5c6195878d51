"""What the account, contact and user forms share: reading optional fields, turning a
contract's validation errors into one message per form field, accounts' refusals a form shows,
and the fixed notices a page shows after a change (`?done=...`, never free text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from gateway.dashboard.forms import Form, text
from servicekit.errors import RemoteCallError

GENERAL = ""
"""The key of an error that belongs to no one field (shown above the form)."""
FORM_REFUSALS = {"conflict": 409, "restricted": 409, "invalid_request": 422}
"""Accounts' refusals shown on the form, with the page's status; any other refusal
(`forbidden`, `not_found`) is the guard's error page."""
NOTICES = {
    "account-updated": "The business details were saved.",
    "account-unchanged": "Nothing was changed.",
    "contact-added": "The contact was added.",
    "contact-updated": "The contact's details were saved.",
    "contact-removed": "The contact was removed.",
    "user-created": "The user was created. They can log in with the password you chose.",
}
_PATTERN_HINTS = {
    "phone": "Give an international number, e.g. +4915112345678.",
    "country": "Give the two-letter country code, e.g. DE.",
}
_VALUE_ERROR_PREFIX = "Value error, "


def optional(form: Form, name: str) -> str | None:
    """A text field's value, or None when it is left empty (the contract's "no value")."""
    value = text(form, name).strip()
    return value or None


def field_errors(error: ValidationError) -> dict[str, str]:
    """One readable message per invalid field (`address.city`), never echoing the input;
    errors of the whole form under `GENERAL`."""
    errors: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        errors.setdefault(field, _message(field, item))
    return errors


def _message(field: str, item: Mapping[str, Any]) -> str:
    kind = item["type"]
    if kind == "missing" or (kind == "string_too_short" and item["ctx"]["min_length"] == 1):
        return "This field is required."
    if kind == "string_pattern_mismatch":
        return _PATTERN_HINTS.get(field.rsplit(".", 1)[-1], "This is not in the expected format.")
    message = str(item["msg"]).removeprefix(_VALUE_ERROR_PREFIX)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def form_refusal(error: RemoteCallError) -> tuple[dict[str, str], int]:
    """Accounts' refusal as the form's general error and the page's status; re-raised when it
    is not one a form shows (the guard renders its page)."""
    status = FORM_REFUSALS.get(error.code)
    if status is None:
        raise error
    message = error.message[:1].upper() + error.message[1:]
    return {GENERAL: message if message.endswith(".") else f"{message}."}, status


def notice_of(request: web.Request) -> str | None:
    """The notice a page shows after a change, from the fixed list (`?done=<key>`)."""
    return NOTICES.get(request.query.get("done", ""))


def with_notice(path: str, key: str) -> str:
    """Where to send the browser after a change: the page, showing that notice (a key of
    `NOTICES`)."""
    return f"{path}?done={key}"
