"""ensure_rabbitmq uses a broker that answers and explains clearly when it cannot get one."""

import pytest
from devstack.errors import DevstackError
from devstack.output import quiet
from devstack.rabbitmq import ensure_rabbitmq, redact


def test_a_running_broker_is_used_as_it_is(amqp_url: str) -> None:
    """A broker that answers is reported as already running, with the password hidden."""
    description = ensure_rabbitmq(amqp_url, say=quiet)
    assert "already running" in description
    assert redact(amqp_url) in description


def test_wrong_credentials_are_reported_without_starting_anything(amqp_url: str) -> None:
    """A broker refusing the login is named as a credentials problem, not a missing broker."""
    bad = amqp_url.replace("guest:guest@", "nobody:wrong@", 1)
    if bad == amqp_url:
        pytest.skip("AMQP_URL does not use guest:guest")
    with pytest.raises(DevstackError, match="refused the credentials") as caught:
        ensure_rabbitmq(bad, say=quiet)
    assert "wrong" not in str(caught.value)


def test_an_unreachable_remote_broker_is_named_and_not_started() -> None:
    """A broker on another host that does not answer is reported with its URL, promptly."""
    url = "amqp://guest:secret@192.0.2.1:5672/"  # TEST-NET-1: never a real host
    with pytest.raises(
        DevstackError, match=r"no RabbitMQ answers at amqp://guest:\*\*\*@192\.0\.2\.1"
    ):
        ensure_rabbitmq(url, probe_timeout=1.0, say=quiet)


def test_redact_hides_only_the_password() -> None:
    """redact() keeps user, host and vhost but hides the password."""
    assert redact("amqp://app:s3cret@broker:5672/prod") == "amqp://app:***@broker:5672/prod"
    assert redact("amqp://broker/") == "amqp://broker/"
    assert redact("amqp://app@broker/") == "amqp://app@broker/"
    assert (
        redact("mongodb://u:p%40ss@h1:27017,h2:27017/db") == "mongodb://u:***@h1:27017,h2:27017/db"
    )
