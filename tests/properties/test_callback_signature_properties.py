"""Property tests of signed callbacks (Standard Webhooks, as the provider sends them): an
authentic callback verifies; any change of its body, id or timestamp, another secret, or a
timestamp outside the tolerance is refused."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from standardwebhooks import Webhook

from contracts import Contract
from provisioning.callbacks import TOLERANCE, CallbackReceiver, CallbackRefused
from servicekit.clock import utcnow
from servicekit.messages import Outgoing

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 24).decode()
BODIES = st.text(min_size=1, max_size=200)
IDS = st.from_regex(r"[A-Za-z0-9_.:-]{1,40}", fullmatch=True)
# Shifts that stay inside the tolerance on both sides (the library checks it too).
SHIFTS = st.integers(min_value=-200, max_value=200).filter(lambda seconds: seconds != 0)


def _receiver() -> CallbackReceiver:
    # verify() reads no collection; a client that never connects stands in for the store.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:9", connect=False
    )
    db = client["callbacks"]
    return CallbackReceiver(db=db, secret=SECRET, outgoing=_never_sent)


def _never_sent(message: Contract) -> Outgoing:
    raise AssertionError(f"verifying sends nothing, yet {message!r} was sent")


def _signed(body: str, webhook_id: str, at: datetime, secret: str = SECRET) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


@given(BODIES, IDS)
def test_an_authentic_callback_verifies(body: str, webhook_id: str) -> None:
    """A body signed now with the shared secret verifies, and its id is returned."""
    assert _receiver().verify(body.encode(), _signed(body, webhook_id, utcnow())) == webhook_id


@given(BODIES, BODIES, IDS)
def test_a_changed_body_is_refused(body: str, other: str, webhook_id: str) -> None:
    """The signature of one body does not cover any other body."""
    assume(other != body)
    with pytest.raises(CallbackRefused):
        _receiver().verify(other.encode(), _signed(body, webhook_id, utcnow()))


@given(BODIES, IDS, IDS)
def test_a_changed_id_is_refused(body: str, webhook_id: str, other_id: str) -> None:
    """The signature binds the webhook id: presenting it under another id fails."""
    assume(other_id != webhook_id)
    headers = {**_signed(body, webhook_id, utcnow()), "webhook-id": other_id}
    with pytest.raises(CallbackRefused):
        _receiver().verify(body.encode(), headers)


@given(BODIES, IDS, SHIFTS)
def test_a_changed_timestamp_is_refused(body: str, webhook_id: str, shift: int) -> None:
    """The signature binds the timestamp: moving it by any whole second fails."""
    now = utcnow()
    headers = _signed(body, webhook_id, now)
    headers["webhook-timestamp"] = str(int(now.timestamp()) + shift)
    with pytest.raises(CallbackRefused):
        _receiver().verify(body.encode(), headers)


@given(BODIES, IDS)
def test_another_secret_is_refused(body: str, webhook_id: str) -> None:
    """A callback signed with any other secret does not verify."""
    with pytest.raises(CallbackRefused):
        _receiver().verify(body.encode(), _signed(body, webhook_id, utcnow(), OTHER_SECRET))


# At least 2 s beyond: signed timestamps are whole seconds, so a future one truncated down and
# checked a moment later can come out up to a second inside the tolerance.
@given(BODIES, IDS, st.integers(min_value=2, max_value=10 * 24 * 3600))
def test_old_or_future_timestamps_are_refused(body: str, webhook_id: str, beyond: int) -> None:
    """A correctly signed callback older or newer than the tolerance is refused either way."""
    offset = TOLERANCE + timedelta(seconds=beyond)
    for at in (utcnow() - offset, utcnow() + offset):
        with pytest.raises(CallbackRefused):
            _receiver().verify(body.encode(), _signed(body, webhook_id, at))
