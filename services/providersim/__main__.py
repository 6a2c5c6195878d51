"""python -m providersim: run the network-provider simulator until stopped."""

from __future__ import annotations

import logging
import sys

import structlog
from aiohttp import web

from providersim.app import create_app
from providersim.settings import SimulatorSettings


def main() -> None:
    """Read settings from the environment and serve."""
    settings = SimulatorSettings()
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
    )
    structlog.get_logger("providersim").info(
        "providersim_starting", host=settings.host, port=settings.port
    )
    # A hung request ends when its client gives up, and never holds up a shutdown.
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=2.0,
    )


if __name__ == "__main__":
    main()
