"""Integration tests of the AMQP consumer's policy against a real RabbitMQ."""

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from ps_bus import BusProbe
from structlog.testing import capture_logs

from provisioning_service.adapters.inbound import (
    aio_pika_launch_consumer as launch_consumer,
)
from provisioning_service.domain.errors import StoreUnavailable
from provisioning_service.domain.launch import Launch, Provisioned, Rejection
from provisioning_service.settings import Settings
from tilt_shared.messages import (
    ProvisioningRejected,
    ProvisioningResult,
    decode_reply,
    encode,
)

pytestmark = pytest.mark.integration


async def test_a_launch_gets_its_result_on_reply_to(
    probe: BusProbe, settings: Settings, seeded: dict[str, str]
) -> None:
    service = await probe.started(settings)
    launch = probe.redeemed()

    replies, _ = await probe.request(service.names, encode(launch), launch.jti)
    message = await probe.next_message(replies)
    await service.stop()

    reply = decode_reply(message.body)
    assert isinstance(reply, ProvisioningResult)
    assert message.correlation_id == launch.jti
    assert reply.user_created is True


@pytest.mark.parametrize(
    "body", [b"\x00garbage", b'{"type": "launch.redeemed", "schema_version": 99}']
)
async def test_undecodable_messages_are_dead_lettered_at_once(
    probe: BusProbe, settings: Settings, body: bytes
) -> None:
    service = await probe.started(settings)
    names = service.names

    with capture_logs() as logs:
        await probe.request(names, body, "c-1")
        dead = await probe.next_message(
            await probe.channel.get_queue(names.dead_letter_queue)
        )
    await service.stop()

    assert dead.body == body
    assert any(
        log["event"] == "message_dead_lettered" and log["reason"] == "undecodable"
        for log in logs
    )


class FlakyStore:
    """Fails the first `failures` calls as if the database were down."""

    def __init__(self, failures: int, outcome: Callable[[Launch], Any]) -> None:
        self.failures = failures
        self.calls = 0
        self._outcome = outcome

    async def provision(self, launch: Launch) -> Provisioned | Rejection:
        self.calls += 1
        if self.calls <= self.failures:
            raise StoreUnavailable("database down")
        return self._outcome(launch)


def provisioned(launch: Launch) -> Provisioned:
    return Provisioned(
        launch.jti,
        "u-1",
        "Ada",
        launch.location_id,  # type: ignore[arg-type]
        "location_cashier",
        (),
        True,
        True,
    )


async def test_transient_failures_are_retried_then_answered(
    probe: BusProbe,
    settings: Settings,
    seeded: dict[str, str],
    in_memory_directory: Any,
) -> None:
    store = FlakyStore(failures=2, outcome=provisioned)
    service = await probe.started(settings, store=store, directory=in_memory_directory)
    launch = probe.redeemed()

    replies, _ = await probe.request(service.names, encode(launch), launch.jti)
    message = await probe.next_message(replies)
    await service.stop()

    assert isinstance(decode_reply(message.body), ProvisioningResult)
    assert store.calls == 3


async def test_a_poison_message_is_dead_lettered_after_bounded_retries(
    probe: BusProbe,
    settings: Settings,
    seeded: dict[str, str],
    in_memory_directory: Any,
) -> None:
    store = FlakyStore(failures=1000, outcome=provisioned)
    service = await probe.started(settings, store=store, directory=in_memory_directory)
    launch = probe.redeemed()

    with capture_logs() as logs:
        await probe.request(service.names, encode(launch), launch.jti)
        dead_queue = await probe.channel.get_queue(service.names.dead_letter_queue)
        dead = await probe.next_message(dead_queue)
    await service.stop()

    assert dead.body == encode(launch)
    assert store.calls == settings.max_retries + 1
    assert [
        log["reason"] for log in logs if log["event"] == "message_dead_lettered"
    ] == ["retries_exhausted"]


async def test_a_reply_that_cannot_be_sent_is_retried_not_stranded(
    probe: BusProbe,
    settings: Settings,
    seeded: dict[str, str],
    in_memory_directory: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reply channel is not back in time: the message goes round again.

    Before, the failed publish escaped the callback and left the message
    unacked on a live channel, answered by nobody until a restart.
    """
    store = FlakyStore(failures=0, outcome=provisioned)
    restore_waits = 0

    async def reply_channel_late_once(channel: Any) -> None:
        nonlocal restore_waits
        restore_waits += 1
        if restore_waits == 1:
            raise TimeoutError
        await channel.ready()

    monkeypatch.setattr(launch_consumer, "restored", reply_channel_late_once)
    service = await probe.started(settings, store=store, directory=in_memory_directory)
    launch = probe.redeemed()

    with capture_logs() as logs:
        replies, _ = await probe.request(service.names, encode(launch), launch.jti)
        message = await probe.next_message(replies)
    await service.stop()

    assert isinstance(decode_reply(message.body), ProvisioningResult)
    assert store.calls == 2
    assert [
        log["retry_count"] for log in logs if log["event"] == "message_requeued"
    ] == [1]
    assert await probe.waiting() == 0
    assert await probe.dead_letters() == []


async def test_an_invalid_launch_is_answered_and_dead_lettered(
    probe: BusProbe, settings: Settings, seeded: dict[str, str]
) -> None:
    service = await probe.started(settings)
    launch = msgspec.structs.replace(probe.redeemed(), external_user_id="")

    replies, _ = await probe.request(service.names, encode(launch), launch.jti)
    reply = decode_reply((await probe.next_message(replies)).body)
    dead = await probe.next_message(
        await probe.channel.get_queue(service.names.dead_letter_queue)
    )
    await service.stop()

    assert isinstance(reply, ProvisioningRejected)
    assert reply.code == "launch_invalid"
    assert dead.body == encode(launch)


async def test_stop_lets_an_in_flight_message_finish(
    probe: BusProbe,
    settings: Settings,
    seeded: dict[str, str],
    in_memory_directory: Any,
) -> None:
    entered = asyncio.Event()

    class SlowStore:
        async def provision(self, launch: Launch) -> Provisioned | Rejection:
            entered.set()
            await asyncio.sleep(0.3)
            return provisioned(launch)

    service = await probe.started(
        settings, store=SlowStore(), directory=in_memory_directory
    )
    launch = probe.redeemed()
    replies, _ = await probe.request(service.names, encode(launch), launch.jti)
    await asyncio.wait_for(entered.wait(), timeout=5)

    await service.stop()
    reply = await replies.get(no_ack=True, fail=False)

    assert reply is not None
    assert isinstance(decode_reply(reply.body), ProvisioningResult)
