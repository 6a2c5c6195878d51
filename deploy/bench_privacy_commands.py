"""Store commands per erasure, counted inside each service process without changing it.

The benchmark puts a `sitecustomize.py` first on the services' PYTHONPATH; Python imports it
at start-up, and it registers a PyMongo `CommandListener` for every client the process makes
(`pymongo.monitoring.register`). The listener counts commands by `<command> <collection>`
and a daemon thread writes the counts to `<dir>/<pid>.json` a few times a second, so the
benchmark reads them between phases as it reads CPU times. A count is robust to other load
on the machine: it is what a change to the code changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pymongo import monitoring

DIR_VARIABLE = "BENCH_COMMANDS_DIR"
WRITE_EVERY_S = 0.1
SITECUSTOMIZE = "import bench_privacy_commands\n\nbench_privacy_commands.install()\n"


TIME_PREFIX = "us "
"""Keys of the microseconds commands of a kind took (from sent to answered), beside the counts."""


class CommandCounts(monitoring.CommandListener):
    """Counts the commands a process sends, by command name and collection, and the time they
    took until answered (`TIME_PREFIX` + kind, in microseconds)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.kinds: dict[int, str] = {}
        self.lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Count one command."""
        name = event.command_name
        target = event.command.get("collection" if name == "getMore" else name)
        kind = f"{name} {target if isinstance(target, str) else '-'}"
        with self.lock:
            self.counts[kind] += 1
            self.kinds[event.request_id] = kind

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Add the time the command took to its kind's."""
        self._took(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Add the time the command took to its kind's (it was counted when it started)."""
        self._took(event.request_id, event.duration_micros)

    def _took(self, request_id: int, micros: int) -> None:
        with self.lock:
            kind = self.kinds.pop(request_id, None)
            if kind is not None:
                self.counts[TIME_PREFIX + kind] += micros

    def snapshot(self) -> dict[str, int]:
        """The counts and times so far."""
        with self.lock:
            return dict(self.counts)


def install() -> None:
    """Count this process's store commands when `BENCH_COMMANDS_DIR` is set (sitecustomize)."""
    folder = os.environ.get(DIR_VARIABLE)
    if not folder:
        return
    counts = CommandCounts()
    monitoring.register(counts)
    path = Path(folder) / f"{os.getpid()}.json"
    threading.Thread(target=_write_forever, args=(counts, path), daemon=True).start()


def _write_forever(counts: CommandCounts, path: Path) -> None:
    written: dict[str, int] = {}
    stop = threading.Event()
    while not stop.wait(WRITE_EVERY_S):
        now = counts.snapshot()
        if now != written:
            spare = path.with_suffix(".tmp")
            spare.write_text(json.dumps(now))
            spare.replace(path)
            written = now


def prepare(folder: Path) -> dict[str, str]:
    """Write the sitecustomize into `folder`; the environment that makes services count."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {DIR_VARIABLE: str(folder)}


def read_counts(folder: Path, pids: dict[str, int]) -> dict[str, dict[str, int]]:
    """Each named process's counts so far (empty for one that wrote none yet)."""
    counts: dict[str, dict[str, int]] = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError, ValueError):
            counts[name] = json.loads((folder / f"{pid}.json").read_text())
        counts.setdefault(name, {})
    return counts


def commands_per_erasure(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], erasures: int
) -> dict[str, Any]:
    """Store commands per erasure of each process and in total, each process's commands by
    kind (per erasure, the most frequent first), and the milliseconds per erasure each kind
    took from sent to answered (`ms_by_kind`, the slowest first; concurrent commands add up)
    between two `read_counts`."""
    per: dict[str, float] = {}
    kinds: dict[str, dict[str, float]] = {}
    waits: dict[str, dict[str, float]] = {}
    each = max(erasures, 1)
    for name, now in sorted(after.items()):
        was = before.get(name, {})
        spent = {kind: count - was.get(kind, 0) for kind, count in now.items()}
        spent = {kind: count for kind, count in spent.items() if count > 0}
        counts = {k: n for k, n in spent.items() if not k.startswith(TIME_PREFIX)}
        per[name] = round(sum(counts.values()) / each, 2)
        ordered = sorted(counts.items(), key=lambda item: -item[1])
        kinds[name] = {kind: round(count / each, 2) for kind, count in ordered}
        timed = {k.removeprefix(TIME_PREFIX): us for k, us in spent.items() if k not in counts}
        slowest = sorted(timed.items(), key=lambda item: -item[1])
        waits[name] = {kind: round(us / 1000 / each, 2) for kind, us in slowest}
    return {**per, "total": round(sum(per.values()), 2), "by_kind": kinds, "ms_by_kind": waits}


class Counted:
    """The services' store commands (`bench_privacy_commands`) between two moments."""

    FLUSH_S = 0.3
    """Longer than the counting thread's write interval."""

    def __init__(self, folder: Path, pids: dict[str, int], services: Iterable[str]) -> None:
        self.folder = folder
        named = set(services)
        self.pids = {name: pid for name, pid in pids.items() if name in named}
        self.before: dict[str, dict[str, int]] = {}

    async def start(self) -> None:
        """Take the counts a phase starts from."""
        await asyncio.sleep(self.FLUSH_S)
        self.before = read_counts(self.folder, self.pids)

    async def per_erasure(self, erasures: int) -> dict[str, Any]:
        """Store commands per erasure of each service since `start`."""
        await asyncio.sleep(self.FLUSH_S)
        return commands_per_erasure(self.before, read_counts(self.folder, self.pids), erasures)
