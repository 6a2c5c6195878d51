"""The simulator's run-time parts, shared by its handlers through typed app keys."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from providersim.callbacks import CallbackSender
from providersim.state import ProviderState


@dataclass
class Faults:
    """Latency and fault injection, changeable at run time through `/_sim/config`."""

    latency_min_ms: int
    latency_max_ms: int
    failure_rate: float
    timeout_rate: float
    hang_seconds: float
    rng: random.Random = field(repr=False)

    def view(self) -> dict[str, Any]:
        """The current configuration."""
        return {
            "latency_min_ms": self.latency_min_ms,
            "latency_max_ms": self.latency_max_ms,
            "failure_rate": self.failure_rate,
            "timeout_rate": self.timeout_rate,
        }

    async def delay(self) -> None:
        """Wait as long as a real provider might take."""
        await asyncio.sleep(self.rng.randint(self.latency_min_ms, self.latency_max_ms) / 1000)

    def fails(self) -> bool:
        """Whether this request fails (503)."""
        return self.rng.random() < self.failure_rate

    def hangs(self) -> bool:
        """Whether this request's answer is held back past any client's timeout."""
        return self.rng.random() < self.timeout_rate


STATE: web.AppKey[ProviderState] = web.AppKey("state", ProviderState)
FAULTS: web.AppKey[Faults] = web.AppKey("faults", Faults)
SENDER: web.AppKey[CallbackSender] = web.AppKey("sender", CallbackSender)
RECEIVED: web.AppKey[list[dict[str, Any]]] = web.AppKey("received", list)
