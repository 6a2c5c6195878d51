"""Test and benchmark namespaces carry their start, so a sweep tells leftovers from live runs."""

from __future__ import annotations

import time

from support.names import LEFT_BEHIND_AFTER_S, left_behind, unique_namespace


def test_a_fresh_namespace_is_not_left_behind_but_an_old_one_is() -> None:
    """Names made now are live; the same shape stamped hours ago, or the old unstamped
    shape, is a leftover; anything else (make run's `esim`) never is."""
    assert not left_behind(unique_namespace())
    assert not left_behind(f"bench{int(time.time()):08x}a1b2c3")  # platform_procs' shape
    long_ago = int(time.time()) - LEFT_BEHIND_AFTER_S - 60
    assert left_behind(f"t{long_ago:08x}a1b2c3")
    assert left_behind(f"bench{long_ago:08x}a1b2c3bus")
    assert left_behind("t0123456789")
    assert not left_behind("esim")
    assert not left_behind("tryexp")
