"""ensure_rabbitmq uses a broker that answers and explains clearly when it cannot get one; the
broker it starts can recover many queues; killed runs' namespaces are swept away."""

import asyncio
import os
import resource
import secrets
from pathlib import Path

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
import pytest
from devstack.errors import DevstackError
from devstack.output import quiet
from devstack.rabbitmq import (
    BROKER_OPEN_FILES,
    _start_command,
    ensure_rabbitmq,
    redact,
    remove_abandoned_namespaces,
)
from yarl import URL


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


async def _ack(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    await message.ack()


async def _declare(
    amqp_url: str, namespace: str, *, consumed: bool
) -> aio_pika.abc.AbstractConnection:
    """A namespace's exchange, a queue, and (when `consumed`) a consumer kept on the connection."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.declare_exchange(f"{namespace}.events", aio_pika.ExchangeType.TOPIC)
    queue = await channel.declare_queue(f"{namespace}.service.retry.200", durable=True)
    if consumed:
        await queue.consume(_ack)
    return connection


async def _exists(amqp_url: str, queue: str) -> bool:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        try:
            await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return False
        return True


async def test_left_behind_namespaces_are_removed_and_others_kept(amqp_url: str) -> None:
    """Of three namespaces, the one the caller calls left behind and nobody consumes from
    goes; one left behind but consumed from, and one not left behind, stay whole."""
    if URL(amqp_url).host not in {"127.0.0.1", "localhost"}:
        pytest.skip("the broker is not on this machine")
    gone, consumed, live = (f"sweep{secrets.token_hex(4)}" for _ in range(3))
    await (await _declare(amqp_url, gone, consumed=False)).close()
    await (await _declare(amqp_url, live, consumed=False)).close()
    consumed_connection = await _declare(amqp_url, consumed, consumed=True)
    try:
        removed = await asyncio.to_thread(
            remove_abandoned_namespaces, amqp_url, lambda name: name in {gone, consumed}
        )
        assert removed == 1
        assert not await _exists(amqp_url, f"{gone}.service.retry.200")
        assert await _exists(amqp_url, f"{consumed}.service.retry.200")
        assert await _exists(amqp_url, f"{live}.service.retry.200")
    finally:
        channel = await consumed_connection.channel()
        for namespace in (consumed, live):
            await channel.queue_delete(f"{namespace}.service.retry.200")
            await channel.exchange_delete(f"{namespace}.events")
        await consumed_connection.close()


def test_a_remote_broker_is_not_swept() -> None:
    """Sweeping lists queues through the local rabbitmqctl, so another host is refused."""
    with pytest.raises(DevstackError, match="not on this machine"):
        remove_abandoned_namespaces("amqp://guest:x@192.0.2.1/", lambda _name: True)


def test_a_started_broker_may_open_enough_files_for_its_queues() -> None:
    """Starting raises the open-files limit the broker inherits; as root on Debian the real
    script runs as the rabbitmq user directly, since `su` would reset the limit to 1024."""
    wrapper = Path("/usr/sbin/rabbitmq-server")
    if not wrapper.is_symlink():
        pytest.skip("no Debian rabbitmq-server wrapper here")
    argv, user = _start_command(str(wrapper))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == min(BROKER_OPEN_FILES, hard)
    if os.geteuid() == 0:
        assert (argv, user) == (
            [str(wrapper.resolve().parent / "rabbitmq-server"), "-detached"],
            "rabbitmq",
        )
    else:
        assert (argv, user) == ([str(wrapper), "-detached"], None)
