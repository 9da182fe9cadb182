"""Integration tests of the AMQP consumer's policy against a real RabbitMQ."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import msgspec
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from structlog.testing import capture_logs

from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryAdmin,
    AsyncpgDirectoryReader,
)
from provisioning_service.adapters.outbound.asyncpg_provisioning_store import (
    AsyncpgProvisioningStore,
)
from provisioning_service.domain.errors import StoreUnavailable
from provisioning_service.domain.launch import Launch, Provisioned, Rejection
from provisioning_service.entrypoint import Service, build
from provisioning_service.settings import Settings
from tilt_shared.bus import LAUNCH_REDEEMED_KEY, BusNames
from tilt_shared.messages import (
    LaunchRedeemed,
    ProvisioningRejected,
    ProvisioningResult,
    decode_reply,
    encode,
)
from tilt_shared.settings import Secret

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def channel(amqp_url: str, unique_prefix: str) -> AsyncIterator[AbstractChannel]:
    """A client channel; deletes the test's queues and exchanges afterwards."""
    connection: AbstractRobustConnection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel()
    yield channel
    names = BusNames.with_prefix(unique_prefix)
    cleanup = await connection.channel()
    for queue in (names.provisioning_queue, names.dead_letter_queue):
        await cleanup.queue_delete(queue)
    for exchange in (names.exchange, names.dead_letter_exchange):
        await cleanup.exchange_delete(exchange)
    await connection.close()


@pytest.fixture
def settings(amqp_url: str, database_url: str, unique_prefix: str) -> Settings:
    return Settings(
        amqp_url=Secret(amqp_url),
        database_url=Secret(database_url),
        bus_prefix=unique_prefix,
        max_retries=2,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def seeded(database_url: str) -> dict[str, str]:
    partner_id, location_id = f"p-{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    connection = await asyncpg.connect(database_url)
    admin = AsyncpgDirectoryAdmin(connection)
    await admin.create_partner(partner_id, "Partner")
    await admin.create_location(location_id, "Shop")
    await admin.grant(partner_id, location_id)
    await connection.close()
    return {"partner_id": partner_id, "location_id": location_id}


def redeemed(seeded: dict[str, str], jti: str | None = None) -> LaunchRedeemed:
    return LaunchRedeemed(
        jti=jti or uuid.uuid4().hex,
        partner_id=seeded["partner_id"],
        external_user_id="EMP-1",
        display_name="Ada",
        location_id=seeded["location_id"],
        role_slug="location_cashier",
        redeemed_at=datetime.now(UTC),
    )


async def started(settings: Settings, **fakes: Any) -> Service:
    service = await build(settings, **fakes)
    await service.start()
    return service


async def request(
    channel: AbstractChannel, names: BusNames, body: bytes, correlation_id: str
) -> tuple[aio_pika.abc.AbstractQueue, str]:
    """Publish like the token service, with a private reply queue."""
    replies = await channel.declare_queue(exclusive=True)
    exchange = await channel.get_exchange(names.exchange)
    await exchange.publish(
        aio_pika.Message(
            body,
            message_id=uuid.uuid4().hex,
            correlation_id=correlation_id,
            reply_to=replies.name,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=LAUNCH_REDEEMED_KEY,
    )
    return replies, correlation_id


async def next_message(queue: aio_pika.abc.AbstractQueue, timeout_s: float = 5) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing arrived on {queue.name} within {timeout_s}s")


async def test_a_launch_gets_its_result_on_reply_to(
    channel: AbstractChannel, settings: Settings, seeded: dict[str, str]
) -> None:
    service = await started(settings)
    launch = redeemed(seeded)

    replies, _ = await request(channel, service.names, encode(launch), launch.jti)
    message = await next_message(replies)
    await service.stop()

    reply = decode_reply(message.body)
    assert isinstance(reply, ProvisioningResult)
    assert message.correlation_id == launch.jti
    assert reply.user_created is True


@pytest.mark.parametrize(
    "body", [b"\x00garbage", b'{"type": "launch.redeemed", "schema_version": 99}']
)
async def test_undecodable_messages_are_dead_lettered_at_once(
    channel: AbstractChannel, settings: Settings, body: bytes
) -> None:
    service = await started(settings)
    names = service.names

    with capture_logs() as logs:
        await request(channel, names, body, "c-1")
        dead = await next_message(await channel.get_queue(names.dead_letter_queue))
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
    channel: AbstractChannel,
    settings: Settings,
    seeded: dict[str, str],
    in_memory_directory: Any,
) -> None:
    store = FlakyStore(failures=2, outcome=provisioned)
    service = await started(settings, store=store, directory=in_memory_directory)
    launch = redeemed(seeded)

    replies, _ = await request(channel, service.names, encode(launch), launch.jti)
    message = await next_message(replies)
    await service.stop()

    assert isinstance(decode_reply(message.body), ProvisioningResult)
    assert store.calls == 3


async def test_a_poison_message_is_dead_lettered_after_bounded_retries(
    channel: AbstractChannel,
    settings: Settings,
    seeded: dict[str, str],
    in_memory_directory: Any,
) -> None:
    store = FlakyStore(failures=1000, outcome=provisioned)
    service = await started(settings, store=store, directory=in_memory_directory)
    launch = redeemed(seeded)

    with capture_logs() as logs:
        await request(channel, service.names, encode(launch), launch.jti)
        dead_queue = await channel.get_queue(service.names.dead_letter_queue)
        dead = await next_message(dead_queue)
    await service.stop()

    assert dead.body == encode(launch)
    assert store.calls == settings.max_retries + 1
    assert [
        log["reason"] for log in logs if log["event"] == "message_dead_lettered"
    ] == ["retries_exhausted"]


async def test_a_cut_before_ack_is_redelivered_and_answered_once(
    channel: AbstractChannel,
    settings: Settings,
    seeded: dict[str, str],
    database_url: str,
) -> None:
    """C-11: commit, then the consumer's connection dies before it acks."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    real = AsyncpgProvisioningStore(pool)
    committed, released = asyncio.Event(), asyncio.Event()

    class CommitThenHang:
        async def provision(self, launch: Launch) -> Provisioned | Rejection:
            outcome = await real.provision(launch)
            committed.set()
            await released.wait()
            return outcome

    doomed = await started(
        settings, store=CommitThenHang(), directory=AsyncpgDirectoryReader(pool)
    )
    launch = redeemed(seeded)
    replies, _ = await request(channel, doomed.names, encode(launch), launch.jti)
    await asyncio.wait_for(committed.wait(), timeout=5)
    # Like a network cut: the connection dies after commit, before any ack.
    await doomed._connection.close()  # type: ignore[union-attr]
    survivor = await started(
        settings, store=real, directory=AsyncpgDirectoryReader(pool)
    )

    message = await next_message(replies)
    released.set()
    await asyncio.sleep(0.3)
    extra = await replies.get(no_ack=True, fail=False)
    await survivor.stop()
    users = await pool.fetchval(
        "SELECT count(*) FROM pos_user_tbl WHERE partner_id = $1", seeded["partner_id"]
    )
    await pool.close()

    assert isinstance(decode_reply(message.body), ProvisioningResult)
    assert extra is None
    assert users == 1


async def test_an_invalid_launch_is_answered_and_dead_lettered(
    channel: AbstractChannel, settings: Settings, seeded: dict[str, str]
) -> None:
    service = await started(settings)
    launch = msgspec.structs.replace(redeemed(seeded), external_user_id="")

    replies, _ = await request(channel, service.names, encode(launch), launch.jti)
    reply = decode_reply((await next_message(replies)).body)
    dead = await next_message(await channel.get_queue(service.names.dead_letter_queue))
    await service.stop()

    assert isinstance(reply, ProvisioningRejected)
    assert reply.code == "launch_invalid"
    assert dead.body == encode(launch)


async def test_stop_lets_an_in_flight_message_finish(
    channel: AbstractChannel,
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

    service = await started(settings, store=SlowStore(), directory=in_memory_directory)
    launch = redeemed(seeded)
    replies, _ = await request(channel, service.names, encode(launch), launch.jti)
    await asyncio.wait_for(entered.wait(), timeout=5)

    await service.stop()
    reply = await replies.get(no_ack=True, fail=False)

    assert reply is not None
    assert isinstance(decode_reply(reply.body), ProvisioningResult)
