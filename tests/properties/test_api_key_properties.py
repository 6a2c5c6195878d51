"""Property tests of API key parsing: what `generate` makes parses back; no mistyped or
arbitrary string is taken for a key, and parsing never fails on any input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from accounts.apikeys import CHECKSUM_LENGTH, ParsedKey, generate, parse

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MODES = st.sampled_from(["live", "test"])


@given(MODES)
def test_a_generated_key_parses_to_its_own_parts(mode: str) -> None:
    """Every key `generate` returns parses to exactly the parts it returned with it."""
    key, parts = generate("live" if mode == "live" else "test")
    assert parse(key) == parts
    assert parts.prefix == key[: len(f"esk_{mode}_") + 6]


@given(MODES, st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=61))
def test_any_one_character_typo_is_refused(mode: str, where: int, shift: int) -> None:
    """Changing any one character of a key after its mode (id, secret or checksum) to another
    base62 character makes it no key at all: the checksum catches every single typo."""
    key, _ = generate("live" if mode == "live" else "test")
    start = len(f"esk_{mode}_")
    position = start + where % (len(key) - start)
    replacement = ALPHABET[(ALPHABET.index(key[position]) + shift) % len(ALPHABET)]
    typo = key[:position] + replacement + key[position + 1 :]
    assert parse(typo) is None


@given(st.text(max_size=120))
def test_parsing_any_text_never_fails_and_only_accepts_well_formed_keys(text: str) -> None:
    """Arbitrary text parses to None, or to parts that rebuild the very same string."""
    parsed = parse(text)
    if parsed is not None:
        assert isinstance(parsed, ParsedKey)
        assert text.startswith(f"esk_{parsed.mode}_{parsed.key_id}{parsed.secret}")
        assert (
            len(text) == len(f"esk_{parsed.mode}_{parsed.key_id}{parsed.secret}") + CHECKSUM_LENGTH
        )


@given(MODES, st.text(min_size=1, max_size=8))
def test_a_key_with_anything_around_it_is_refused(mode: str, extra: str) -> None:
    """A valid key with text before or after it (a pasted line, a trailing newline) is no key."""
    key, _ = generate("live" if mode == "live" else "test")
    assert parse(extra + key) is None
    assert parse(key + extra) is None
