"""A consumer that dies (SIGKILL) right after committing its first effect, before the ack."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import structlog

from servicekit.inbox import update_once
from servicekit.logging import configure_logging
from servicekit.messages import MessageContext
from servicekit.service import Service, run
from servicekit.settings import ServiceSettings
from support.messages import CountThing
from support.processes import free_port


def main() -> None:
    settings = ServiceSettings(http_port=int(os.environ.get("HTTP_PORT") or free_port()))
    configure_logging("alpha", "info", "json")
    service = Service.create("alpha", settings)
    marker = Path(os.environ["CRASH_MARKER"])
    log = structlog.get_logger("crashy")
    first_run = not marker.exists()

    def die_after_commit(message_id: str) -> None:
        marker.write_text(message_id)
        os.kill(os.getpid(), signal.SIGKILL)

    async def count(command: CountThing, context: MessageContext) -> None:
        await update_once(
            service.db["counters"],
            {"_id": command.key},
            {"$inc": {"value": 1}},
            context.message_id,
            upsert=True,
        )
        if first_run:
            die_after_commit(context.message_id)
        log.info("redelivered_handled", message_id=context.message_id)

    service.router.on(CountThing, count)
    run(service.http_app(), settings)


if __name__ == "__main__":
    main()
