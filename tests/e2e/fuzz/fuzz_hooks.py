"""Schemathesis hooks of the API fuzzing (loaded by the CLI through `SCHEMATHESIS_HOOKS`).

Generated webhook URLs name any host, public ones too, and the platform sends test and
event deliveries there: every URL with a host is pointed at a closed loopback port
(`FUZZ_WEBHOOK_URL`), so the fuzzing sends nothing off this machine. URLs without a host
(the invalid ones) stay as generated, to be refused.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import schemathesis

NOWHERE = os.environ.get("FUZZ_WEBHOOK_URL", "http://127.0.0.1:9/fuzz-webhooks")


def _has_host(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(urlsplit(value).hostname)
    except ValueError:
        return False


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]
) -> None:
    """Point a body's webhook URL with a host at the closed loopback port (every phase's
    requests pass here, the schema's examples too)."""
    if isinstance(case.body, dict) and _has_host(case.body.get("url")):
        case.body["url"] = NOWHERE
