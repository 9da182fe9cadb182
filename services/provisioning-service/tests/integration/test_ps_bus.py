"""The bus as RabbitMQ sees it: declarations, reconnects, duplicates, redelivery."""

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import aiormq
import asyncpg
import pytest
from ps_bus import BusProbe
from ps_process import running_process
from ps_rows import partner_rows, partner_rows_at
from structlog.testing import capture_logs

from provisioning_service.adapters.inbound.aio_pika_topology import (
    declare_launch_queue,
)
from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryReader,
)
from provisioning_service.adapters.outbound.asyncpg_provisioning_store import (
    AsyncpgProvisioningStore,
)
from provisioning_service.domain.errors import StoreUnavailable
from provisioning_service.domain.launch import Launch, Provisioned, Rejection
from provisioning_service.settings import Settings
from testsupport.proxy import tcp_proxy
from tilt_shared.messages import (
    ProvisioningRejected,
    ProvisioningResult,
    decode_reply,
    encode,
)
from tilt_shared.settings import Secret

pytestmark = pytest.mark.integration


async def test_declarations_are_idempotent_and_the_queue_is_quorum(
    probe: BusProbe, settings: Settings
) -> None:
    """Two replicas and a second declaration agree; a classic redeclare is refused."""
    first, second = await probe.started(settings), await probe.started(settings)
    await declare_launch_queue(probe.channel, probe.names)

    other = await probe.connection.channel()
    with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
        await other.declare_queue(
            probe.names.provisioning_queue,
            durable=True,
            arguments={"x-queue-type": "classic"},
        )
    await first.stop()
    await second.stop()


async def test_a_broker_cut_is_survived_without_a_restart(
    probe: BusProbe, settings: Settings, amqp_url: str, database_url: str
) -> None:
    """Launches queued while the consumer's link is cut are all answered after it.

    On reconnect aio-pika restores the service's channels one by one, so the
    consumer may take a message before the reply channel is back: the reply
    must wait for it rather than fail and strand the message unacked.
    """
    launches = [probe.redeemed(external_user_id=f"EMP-{n}") for n in range(12)]
    with tcp_proxy(amqp_url) as proxy:
        service = await probe.started(_with_amqp(settings, proxy.url(amqp_url)))
        try:
            proxy.cut()
            sent = [
                await probe.request(service.names, encode(launch), launch.jti)
                for launch in launches
            ]
            await asyncio.sleep(1.0)  # reconnect attempts are refused meanwhile
            proxy.restore()

            replies = [
                decode_reply((await probe.next_message(queue, timeout_s=15)).body)
                for queue, _ in sent
            ]
        finally:
            # Even a failed run closes its pool and connection: the session's
            # leak check must not find its sockets.
            await service.stop()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    rows = await partner_rows(pool, probe.seeded["partner_id"])
    await pool.close()

    assert all(isinstance(reply, ProvisioningResult) for reply in replies)
    assert rows == (12, 12, 12)
    assert proxy.accepted >= 2
    assert await probe.dead_letters() == []
    assert await probe.waiting() == 0


async def test_c11_commit_then_cut_before_ack_is_redelivered_once(
    probe: BusProbe, settings: Settings, amqp_url: str, database_url: str
) -> None:
    """C-11: the store commits, the link to RabbitMQ dies before the ack."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    real = AsyncpgProvisioningStore(pool)
    committed, released = asyncio.Event(), asyncio.Event()

    class CommitThenHang:
        async def provision(self, launch: Launch) -> Provisioned | Rejection:
            outcome = await real.provision(launch)
            committed.set()
            await released.wait()
            return outcome

    launch = probe.redeemed()
    with tcp_proxy(amqp_url) as proxy:
        doomed = await probe.started(
            _with_amqp(settings, proxy.url(amqp_url)),
            store=CommitThenHang(),
            directory=AsyncpgDirectoryReader(pool),
        )
        replies, _ = await probe.request(doomed.names, encode(launch), launch.jti)
        await asyncio.wait_for(committed.wait(), timeout=5)
        proxy.cut()
        survivor = await probe.started(
            settings, store=real, directory=AsyncpgDirectoryReader(pool)
        )
        first = await probe.next_message(replies)
        released.set()
        await asyncio.sleep(0.5)
        extra = await replies.get(no_ack=True, fail=False)
        await survivor.stop()
        await doomed.stop()
    rows = await partner_rows(pool, probe.seeded["partner_id"])
    await pool.close()

    assert isinstance(decode_reply(first.body), ProvisioningResult)
    assert extra is None
    assert rows == (1, 1, 1)
    assert await probe.dead_letters() == []


async def test_the_same_message_to_two_consumers_makes_one_row_of_each(
    probe: BusProbe, settings: Settings, database_url: str
) -> None:
    """Duplicates of one jti on two replicas: equal replies, one of every row."""
    services = [await probe.started(settings) for _ in range(2)]
    launch = probe.redeemed()

    sent = [
        await probe.request(services[0].names, encode(launch), launch.jti)
        for _ in range(4)
    ]
    replies = [
        decode_reply((await probe.next_message(queue)).body) for queue, _ in sent
    ]
    for service in services:
        await service.stop()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    rows = await partner_rows(pool, probe.seeded["partner_id"])
    await pool.close()

    assert all(reply == replies[0] for reply in replies)
    assert isinstance(replies[0], ProvisioningResult)
    assert rows == (1, 1, 1)


async def test_a_suspended_partner_gets_a_coded_rejection_and_nothing_written(
    probe: BusProbe, settings: Settings, database_url: str
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    await pool.execute(
        "UPDATE partner_tbl SET status = 'suspended' WHERE partner_id = $1",
        probe.seeded["partner_id"],
    )
    service = await probe.started(settings)
    launch = probe.redeemed()

    replies, _ = await probe.request(service.names, encode(launch), launch.jti)
    reply = decode_reply((await probe.next_message(replies)).body)
    await service.stop()
    rows = await partner_rows(pool, probe.seeded["partner_id"])
    await pool.close()

    assert isinstance(reply, ProvisioningRejected)
    assert reply.code == "partner_suspended"
    assert rows == (0, 0, 0)
    assert await probe.dead_letters() == []


async def test_a_launch_whose_asker_gave_up_is_acked_unwritten_and_unanswered(
    probe: BusProbe, settings: Settings, database_url: str
) -> None:
    """The token service has told its user the link was not used: nothing is
    written, nothing answers (a retry of the link may be waiting under the
    same correlation id), nothing is dead-lettered; the next launch is served."""
    service = await probe.started(settings)
    given_up = probe.redeemed(provision_by=datetime.now(UTC) - timedelta(seconds=1))
    current = probe.redeemed(external_user_id="EMP-2")

    with capture_logs() as logs:
        ignored, _ = await probe.request(service.names, encode(given_up), given_up.jti)
        replies, _ = await probe.request(service.names, encode(current), current.jti)
        answered = decode_reply((await probe.next_message(replies)).body)
    await service.stop()
    rows = await partner_rows_at(database_url, probe.seeded["partner_id"])

    assert isinstance(answered, ProvisioningResult)
    assert rows == (1, 1, 1)  # EMP-2's user, membership and audit row only
    assert await ignored.get(no_ack=True, fail=False) is None
    assert await probe.dead_letters() == []
    assert await probe.waiting() == 0
    assert "launch_abandoned" in [entry["event"] for entry in logs]


async def test_a_poison_message_never_blocks_the_queue(
    probe: BusProbe, settings: Settings, in_memory_directory: Any
) -> None:
    """A launch failing every time is retried with a count, then dead-lettered,
    while the launch behind it is answered."""
    poison = probe.redeemed()
    healthy = probe.redeemed(external_user_id="EMP-2")
    await in_memory_directory.create_partner(poison.partner_id, "P")
    await in_memory_directory.create_location(poison.location_id, "S")
    await in_memory_directory.grant(poison.partner_id, poison.location_id)

    class PoisonedStore:
        async def provision(self, launch: Launch) -> Provisioned | Rejection:
            if launch.jti == poison.jti:
                raise StoreUnavailable("database down")
            outcome: Provisioned | Rejection = await in_memory_directory.provision(
                launch
            )
            return outcome

    service = await probe.started(
        settings, store=PoisonedStore(), directory=in_memory_directory
    )
    await probe.request(service.names, encode(poison), poison.jti)
    replies, _ = await probe.request(service.names, encode(healthy), healthy.jti)
    answered = decode_reply((await probe.next_message(replies)).body)
    dead_queue = await probe.channel.get_queue(probe.names.dead_letter_queue)
    dead = await probe.next_message(dead_queue)
    await service.stop()

    assert isinstance(answered, ProvisioningResult)
    assert dead.body == encode(poison)
    assert dead.headers["x-retry-count"] == settings.max_retries
    assert dead.delivery_mode == 2  # persistent
    assert await probe.waiting() == 0


def _with_amqp(settings: Settings, url: str) -> Settings:
    import msgspec

    return msgspec.structs.replace(settings, amqp_url=Secret(url))


async def test_sigterm_finishes_the_message_in_hand(
    probe: BusProbe, database_url: str, amqp_url: str, unique_prefix: str
) -> None:
    """The console script gets SIGTERM mid-message: it commits, replies, acks, exits."""
    blocker = await asyncpg.connect(database_url)
    blocking = blocker.transaction()
    await blocking.start()
    # An uncommitted row with the same key makes the consumer's upsert wait.
    await blocker.execute(
        "INSERT INTO pos_user_tbl (partner_id, external_user_id, display_name)"
        " VALUES ($1, 'EMP-1', 'Blocker')",
        probe.seeded["partner_id"],
    )
    async with running_process(database_url, amqp_url, unique_prefix) as process:
        launch = probe.redeemed()

        replies, _ = await probe.request(probe.names, encode(launch), launch.jti)
        await _until_waiting_on_a_lock(blocker)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        await blocking.rollback()
        await blocker.close()
        reply = decode_reply((await probe.next_message(replies)).body)
        code = await asyncio.wait_for(process.wait(), timeout=20)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    rows = await partner_rows(pool, probe.seeded["partner_id"])
    await pool.close()

    assert code == 0
    assert isinstance(reply, ProvisioningResult)
    assert rows == (1, 1, 1)
    assert await probe.waiting() == 0
    assert await probe.dead_letters() == []


async def _until_waiting_on_a_lock(connection: asyncpg.Connection) -> None:
    for _ in range(200):
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the consumer never reached the locked row")
