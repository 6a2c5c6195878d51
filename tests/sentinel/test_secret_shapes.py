"""The sentinel's shapes: every kind of secret and personal value is recognised, redacted
forms and public parts are not."""

from __future__ import annotations

import pytest

from support.secret_shapes import KnownSecrets, personal_kinds, secret_kinds, strings_in

API_KEY = "esk_test_AbCdEfGhIjKlMnOp0123456789abcdefghijklmnopQRSTUV"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LXZhbHVl"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"calling with {API_KEY}", "api key"),
        (f'{{"secret": "{WEBHOOK_SECRET}"}}', "webhook secret"),
        ("scan LPA:1$smdp.example.com$04386-AGYFT-A74Y8-3F815 now", "LPA activation string"),
        ("code 04386-AGYFT-A74Y8-3F815", "activation code"),
        ('{"matching_id": "7F3A9C21B0D4E5F6A7B8C9D0"}', "activation code field"),
        ("activation_code=LPA", "activation code field"),
        ("Authorization: Bearer abc.def.ghi-very-secret", "Authorization header value"),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', "Authorization header field"),
    ],
)
def test_each_secret_shape_is_recognised(text: str, kind: str) -> None:
    """Each kind of secret is found by its shape, wherever it sits in the text."""
    assert kind in secret_kinds(text, KnownSecrets())


@pytest.mark.parametrize(
    "text",
    [
        '{"api_key": "[REDACTED]", "event": "key_created", "prefix": "esk_test_AbCdEf"}',
        "esk_live_0123456789abcdef is a key id, not a key",
        '{"authorization": "[REDACTED]", "headers": {"Authorization": "[REDACTED]"}}',
        "activation_code=[REDACTED] matching_id=None lpa=[REDACTED]",
        '{"event": "order_completed", "order_id": "ord_6b092f74", "iccid": "8988247000001"}',
    ],
)
def test_redacted_records_and_public_parts_are_clean(text: str) -> None:
    """What the redaction leaves (markers, key prefixes and ids, plain ids) is no finding."""
    assert secret_kinds(text, KnownSecrets()) == []


def test_known_values_are_found_by_their_names_only() -> None:
    """Secrets registered from an environment are found by value and named by their variable;
    short values and values of other variables are not registered."""
    known = KnownSecrets()
    known.add_named(
        {"DEMO_PASSWORD": "s3cr3t-demo-pw", "PASSWORD_MIN": "short", "BUS_NAMESPACE": "t12345678"},
        "fixture platform_env",
    )
    assert secret_kinds("login with s3cr3t-demo-pw", known) == [
        "DEMO_PASSWORD of fixture platform_env"
    ]
    assert secret_kinds("namespace t12345678, short", known) == []
    assert len(known) == 1


def test_personal_values_by_shape() -> None:
    """Plaintext emails and international phone numbers are found; tokens and digests are not."""
    assert personal_kinds("owner Ada.Lovelace@example.com") == ["email address"]
    assert personal_kinds("call +44 20 7946 0958") == ["phone number"]
    assert personal_kinds("enc1.usr_1.k1.bm9uY2U.Y2lwaGVydGV4dA") == []
    assert personal_kinds("3f2a9c1e0b7d4a5e8f6c2b1a0d9e8f7c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d1e") == []


def test_strings_in_walks_keys_values_and_lists_with_paths() -> None:
    """Every string of a document is visited with its dotted path, keys marked as keys."""
    document = {"end_user": {"email": "a@example.com"}, "tags": ["x", {"y": "z"}], "n": 3}
    assert list(strings_in(document)) == [
        ("end_user", "end_user", True),
        ("end_user.email", "email", True),
        ("end_user.email", "a@example.com", False),
        ("tags", "tags", True),
        ("tags.0", "x", False),
        ("tags.1.y", "y", True),
        ("tags.1.y", "z", False),
        ("n", "n", True),
    ]
