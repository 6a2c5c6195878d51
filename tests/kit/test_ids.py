"""Ids: prefixed, Crockford base32, time-sortable, unique, and never shared with a forked child."""

from __future__ import annotations

import os
import re
import time

from servicekit.ids import new_id

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
SHAPE = re.compile(r"^ord_[0-9a-hjkmnp-tv-z]{26}$")


def millis_of(identifier: str) -> int:
    """The milliseconds an id's first ten digits encode."""
    digits = identifier.partition("_")[2][:10]
    value = 0
    for digit in digits:
        value = value * 32 + ALPHABET.index(digit)
    return value


def test_an_id_is_its_prefix_and_26_base32_digits_starting_with_its_millisecond() -> None:
    """The first ten digits are the time the id was made, to the millisecond."""
    before = time.time_ns() // 1_000_000
    identifier = new_id("ord")
    after = time.time_ns() // 1_000_000
    assert SHAPE.match(identifier), identifier
    assert before <= millis_of(identifier) <= after


def test_ids_made_later_sort_after_ids_made_earlier() -> None:
    """Across a millisecond boundary, string order is creation order."""
    earlier = [new_id("ord") for _ in range(50)]
    started = time.monotonic()
    while millis_of(new_id("ord")) == millis_of(earlier[-1]):
        assert time.monotonic() - started < 1.0
    later = [new_id("ord") for _ in range(50)]
    assert max(earlier) < min(later)


def test_many_ids_are_all_distinct_and_their_random_digits_vary() -> None:
    """Far more ids than one read of randomness holds, none repeated; every digit used."""
    made = [new_id("ord") for _ in range(20_000)]
    assert len(set(made)) == len(made)
    random_digits = {digit for identifier in made for digit in identifier[-16:]}
    assert random_digits == set(ALPHABET)


def test_a_forked_child_makes_ids_its_parent_does_not() -> None:
    """Randomness read before a fork is not reused by the child."""
    new_id("ord")  # the parent now holds unused random values
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writer, " ".join(new_id("ord") for _ in range(20)).encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader) as pipe:
        childs = {identifier[-16:] for identifier in pipe.read().split()}
    parents = {new_id("ord")[-16:] for _ in range(20)}
    assert len(childs) == 20
    assert not childs & parents
