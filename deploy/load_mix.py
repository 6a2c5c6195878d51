"""The load of `load.py`: a weighted mix of API calls sent at a target rate, at most
`concurrency` at a time, each timed and judged by its kind.

The kinds: `order` (one eSIM for a new end user, a new Idempotency-Key each: `place_one` of
bench_orders_load), `read` (one of `READS`, in turn), `access` and `erasure` (a data-subject
request of the partner for one of its end users, through `POST /v1/privacy/requests`; its
closing is heard on the bus by bench_privacy_load's `Closings`). Arrivals are open-loop: one
call every 1/rate seconds whatever the answers do, until all `concurrency` slots are busy,
when the next call waits for a slot (the achieved rate then falls short of the target, and
the report shows it).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from bench_orders_load import place_one
from bench_privacy_load import Closings
from load_hooks import Subjects

KINDS = ("order", "read", "access", "erasure")
DEFAULT_MIX = {"order": 30.0, "read": 64.0, "access": 3.0, "erasure": 3.0}
READS = ("packages", "orders", "order", "esims", "esim", "balance")
"""Read calls, taken in turn: the catalogue, the order list, one order, the eSIM list, one
eSIM, the balance. One order or eSIM is one whose end user is never erased."""
ORDER_STATUSES = (201, 202)
"""201: completed within the gateway's wait; 202: still pending (it finishes later)."""
ERROR_EXAMPLES = 8
CLOSE_TIMEOUT_S = 900.0
"""Longer than any run's drain: a request not closed by then is reported as not final."""


@dataclass(frozen=True)
class Call:
    """One call as the client saw it."""

    kind: str
    """`order`, `read <what>`, `access` or `erasure`."""
    seconds: float
    ok: bool
    status: int
    error: str | None = None


@dataclass(frozen=True)
class Closing:
    """A data-subject request closed: its kind, how it ended, and the seconds from sending
    it until its closing event was heard."""

    kind: str
    status: str
    seconds: float


@dataclass
class Recorder:
    """Every call so far, and the data-subject requests opened (id → kind)."""

    calls: list[Call] = field(default_factory=list)
    requests: dict[str, str] = field(default_factory=dict)
    closed: dict[str, Closing] = field(default_factory=dict)
    orders: list[str] = field(default_factory=list)
    substituted: int = 0
    """Data-subject requests sent as reads because no end user was ready for one yet."""

    def add(self, call: Call) -> None:
        """Note a call."""
        self.calls.append(call)

    @property
    def errors(self) -> list[Call]:
        """The calls that were not answered as expected."""
        return [call for call in self.calls if not call.ok]

    def error_examples(self) -> list[str]:
        """A few distinct errors, as `kind: status: what`."""
        distinct = dict.fromkeys(f"{c.kind}: {c.status}: {c.error}" for c in self.errors)
        return list(distinct)[:ERROR_EXAMPLES]


def parse_mix(text: str) -> dict[str, float]:
    """`order=30,read=64,access=3,erasure=3` → weights (kinds left out weigh 0); ValueError
    on an unknown kind, a negative weight or no weight at all."""
    mix = dict.fromkeys(KINDS, 0.0)
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in mix:
            raise ValueError(f"unknown kind {name.strip()!r}; kinds: {', '.join(KINDS)}")
        mix[name.strip()] = float(weight)
    if any(weight < 0 for weight in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError("weights must be >= 0 and not all 0")
    return mix


class Mix:
    """Which kind comes next: drawn by weight from a seeded generator (runs repeat)."""

    def __init__(self, weights: Mapping[str, float], seed: int = 1) -> None:
        self.kinds = [kind for kind, weight in weights.items() if weight > 0]
        self.weights = [weights[kind] for kind in self.kinds]
        self.random = random.Random(seed)
        self._reads = 0

    def next_kind(self) -> str:
        """The kind of the next call."""
        return self.random.choices(self.kinds, self.weights)[0]

    def next_read(self) -> str:
        """The next read, in turn."""
        self._reads += 1
        return READS[(self._reads - 1) % len(READS)]


async def timed(kind: str, send: Awaitable[tuple[int, Any]], expected: tuple[int, ...]) -> Call:
    """Send, time until the whole answer is read, and judge its status."""
    started = time.perf_counter()
    try:
        status, body = await send
    except (aiohttp.ClientError, TimeoutError, ValueError) as failure:
        return Call(kind, time.perf_counter() - started, False, 0, repr(failure)[:200])
    seconds = time.perf_counter() - started
    if status in expected:
        return Call(kind, seconds, True, status)
    what = (body.get("code") or body.get("title")) if isinstance(body, dict) else body
    return Call(kind, seconds, False, status, str(what)[:200])


async def _json(answer: Awaitable[aiohttp.ClientResponse]) -> tuple[int, Any]:
    async with await answer as response:
        return response.status, await response.json(content_type=None)


@dataclass
class Caller:
    """Sends the calls of each kind as the load's partner."""

    session: aiohttp.ClientSession
    subjects: Subjects
    recorder: Recorder
    mix: Mix
    package: str
    closings: Closings
    watching: set[asyncio.Task[None]] = field(default_factory=set)
    """The requests whose closing is awaited."""

    async def call(self, kind: str) -> None:
        """Send one call of `kind` and record it."""
        if kind in ("access", "erasure"):
            email = self.subjects.for_request(kind)
            if email is None:
                self.recorder.substituted += 1
                kind = "read"
            else:
                self.recorder.add(await self.request(kind, email))
                return
        if kind == "order":
            self.recorder.add(await self.order())
        else:
            self.recorder.add(await self.read(self.mix.next_read()))

    async def order(self) -> Call:
        """One eSIM for a new end user."""
        email = self.subjects.new_email()
        sample = await place_one(self.session, self.package, {"email": email})
        ok = sample.status in ORDER_STATUSES and sample.order_id is not None
        ok = ok and (sample.status == 202 or sample.completed)
        if ok and sample.order_id is not None:
            self.recorder.orders.append(sample.order_id)
            self.subjects.ordered(sample.order_id, email)
        error = None if ok else sample.error or sample.order_status
        return Call("order", sample.seconds, ok, sample.status, error)

    async def read(self, what: str) -> Call:
        """One read call."""
        what, path = self._read_path(what)
        return await timed(f"read {what}", _json(self.session.get(path)), (200,))

    def _read_path(self, what: str) -> tuple[str, str]:
        """What is read and its path; one order or eSIM becomes the list until an order of a
        kept end user has completed."""
        kept = self.subjects.kept_order()
        if what == "order" and kept is not None:
            return what, f"/v1/orders/{kept.order_id}"
        if what == "esim" and kept is not None and kept.iccids:
            return what, f"/v1/esims/{kept.iccids[0]}"
        paths = {
            "packages": "/v1/packages",
            "balance": "/v1/balance",
            "esims": "/v1/esims?limit=20",
            "orders": "/v1/orders?limit=20",
        }
        listed = what if what in paths else f"{what}s"
        return listed, paths[listed]

    async def request(self, kind: str, email: str) -> Call:
        """Open a data-subject request for the end user with this email; its closing is
        awaited in the background."""
        body = {"type": kind, "subject": {"email": email}}
        return await timed(kind, self._submit(body), (202,))

    async def _submit(self, body: dict[str, Any]) -> tuple[int, Any]:
        started = time.perf_counter()
        status, answer = await _json(self.session.post("/v1/privacy/requests", json=body))
        if status == 202 and isinstance(answer, dict):
            request_id = answer["id"]
            self.recorder.requests[request_id] = body["type"]
            watch = asyncio.create_task(self._closing(request_id, body["type"], started))
            self.watching.add(watch)
            watch.add_done_callback(self.watching.discard)
        return status, answer

    async def _closing(self, request_id: str, kind: str, started: float) -> None:
        try:
            closed = await self.closings.wait(request_id, CLOSE_TIMEOUT_S)
        except TimeoutError:
            return
        self.recorder.closed[request_id] = Closing(kind, closed.status, closed.heard - started)


async def drive(
    caller: Callable[[str], Awaitable[None]],
    mix: Mix,
    rate: float,
    seconds: float,
    concurrency: int,
) -> float:
    """Calls at `rate` a second for `seconds`, at most `concurrency` in flight; waits for the
    last ones. The seconds it took."""
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)
    flying: set[asyncio.Task[None]] = set()
    started = loop.time()
    due, deadline = started, started + seconds

    async def one(kind: str) -> None:
        try:
            await caller(kind)
        finally:
            slots.release()

    while due < deadline and loop.time() < deadline:
        await asyncio.sleep(max(0.0, due - loop.time()))
        await slots.acquire()
        task = asyncio.create_task(one(mix.next_kind()))
        flying.add(task)
        task.add_done_callback(flying.discard)
        # Behind by more than a second (no free slot): do not burst to catch up.
        due = max(due + 1 / rate, loop.time() - 1.0)
    await asyncio.gather(*flying)
    return loop.time() - started
