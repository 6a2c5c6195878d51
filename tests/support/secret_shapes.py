"""What the secrets sentinel looks for: secrets by shape and by value, personal data by shape.

Shapes follow the platform's formats (`accounts.apikeys`, `provisioning.esims`, Standard
Webhooks secrets). Known values are the passwords and secrets the tests themselves use: the
test modules' `*PASSWORD*` constants and the secrets of fixtures' environments (the e2e
platform's random demo password, API key, pepper, ...), registered while the session runs.
A finding names the kind of secret, never the secret.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping

SECRET_SHAPES: dict[str, re.Pattern[str]] = {
    # More than the public key id (16 characters) after the mode: part of the secret is there.
    "api key": re.compile(r"esk_(?:live|test)_[0-9A-Za-z]{17,}"),
    "webhook secret": re.compile(r"whsec_[A-Za-z0-9+/=_-]{8,}"),
    "LPA activation string": re.compile(r"LPA:1\$[^\s\"',;]+", re.IGNORECASE),
    # GSMA matching ids as the tests write them (`04386-AGYFT-A74Y8-3F815`).
    "activation code": re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){3,4}\b"),
    "activation code field": re.compile(
        r"(?i)\b(?:activation_code|matching_id)[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED\])"
        r"(?!None\b|null\b)[A-Za-z0-9$]"
    ),
    "Authorization header value": re.compile(
        r"(?i)\b(?:bearer|basic)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}"
    ),
    "Authorization header field": re.compile(
        r"(?i)[\"']?authorization[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED\])(?!None\b|null\b)\w"
    ),
}
"""Secret shapes by kind."""

KNOWN_SECRET_NAMES = re.compile(
    r"(?i)(password|api_key|secret|pepper|master_keys|blind_index_key|signing_key|link_key)"
)
"""Environment and constant names whose values are secrets the tests use."""
MIN_KNOWN_LENGTH = 8
"""Shorter values would match by chance; none of the tests' secrets is that short."""

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w.+])\+\d[\d ()-]{6,18}\d\b")
"""Plaintext personal data by shape: any email address, any international phone number."""


class KnownSecrets:
    """The secret values the tests use, by kind; thread-safe (services log from threads)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, value: str, kind: str) -> None:
        """Remember one secret value (too short ones are ignored: they would match anywhere)."""
        if len(value) >= MIN_KNOWN_LENGTH:
            with self._lock:
                self._values.setdefault(value, kind)

    def add_named(self, values: Mapping[str, object], where: str) -> None:
        """Remember the values whose names say they are secrets (`DEMO_PASSWORD`, ...)."""
        for name, value in values.items():
            if isinstance(name, str) and isinstance(value, str) and KNOWN_SECRET_NAMES.search(name):
                self.add(value, f"{name} of {where}")

    def kinds_in(self, text: str) -> list[str]:
        """The kinds of the known secrets `text` contains."""
        with self._lock:
            known = list(self._values.items())
        return [kind for value, kind in known if value in text]

    def __len__(self) -> int:
        return len(self._values)


KNOWN = KnownSecrets()
"""The session's known secrets."""


def secret_kinds(text: str, known: KnownSecrets = KNOWN) -> list[str]:
    """Every kind of secret `text` holds, by shape or as a known value (each kind once)."""
    found = [kind for kind, shape in SECRET_SHAPES.items() if shape.search(text)]
    found.extend(known.kinds_in(text))
    return list(dict.fromkeys(found))


def personal_kinds(text: str) -> list[str]:
    """The kinds of plaintext personal data in `text`: email address, phone number."""
    kinds = []
    if EMAIL.search(text):
        kinds.append("email address")
    if PHONE.search(text):
        kinds.append("phone number")
    return kinds


def strings_in(value: object, path: str = "") -> Iterable[tuple[str, str, bool]]:
    """Every string inside a stored document: its dotted path, the text, whether it is a key."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key), True
            yield from strings_in(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}.{index}" if path else str(index))
