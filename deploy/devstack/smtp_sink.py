"""A local SMTP sink for development and tests: accepts every message, delivers none.

`python -m devstack smtp` listens for SMTP (aiosmtpd) and serves what it received over HTTP:

    GET    /messages   [{"from", "to": [...], "subject", "body", "received_at"}, ...] oldest first
    DELETE /messages   forget them all
    GET    /readyz     200 once both listeners are up (also /healthz)

Messages live in memory only and the listeners bind to 127.0.0.1 by default: it is for a
development machine, never for real mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from .output import say

DEFAULT_SMTP_PORT = 8025
DEFAULT_HTTP_PORT = 8026
MAX_MESSAGES = 10_000


@dataclass
class Mailbox:
    """What the sink received, oldest first (the oldest are dropped past MAX_MESSAGES)."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        """aiosmtpd's hook: keep the message."""
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        body = parsed.get_body(("plain",)) if isinstance(parsed, EmailMessage) else None
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(parsed.get("Subject", "")),
                "body": body.get_content().replace("\r\n", "\n") if body is not None else "",
                "received_at": datetime.now(UTC).isoformat(),
            }
        )
        del self.messages[:-MAX_MESSAGES]
        return "250 Message accepted for delivery"


MAILBOX: web.AppKey[Mailbox] = web.AppKey("mailbox", Mailbox)


async def list_messages(request: web.Request) -> web.Response:
    """Every message received, oldest first."""
    return web.json_response(request.app[MAILBOX].messages)


async def clear_messages(request: web.Request) -> web.Response:
    """Forget every message."""
    request.app[MAILBOX].messages.clear()
    return web.Response(status=204)


async def ready(_request: web.Request) -> web.Response:
    """Both listeners are up once the HTTP one answers."""
    return web.json_response({"status": "ready"})


def http_app(mailbox: Mailbox) -> web.Application:
    """The sink's HTTP side."""
    app = web.Application()
    app[MAILBOX] = mailbox
    app.router.add_get("/messages", list_messages)
    app.router.add_delete("/messages", clear_messages)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/healthz", ready)
    return app


async def serve(host: str, smtp_port: int, http_port: int) -> None:
    """Run both listeners until SIGINT or SIGTERM."""
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(mailbox, hostname="smtp-sink"), host, smtp_port)
    runner = web.AppRunner(http_app(mailbox))
    await runner.setup()
    await web.TCPSite(runner, host, http_port).start()
    say(f"smtp sink: SMTP on {host}:{smtp_port}, messages at http://{host}:{http_port}/messages")
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        smtp.close()
        with contextlib.suppress(Exception):
            await smtp.wait_closed()
        await runner.cleanup()
    say("smtp sink stopped")


def run_sink(host: str, smtp_port: int, http_port: int) -> int:
    """Run the sink in the foreground; the process exit code."""
    asyncio.run(serve(host, smtp_port, http_port))
    return 0
