"""Live and test mode of orders, top-ups and eSIMs (decision 0019).

A test API key acts on its partner's test world: what it buys is stored with mode `test`,
and it finds only test orders, top-ups and eSIMs; a live key finds only live ones, so neither
reaches the other's. Dashboard users and the platform have no mode: they see both, and what a
user buys is live.
"""

from __future__ import annotations

from typing import Literal

from contracts.accounts import Actor

Mode = Literal["live", "test"]
LIVE: Mode = "live"


def mode_of(actor: Actor) -> Mode:
    """The mode of what this actor creates: its key's, else live."""
    return actor.mode or LIVE


def visible_to(actor: Actor) -> dict[str, str]:
    """The criteria that keep an API key to its own mode's records; none for the others."""
    return {} if actor.mode is None else {"mode": actor.mode}
