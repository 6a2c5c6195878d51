"""The dashboard's small rules on their own: CSRF tokens, return paths, preference values."""

from __future__ import annotations

import pytest

from gateway.dashboard.csrf import session_token
from gateway.dashboard.forms import safe_return_path
from gateway.dashboard.preferences import STRINGS, Preferences


def test_a_session_csrf_token_is_stable_per_session_and_reveals_nothing() -> None:
    """The same session always gets the same token, another session another; neither
    contains the session token."""
    first, second = "s" * 43, "t" * 43
    assert session_token(first) == session_token(first)
    assert session_token(first) != session_token(second)
    assert first not in session_token(first)
    assert len(session_token(first)) == 64


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("/dashboard/account", "/dashboard/account"),
        ("/dashboard/api-keys?cursor=abc", "/dashboard/api-keys?cursor=abc"),
        ("//evil.example/dashboard", "/dashboard/"),
        ("https://evil.example/dashboard", "/dashboard/"),
        ("/v1/ping", "/dashboard/"),
        ("/dashboard\\..\\x", "/dashboard/"),
        ("", "/dashboard/"),
    ],
)
def test_return_paths_stay_in_the_dashboard(asked: str, expected: str) -> None:
    """After a form the browser goes back only to a dashboard path."""
    assert safe_return_path(asked, "/dashboard/") == expected


@pytest.mark.parametrize(
    ("cookie", "theme", "language"),
    [
        ("dark.de", "dark", "de"),
        ("light.en", "light", "en"),
        ("dark", "dark", "en"),
        ("neon.xx", "light", "en"),
        ("", "light", "en"),
        ("<b>.de", "light", "de"),
    ],
)
def test_the_preference_cookie_reads_only_offered_values(
    cookie: str, theme: str, language: str
) -> None:
    """Anything not offered reads as the default, so nothing else reaches a page."""
    assert Preferences.parse(cookie) == Preferences(theme=theme, language=language)


def test_layout_words_fall_back_to_english() -> None:
    """Every layout word has its German; placeholders are filled; an unknown key shows as is."""
    assert set(STRINGS["de"]) == set(STRINGS["en"])
    german = Preferences(language="de").translator()
    assert german("nav.logout") == "Abmelden"
    assert german("login.locked", seconds=30).endswith("30 Sekunden erneut versuchen.")
    assert Preferences().translator()("no.such.key") == "no.such.key"
