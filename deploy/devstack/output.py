"""Plain, line-oriented progress output, prefixed so it stands out under honcho and make."""

import sys
from collections.abc import Callable

PREFIX = "devstack:"

Say = Callable[[str], None]


def say(message: str) -> None:
    """Print one progress line to stdout at once (stdout is a pipe under honcho)."""
    print(f"{PREFIX} {message}", flush=True)


def say_error(message: str) -> None:
    """Print an error, one or more lines, to stderr."""
    print(f"{PREFIX} error: {message}", file=sys.stderr, flush=True)


def quiet(message: str) -> None:
    """A `Say` that drops its message."""
