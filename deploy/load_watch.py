"""What `load.py` watches besides the answers: each process's memory, and the backlog left.

Memory: the resident set (VmRSS of /proc/<pid>/status) of every process of the platform,
sampled every few seconds. The rule (`memory_bounded`): a process's peak in the last third of
the load may exceed its peak of the first two thirds by at most `allowance_percent` (and at
least `SLACK_MIB`, the step the allocator grows by). A leak grows with the work done, so under
a steady load it keeps raising the peak to the end: half again the growth of the first two
thirds in the last third. A bounded process reaches its working set early (caches and pools
fill, the allocator's arenas settle) and stays under that plateau, with some noise.

Backlog: messages ready in each service's queues (main, queries, retry; dead letters apart:
they are errors, not backlog) and documents holding unpublished outbox messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aio_pika.abc import AbstractConnection
from platform_procs import STATEFUL, LocalPlatform
from pymongo import AsyncMongoClient

from servicekit.outbox import PENDING
from servicekit.queue_depths import queue_depths
from servicekit.topology import Topology

SLACK_MIB = 4.0
"""Growth below this is never a leak: one allocator arena or a few pages of a library."""


def rss_mib(pid: int) -> float | None:
    """The process's resident set in MiB (None once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


@dataclass
class MemorySamples:
    """RSS of each process over time: (seconds since the load started, MiB)."""

    pids: Mapping[str, int]
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def sample(self, at: float) -> None:
        """One reading of every process."""
        for name, pid in self.pids.items():
            mib = rss_mib(pid)
            if mib is not None:
                self.series.setdefault(name, []).append((round(at, 1), round(mib, 1)))

    async def every(self, seconds: float, clock: Any) -> None:
        """Sample every `seconds` until cancelled (`clock()`: seconds since the load started)."""
        while True:
            self.sample(clock())
            await asyncio.sleep(seconds)


def memory_bounded(
    series: Sequence[tuple[float, float]], load_seconds: float, allowance_percent: float
) -> dict[str, Any]:
    """Start, peak and end of one process's RSS during the load, the peaks before and after
    two thirds of it, the slope, and whether it stayed bounded (see the module's rule)."""
    during = [(t, mib) for t, mib in series if 0 <= t <= load_seconds] or list(series)
    cut = load_seconds * 2 / 3
    early = [mib for t, mib in during if t < cut] or [during[0][1]]
    late = [mib for t, mib in during if t >= cut] or [during[-1][1]]
    allowed = max(early) + max(max(early) * allowance_percent / 100, SLACK_MIB)
    return {
        "start_mib": during[0][1],
        "peak_mib": max(mib for _, mib in during),
        "end_mib": during[-1][1],
        "peak_first_two_thirds_mib": max(early),
        "peak_last_third_mib": max(late),
        "allowed_last_third_mib": round(allowed, 1),
        "slope_mib_per_min": round(slope(during) * 60, 2),
        "samples": len(during),
        "bounded": max(late) <= allowed,
    }


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of the points (0 for fewer than two distinct times)."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


@dataclass(frozen=True)
class Backlog:
    """What is left to do: ready messages by queue, unpublished outbox documents by service,
    dead letters by queue."""

    queued: dict[str, int]
    outbox: dict[str, int]
    dead: dict[str, int]

    @property
    def empty(self) -> bool:
        """Nothing queued, nothing unpublished."""
        return not self.queued and not self.outbox


async def backlog(
    platform: LocalPlatform, connection: AbstractConnection, client: AsyncMongoClient[Any]
) -> Backlog:
    """The platform's backlog right now."""
    services = [name for name in platform.processes if name != "providersim"]
    depths = await queue_depths(
        connection,
        Topology(platform.namespace),
        services,
        retry_delays_ms=platform.retry_delays(),
    )
    queued = {d.name: d.messages or 0 for d in depths if d.messages and not d.holds_dead_letters}
    dead = {d.name: d.messages or 0 for d in depths if d.messages and d.holds_dead_letters}
    outbox: dict[str, int] = {}
    for service in (name for name in services if name in STATEFUL):
        database = client[f"{platform.namespace}_{service}"]
        for collection in await database.list_collection_names():
            pending = await database[collection].count_documents({PENDING: 1})
            if pending:
                outbox[service] = outbox.get(service, 0) + pending
    return Backlog(queued, outbox, dead)
