"""Download tokens: signed, expiring, naming only the request."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from privacy.export_links import (
    LinkGrant,
    LinkKeyError,
    check_token,
    generate_link_key,
    link_key,
    sign_token,
)
from servicekit.errors import ServiceError

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KEY = link_key(generate_link_key())
GRANT = LinkGrant(request_id="dsr_01tok", expires_at=NOW + timedelta(hours=24))


def _code(token: str) -> str:
    with pytest.raises(ServiceError) as caught:
        check_token(KEY, token, NOW)
    return caught.value.code


def test_a_genuine_token_grants_its_request_until_it_expires() -> None:
    """The token checks out to the request and expiry it was signed for."""
    assert check_token(KEY, sign_token(KEY, GRANT), NOW) == GRANT


def test_an_expired_token_is_gone() -> None:
    """At or after its expiry a genuine token is refused as `gone`."""
    token = sign_token(KEY, GRANT)
    with pytest.raises(ServiceError) as caught:
        check_token(KEY, token, GRANT.expires_at)
    assert caught.value.code == "gone"


def test_a_forged_token_is_forbidden() -> None:
    """Another key's token, an altered payload, a cut signature or garbage: `forbidden`."""
    other = sign_token(link_key(generate_link_key()), GRANT)
    payload, _, signature = sign_token(KEY, GRANT).partition(".")
    altered = base64.urlsafe_b64encode(b'{"r":"dsr_other","e":9999999999}').decode().rstrip("=")
    for forged in [other, f"{altered}.{signature}", payload, f"{payload}.", "!!!.###", "x.y"]:
        assert _code(forged) == "forbidden", forged


def test_the_token_names_the_request_and_expiry_only() -> None:
    """No personal data travels in a link: its payload is the request id and the expiry."""
    payload = sign_token(KEY, GRANT).split(".")[0]
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert fields == {"r": "dsr_01tok", "e": int(GRANT.expires_at.timestamp())}


def test_a_short_or_malformed_link_key_is_refused() -> None:
    """EXPORT_LINK_KEY must be base64 of at least 32 bytes; the error never shows it."""
    with pytest.raises(LinkKeyError):
        link_key(base64.b64encode(b"short").decode())
    with pytest.raises(LinkKeyError) as caught:
        link_key("not base64 !!")
    assert "not base64 !!" not in str(caught.value)
