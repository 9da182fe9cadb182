"""Integration tests of the token service's AMQP client against real provisioning.

Both ends run on a real RabbitMQ under a unique prefix; provisioning uses the
session's migrated PostgreSQL database.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import asyncpg
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryAdmin,
)
from provisioning_service.entrypoint import Service, build
from provisioning_service.settings import Settings
from tilt_shared.bus import LAUNCH_REDEEMED_KEY, BusNames
from tilt_shared.messages import (
    ProvisioningResult,
    decode_launch_redeemed,
    decode_reply,
    encode,
)
from tilt_shared.settings import Secret
from token_service.adapters.outbound.aio_pika_provisioning_client import (
    AioPikaProvisioningClient,
)
from token_service.application.ports import DependencyUnavailable
from token_service.domain.provisioning import (
    ProvisionedUser,
    ProvisioningRejection,
    RedeemedLaunch,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def names(unique_prefix: str) -> BusNames:
    return BusNames.with_prefix(unique_prefix)


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    amqp_url: str, names: BusNames
) -> AsyncIterator[AioPikaProvisioningClient]:
    client = AioPikaProvisioningClient(amqp_url, names)
    await client.start()
    yield client
    await client.close()
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    for queue in (names.provisioning_queue, names.dead_letter_queue):
        await channel.queue_delete(queue)
    for exchange in (names.exchange, names.dead_letter_exchange):
        await channel.exchange_delete(exchange)
    await connection.close()


@pytest.fixture
def provisioning_settings(
    amqp_url: str, database_url: str, unique_prefix: str
) -> Settings:
    """Provisioning on this test's bus names and the session's database."""
    return Settings(
        amqp_url=Secret(amqp_url),
        database_url=Secret(database_url),
        bus_prefix=unique_prefix,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def provisioning(provisioning_settings: Settings) -> AsyncIterator[Service]:
    service = await build(provisioning_settings)
    await service.start()
    yield service
    await service.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def granted(database_url: str) -> tuple[str, str]:
    partner_id, location_id = f"p-{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    connection = await asyncpg.connect(database_url)
    admin = AsyncpgDirectoryAdmin(connection)
    await admin.create_partner(partner_id, "Partner")
    await admin.create_location(location_id, "Shop")
    await admin.grant(partner_id, location_id)
    await connection.close()
    return partner_id, location_id


def launch(partner_id: str, location_id: str, **changes: str) -> RedeemedLaunch:
    fields = {
        "jti": uuid.uuid4().hex,
        "partner_id": partner_id,
        "external_user_id": "EMP-1",
        "display_name": "Ada",
        "location_id": location_id,
        "role_slug": "location_supervisor",
        **changes,
    }
    return RedeemedLaunch(**fields, redeemed_at=datetime.now(UTC))  # type: ignore[arg-type]


async def test_provision_round_trip_returns_a_provisioned_user(
    client: AioPikaProvisioningClient,
    provisioning: Service,
    granted: tuple[str, str],
) -> None:
    partner_id, location_id = granted

    user = await client.provision(launch(partner_id, location_id), timeout_s=5)

    assert isinstance(user, ProvisionedUser)
    assert (user.partner_id, user.external_user_id) == (partner_id, "EMP-1")
    assert (user.location_id, user.role_slug) == (location_id, "location_supervisor")
    assert "pos.settings.read" in user.permissions
    assert user.user_created


async def test_a_location_not_granted_comes_back_as_a_rejection(
    client: AioPikaProvisioningClient,
    provisioning: Service,
    granted: tuple[str, str],
) -> None:
    partner_id, _ = granted

    outcome = await client.provision(launch(partner_id, str(uuid.uuid4())), timeout_s=5)

    assert outcome == ProvisioningRejection(code="location_not_permitted")


async def test_the_client_recovers_when_the_broker_closes_its_channel(
    client: AioPikaProvisioningClient,
    provisioning: Service,
    granted: tuple[str, str],
    amqp_url: str,
    names: BusNames,
) -> None:
    """An operator deletes the exchange: the publish closes the client's channel.

    aio-pika reopens that channel on the same connection, so no reconnect
    callback runs; the reply consumer must come back with the channel, or
    every later launch fails until a restart.
    """
    partner_id, location_id = granted
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.exchange_delete(names.exchange)

    with pytest.raises(DependencyUnavailable):
        await client.provision(launch(partner_id, location_id), timeout_s=2)
    exchange = await channel.declare_exchange(
        names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.get_queue(names.provisioning_queue)
    await queue.bind(exchange, routing_key=LAUNCH_REDEEMED_KEY)
    await connection.close()

    user = await client.provision(launch(partner_id, location_id), timeout_s=5)

    assert isinstance(user, ProvisionedUser)


async def test_concurrent_calls_each_get_their_own_reply(
    client: AioPikaProvisioningClient,
    provisioning: Service,
    granted: tuple[str, str],
) -> None:
    partner_id, location_id = granted
    launches = [
        launch(partner_id, location_id, external_user_id=f"E{i}") for i in range(10)
    ]

    users = await asyncio.gather(*(client.provision(x, timeout_s=5) for x in launches))

    assert [u.external_user_id for u in users] == [f"E{i}" for i in range(10)]  # type: ignore[union-attr]
    assert len({u.pos_user_id for u in users}) == 10  # type: ignore[union-attr]


async def test_provision_without_a_consumer_fails_within_the_timeout(
    client: AioPikaProvisioningClient,
) -> None:
    started = time.monotonic()

    with pytest.raises(DependencyUnavailable) as raised:
        await client.provision(launch("p", str(uuid.uuid4())), timeout_s=1)

    assert raised.value.dependency == "provisioning"
    assert time.monotonic() - started < 1.5


async def test_is_connected_follows_the_connection(
    amqp_url: str, names: BusNames
) -> None:
    client = AioPikaProvisioningClient(amqp_url, names)
    assert not client.is_connected

    await client.start()
    connected = client.is_connected
    await client.close()

    assert connected
    assert not client.is_connected


async def test_provision_with_a_stopped_consumer_times_out(
    client: AioPikaProvisioningClient, provisioning_settings: Settings
) -> None:
    """The queue exists but nobody consumes: the wait ends at the timeout."""
    settings = provisioning_settings
    service = await build(settings)
    await service.start()
    await service.stop()
    started = time.monotonic()

    with pytest.raises(DependencyUnavailable) as raised:
        await client.provision(launch("p", str(uuid.uuid4())), timeout_s=0.5)

    assert raised.value.dependency == "provisioning"
    assert 0.4 < time.monotonic() - started < 1.5


async def test_a_launch_taken_up_after_the_client_gave_up_is_never_written(
    client: AioPikaProvisioningClient,
    granted: tuple[str, str],
    provisioning_settings: Settings,
    amqp_url: str,
    database_url: str,
    names: BusNames,
) -> None:
    """Provisioning is stopped while a launch waits, then comes back: the user
    was told the link was not used, so no user, membership or audit row may
    appear (a revoke in between must not be undone), nor a dead letter."""
    settings = provisioning_settings
    stopped = await build(settings)
    await stopped.start()
    await stopped.stop()
    partner_id, location_id = granted
    given_up = launch(partner_id, location_id, external_user_id="LATE-1")

    with pytest.raises(DependencyUnavailable):
        await client.provision(given_up, timeout_s=0.5)
    service = await build(settings)
    await service.start()
    on_time = await client.provision(
        launch(partner_id, location_id, external_user_id="ON-TIME-1"), timeout_s=5
    )
    await service.stop()

    assert isinstance(on_time, ProvisionedUser)
    connection = await asyncpg.connect(database_url)
    written = await connection.fetchval(
        "SELECT count(*) FROM pos_user_tbl WHERE partner_id = $1"
        " AND external_user_id = 'LATE-1'",
        partner_id,
    )
    audited = await connection.fetchval(
        "SELECT count(*) FROM launch_redemption_tbl WHERE jti = $1", given_up.jti
    )
    await connection.close()
    assert (written, audited) == (0, 0)
    assert await _depth(amqp_url, names.provisioning_queue) == 0
    assert await _depth(amqp_url, names.dead_letter_queue) == 0


async def _depth(amqp_url: str, queue_name: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(queue_name, passive=True)
    await connection.close()
    return queue.declaration_result.message_count or 0


async def test_wire_contract_between_client_and_provisioning(
    client: AioPikaProvisioningClient, amqp_url: str, names: BusNames
) -> None:
    """What the client publishes decodes in provisioning; the reply decodes back."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(names.exchange)
    spy = await channel.declare_queue(exclusive=True)
    await spy.bind(exchange, routing_key="launch.redeemed")
    sent = launch("p1", str(uuid.uuid4()), role_slug="location_cashier")
    published_at = datetime.now(UTC)

    call = asyncio.create_task(client.provision(sent, timeout_s=5))
    async with spy.iterator() as messages:
        async for message in messages:
            await message.ack()
            break
    wire = decode_launch_redeemed(message.body)
    reply = ProvisioningResult(
        jti=wire.jti,
        pos_user_id=str(uuid.uuid4()),
        display_name=wire.display_name or wire.external_user_id,
        location_id=wire.location_id,
        role_slug=wire.role_slug,
        permissions=["pos.order.read"],
        user_created=True,
        membership_created=True,
    )
    await channel.default_exchange.publish(
        aio_pika.Message(encode(reply), correlation_id=message.correlation_id),
        routing_key=message.reply_to or "",
    )
    user = await call
    await connection.close()

    assert (wire.jti, wire.partner_id, wire.location_id) == (
        sent.jti,
        sent.partner_id,
        sent.location_id,
    )
    assert wire.redeemed_at == sent.redeemed_at
    assert wire.provision_by is not None
    write_window = (wire.provision_by - published_at).total_seconds()
    assert 4.0 <= write_window < 4.5  # 80 % of the wait: time is left to answer
    assert message.correlation_id == sent.jti
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"
    assert isinstance(decode_reply(encode(reply)), ProvisioningResult)
    assert isinstance(user, ProvisionedUser)
    assert user.pos_user_id == reply.pos_user_id


async def test_a_late_reply_is_dropped_and_answers_no_other_launch(
    client: AioPikaProvisioningClient, amqp_url: str, names: BusNames
) -> None:
    """The wait for one launch times out; its reply then arrives, as does one
    nobody asked for, while another launch waits: only that launch's own reply
    answers it, and the client goes on working."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(names.exchange)
    spy = await channel.declare_queue(exclusive=True)
    await spy.bind(exchange, routing_key=LAUNCH_REDEEMED_KEY)
    late, waiting = launch("p1", str(uuid.uuid4())), launch("p1", str(uuid.uuid4()))

    with pytest.raises(DependencyUnavailable):
        await client.provision(late, timeout_s=0.3)
    late_request = await _next(spy)
    call = asyncio.create_task(client.provision(waiting, timeout_s=5))
    waiting_request = await _next(spy)
    with capture_logs() as logs:
        for request, correlation_id in (
            (late_request, late.jti),
            (waiting_request, uuid.uuid4().hex),
            (waiting_request, waiting.jti),
        ):
            await channel.default_exchange.publish(
                aio_pika.Message(
                    encode(_result_for(correlation_id)), correlation_id=correlation_id
                ),
                routing_key=request.reply_to or "",
            )
        answered = await call
    await connection.close()

    assert isinstance(answered, ProvisionedUser)
    assert answered.pos_user_id == _result_for(waiting.jti).pos_user_id
    assert client.is_connected
    # A user provisioned after the wait ended is the operator's to know of.
    late_ones = [e for e in logs if e["event"] == "provisioning_reply_late"]
    assert late.jti in [e["correlation_id"] for e in late_ones]
    assert all(e["log_level"] == "warning" for e in late_ones)


async def _next(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractMessage:
    for _ in range(250):
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing arrived on {queue.name}")


def _result_for(jti: str) -> ProvisioningResult:
    return ProvisioningResult(
        jti=jti,
        pos_user_id=str(uuid.uuid5(uuid.NAMESPACE_OID, jti)),
        display_name="Ada",
        location_id=str(uuid.uuid4()),
        role_slug="location_cashier",
        permissions=["pos.order.read"],
        user_created=True,
        membership_created=True,
    )
