"""Secrets never reach a log record, whatever shape they arrive in."""

from __future__ import annotations

import io
import json
import logging

import structlog

from servicekit.logging import REDACTED, configure_logging

API_KEY = "esk_live_AbCdEfGhIjKlMnOp0123456789abcdefghijklmnopQRSTUV"
LPA = "LPA:1$smdp.example.com$04386-AGYFT-A74Y8-3F815"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LXZhbHVl"
PASSWORD = "correct horse battery staple"
ACTIVATION_CODE = "04386-AGYFT-A74Y8-3F815"
BEARER = "Bearer abc.def.ghi-very-secret-token"
SECRETS = [API_KEY, LPA, WEBHOOK_SECRET, PASSWORD, ACTIVATION_CODE, "very-secret-token"]


def _records(output: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]


def test_secrets_are_redacted_by_key_by_shape_nested_and_in_exceptions() -> None:
    """API keys, passwords, Authorization headers, activation codes, LPA strings and webhook
    secrets are redacted: as named fields, inside text, nested, and in exception messages."""
    output = io.StringIO()
    configure_logging("test", "debug", "json", stream=output)
    log = structlog.get_logger("test")
    log.info("named", api_key=API_KEY, password=PASSWORD, activation_code=ACTIVATION_CODE)
    log.info(f"free text mentioning {API_KEY} and {LPA}")
    log.info("headers", headers={"Authorization": BEARER, "Accept": "application/json"})
    log.info("nested", payload={"esim": {"lpa": LPA, "note": f"code {LPA}"}, "keys": [API_KEY]})
    log.info("webhook", endpoint={"url": "https://partner.example/hook", "secret": WEBHOOK_SECRET})
    try:
        raise ValueError(f"bad key {API_KEY}")
    except ValueError:
        log.exception("failed")
    text = output.getvalue()
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} reached the log"
    records = _records(output)
    assert records[0]["api_key"] == REDACTED
    assert records[2]["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert records[4]["endpoint"] == {"url": "https://partner.example/hook", "secret": REDACTED}
    assert "https://partner.example/hook" in text


def test_standard_library_log_records_are_redacted_too() -> None:
    """Libraries logging through `logging` (aiohttp, aio-pika) pass the same redaction."""
    output = io.StringIO()
    configure_logging("test", "debug", "json", stream=output)
    logging.getLogger("test.stdlib").warning("connecting with %s", BEARER)
    logging.getLogger("aio_pika").warning("url amqp://user:hunter2@broker:5672/")
    text = output.getvalue()
    assert "very-secret-token" not in text
    assert "hunter2" not in text
    assert "connecting with" in text


def test_console_output_is_redacted() -> None:
    """The console renderer (used on a TTY) redacts as the JSON one does."""
    output = io.StringIO()
    configure_logging("test", "info", "console", stream=output)
    structlog.get_logger("test").info("key", api_key=API_KEY, note=f"lpa {LPA}")
    text = output.getvalue()
    assert API_KEY not in text
    assert LPA not in text
    assert REDACTED in text
