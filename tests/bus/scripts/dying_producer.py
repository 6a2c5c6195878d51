"""A producer that commits a change with its outgoing event, then dies before any publish."""

from __future__ import annotations

import asyncio
import os
import signal

from servicekit.bus import Bus
from servicekit.outbox import with_outbox
from servicekit.settings import ServiceSettings
from servicekit.store import Store
from servicekit.topology import Topology
from support.messages import ThingHappened


async def main() -> None:
    settings = ServiceSettings()
    store = Store(url=settings.mongo_url, database=settings.database_name("alpha"))
    bus = Bus(url=settings.amqp_url, topology=Topology(settings.bus_namespace), service="alpha")
    event = bus.outgoing(ThingHappened(key="committed-before-crash"))
    await store.db["things"].insert_one(with_outbox({"_id": "thing-1"}, event))
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main())
