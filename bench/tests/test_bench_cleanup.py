"""The bench removes what its stack left on the shared broker, even on Ctrl-C."""

import asyncio
import uuid
from typing import Final

import aio_pika
import pytest
from aiormq.abc import FieldValue

from bench.stack_run import removed_afterwards
from tilt_shared.bus import BusNames

pytestmark = pytest.mark.integration
QUORUM: Final[dict[str, FieldValue]] = {"x-queue-type": "quorum"}


async def declare(amqp_url: str, names: BusNames) -> None:
    """The durable names the services declare under the stack's bus prefix."""
    connection = await aio_pika.connect(amqp_url, timeout=5)
    async with connection:
        channel = await connection.channel()
        for exchange in (names.exchange, names.dead_letter_exchange):
            await channel.declare_exchange(
                exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
        for queue in (names.provisioning_queue, names.dead_letter_queue):
            await channel.declare_queue(queue, durable=True, arguments=QUORUM)
        await channel.declare_queue(names.directory_queue, durable=True)


async def still_there(amqp_url: str, names: BusNames) -> list[str]:
    """The names the broker still knows, by a passive declare of each."""
    queues = (names.provisioning_queue, names.dead_letter_queue, names.directory_queue)
    exchanges = (names.exchange, names.dead_letter_exchange)
    kinds = [(q, True) for q in queues] + [(e, False) for e in exchanges]
    connection = await aio_pika.connect(amqp_url, timeout=5)
    async with connection:
        return [n for n, queue in kinds if await exists(connection, n, is_queue=queue)]


async def exists(
    connection: aio_pika.abc.AbstractConnection, name: str, *, is_queue: bool
) -> bool:
    # A passive declare of a missing name closes its channel: one channel each.
    channel = await connection.channel()
    try:
        if is_queue:
            await channel.declare_queue(name, passive=True)
        else:
            await channel.get_exchange(name, ensure=True)
    except aio_pika.exceptions.ChannelClosed:
        return False
    await channel.close()
    return True


def test_an_interrupted_bench_leaves_no_queue_or_exchange_behind(
    amqp_url: str, postgres_admin_url: str, unique_prefix: str
) -> None:
    """Ctrl-C inside the bench's stack: its prefix's queues and exchanges are gone."""
    names = BusNames.with_prefix(unique_prefix)
    asyncio.run(declare(amqp_url, names))
    declared = asyncio.run(still_there(amqp_url, names))
    database = f"tilt_bench_absent_{uuid.uuid4().hex[:10]}"

    with (
        pytest.raises(KeyboardInterrupt),
        removed_afterwards(postgres_admin_url, database, amqp_url, unique_prefix),
    ):
        raise KeyboardInterrupt

    assert len(declared) == 5
    assert asyncio.run(still_there(amqp_url, names)) == []
