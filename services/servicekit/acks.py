"""Acknowledging a channel's deliveries with as few frames as is safe.

Each finished delivery used to be acknowledged with its own `basic.ack`. Here a channel's
finished deliveries are acknowledged together, with one `basic.ack(multiple=True)` up to the
highest delivery tag below which every delivery of the channel is settled: handled, or moved
on (retried, dead-lettered) and acknowledged, or requeued with its own `basic.nack`.

- Handlers finish out of order, so a tag whose handler still runs holds back the acks above
  it. Not for long: a delivery held back `HOLD_SECONDS` is acknowledged on its own, so a slow
  handler does not keep the prefetch window full and stall the queue behind it.
- Delivery tags belong to a channel and start again at 1 when a robust channel reopens, so
  there is one `ChannelAcks` per AMQP channel object (aiormq's, `message.channel`).
- One sender task per channel sends the frames in order: it starts as soon as a delivery
  finishes, takes every delivery that finished meanwhile, and ends when nothing is left, so
  an ack never waits for a next message. It hands each frame to the connection's write queue
  without waiting for the socket to drain (`wait=False`): an ack is a few bytes, and waiting
  costs a future and two task switches a frame.
- A tag that never reached the handler (aio-pika could not build its message) must never be
  covered by a `multiple` ack. Deliveries reach the handler in tag order, so a missing tag
  below a seen one will not come: from then on that channel acknowledges one by one.
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from collections.abc import Callable

import structlog
from aio_pika.abc import AbstractIncomingMessage
from aiormq.abc import AbstractChannel

log = structlog.get_logger("servicekit.acks")

HOLD_SECONDS = 0.002
"""How long a finished delivery may wait behind a running one before it is acked alone."""

AfterAck = Callable[[], None]
"""Called once the delivery's ack has been handed to the connection (a metric, say)."""


class _State(enum.Enum):
    RUNNING = enum.auto()
    DONE = enum.auto()
    """Finished; to be acknowledged, with its neighbours if it can."""
    ALONE = enum.auto()
    """Finished and held back too long (or past a missing tag): to be acked on its own."""
    NACK = enum.auto()
    """Finished; to be requeued with its own `basic.nack`."""
    SETTLED = enum.auto()
    """Its own frame has been sent; a later `multiple` ack may pass over it."""


_PASSABLE = (_State.DONE, _State.SETTLED)
"""What a `multiple` ack may cover (ALONE and NACK tags wait for their own frame first)."""


class ChannelAcks:
    """The unsettled deliveries of one AMQP channel, and the task that settles them."""

    def __init__(self, channel: AbstractChannel) -> None:
        self.channel = channel
        self._floor = 0
        """Every tag up to this one is settled."""
        self._states: dict[int, _State] = {}
        self._after: dict[int, AfterAck] = {}
        self._sender: asyncio.Task[None] | None = None
        self._hold: asyncio.TimerHandle | None = None
        self._releasing = False
        self._one_by_one = False
        """A tag never reached the handler: no `multiple` ack may be sent on this channel."""
        self._lost = False
        """A frame could not be sent: the channel is gone, and the broker requeues the rest."""
        self.frames = 0
        """`basic.ack` and `basic.nack` frames sent (for tests and benchmarks)."""

    @property
    def unsettled(self) -> int:
        """Deliveries seen and not yet settled (running, or waiting for their frame)."""
        return sum(1 for state in self._states.values() if state is not _State.SETTLED)

    def begin(self, tag: int) -> None:
        """A delivery's handling starts: its tag holds back the acks above it."""
        self._states[tag] = _State.RUNNING

    def ack(self, tag: int, after: AfterAck | None = None) -> None:
        """The delivery is done with: acknowledge it (soon, together with its neighbours)."""
        self._finish(tag, _State.ALONE if self._one_by_one else _State.DONE, after)

    def nack(self, tag: int) -> None:
        """The delivery goes back to its queue: a `basic.nack` with requeue, on its own."""
        self._finish(tag, _State.NACK, None)

    def abandon(self, tag: int) -> None:
        """The delivery's handling ended without settling it: requeue it, so that it does
        not hold back the acks of the deliveries after it."""
        if self._states.get(tag) is _State.RUNNING:
            self.nack(tag)

    async def drain(self, *, release_held: bool = True) -> None:
        """Wait until the frames of everything finished so far have been sent; deliveries
        held back behind a running one are acked alone at once unless `release_held` is off."""
        while True:
            while self._sender is not None and not self._sender.done():
                await asyncio.shield(self._sender)
            if not release_held or self._hold is None:
                return
            self._hold.cancel()
            self._release_held()

    def _finish(self, tag: int, state: _State, after: AfterAck | None) -> None:
        if self._lost:
            return
        if self._states.get(tag) is not _State.RUNNING:
            raise RuntimeError(f"delivery {tag} is not being handled")
        self._states[tag] = state
        if after is not None:
            self._after[tag] = after
        self._kick()

    def _kick(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        """Send frames until nothing finished is left unsent."""
        try:
            while await self._send_once():
                pass
        except Exception as failure:
            log.warning("acks_not_sent", unsettled=self.unsettled, error=repr(failure))
            self._lost = True
            self._states.clear()
            self._after.clear()
            if self._hold is not None:
                self._hold.cancel()

    async def _send_once(self) -> bool:
        """One pass: the frames of their own, then one `multiple` ack; whether any was sent."""
        sent = await self._send_own_frames()
        if self._one_by_one:
            return sent
        highest, stopped_at = self._advance()
        if highest is not None:
            await self.channel.basic_ack(highest, multiple=True, wait=False)
            self.frames += 1
            self._run_after(highest)
            return True  # more may have finished meanwhile: look again before holding back
        return self._after_the_run(stopped_at) or sent

    def _after_the_run(self, stopped_at: int) -> bool:
        """What to do with finished deliveries above the tag the run stopped at: wait a little
        for it, or ack them alone; whether another pass is due at once."""
        above = [tag for tag in self._states if tag > stopped_at]
        if above and stopped_at not in self._states:
            self._give_up_multiple(stopped_at)
            return True
        held = [tag for tag in above if self._states[tag] is _State.DONE]
        if not held:
            self._releasing = False
            return False
        if not self._releasing:
            self._hold_back()
            return False
        self._releasing = False
        for tag in held:
            self._states[tag] = _State.ALONE
        return True

    async def _send_own_frames(self) -> bool:
        """Requeue the NACK tags and acknowledge the ALONE ones, each with its own frame."""
        own = [(t, s) for t, s in self._states.items() if s in (_State.NACK, _State.ALONE)]
        for tag, state in own:
            if state is _State.NACK:
                await self.channel.basic_nack(tag, multiple=False, requeue=True, wait=False)
            else:
                await self.channel.basic_ack(tag, multiple=False, wait=False)
            self.frames += 1
            self._states[tag] = _State.SETTLED
            self._call_after(tag)
        if self._one_by_one:
            for tag, _ in own:
                del self._states[tag]
        return bool(own)

    def _advance(self) -> tuple[int | None, int]:
        """Move the floor over the settled run: the highest tag to ack, and where it stopped."""
        highest = None
        tag = self._floor + 1
        while (state := self._states.get(tag)) in _PASSABLE:
            if state is _State.DONE:
                highest = tag
            del self._states[tag]
            tag += 1
        self._floor = tag - 1
        return highest, tag

    def _hold_back(self) -> None:
        """Deliveries finished above a running one: ack them alone if it runs for long."""
        if self._hold is None:
            loop = asyncio.get_running_loop()
            self._hold = loop.call_later(HOLD_SECONDS, self._release_held)

    def _release_held(self) -> None:
        """The hold is over: the next pass acks alone what is still held back."""
        self._hold = None
        if not self._lost:
            self._releasing = True
            self._kick()

    def _give_up_multiple(self, missing: int) -> None:
        """A tag below seen ones never came: acknowledge one by one from now on."""
        log.warning("delivery_never_handled", delivery_tag=missing)
        self._one_by_one = True
        for tag, state in list(self._states.items()):
            if state is _State.DONE:
                self._states[tag] = _State.ALONE
            elif state is _State.SETTLED:
                del self._states[tag]

    def _run_after(self, upto: int) -> None:
        for tag in [t for t in self._after if t <= upto]:
            self._call_after(tag)

    def _call_after(self, tag: int) -> None:
        after = self._after.pop(tag, None)
        if after is not None:
            after()


class AckBook:
    """The `ChannelAcks` of each channel a consumer receives deliveries on."""

    def __init__(self) -> None:
        self._channels: weakref.WeakKeyDictionary[AbstractChannel, ChannelAcks] = (
            weakref.WeakKeyDictionary()
        )
        self._last: ChannelAcks | None = None

    def begin(self, message: AbstractIncomingMessage) -> tuple[ChannelAcks, int]:
        """Register a delivery whose handling starts; its channel's acks and its tag.

        Raises aio-pika's ChannelInvalidStateError if the channel has closed meanwhile."""
        channel = message.channel
        acks = self._last
        if acks is None or acks.channel is not channel:
            acks = self._channels.get(channel)
            if acks is None:
                acks = self._channels[channel] = ChannelAcks(channel)
            self._last = acks
        tag = message.delivery_tag
        if tag is None:
            raise ValueError("a delivery without a delivery tag cannot be acknowledged")
        acks.begin(tag)
        return acks, tag

    async def drain(self) -> None:
        """Send every ack of the deliveries finished so far."""
        for acks in list(self._channels.values()):
            await acks.drain()
