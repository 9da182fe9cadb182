"""Declares the launch bus topology that provisioning consumes (DESIGN §7.1).

Declarations are idempotent: every replica declares the same exchange and
queues with the same arguments at start-up, and a robust channel declares
them again after a reconnect.
"""

from typing import Final

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from tilt_shared.bus import DIRECTORY_SNAPSHOT_KEY, LAUNCH_REDEEMED_KEY, BusNames

# A safety net under our own retry count: RabbitMQ dead-letters a quorum-queue
# message redelivered this many times (crash loops, channels cut mid-message).
DELIVERY_LIMIT: Final = 20


async def declare_exchange(
    channel: AbstractChannel, names: BusNames
) -> AbstractExchange:
    return await channel.declare_exchange(
        names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )


async def declare_launch_queue(
    channel: AbstractChannel, names: BusNames
) -> AbstractQueue:
    """The durable quorum queue of `launch.redeemed`, with its dead-letter pair."""
    exchange = await declare_exchange(channel, names)
    await declare_dead_letters(channel, names)

    queue = await channel.declare_queue(
        names.provisioning_queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": names.dead_letter_exchange,
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )
    await queue.bind(exchange, routing_key=LAUNCH_REDEEMED_KEY)
    return queue


async def declare_dead_letters(
    channel: AbstractChannel, names: BusNames
) -> AbstractExchange:
    """The fanout dead-letter exchange, bound to its durable quorum queue.

    The consumer publishes its dead letters here itself, with their reason;
    the launch queue names it as its broker-side dead-letter exchange too.
    """
    dead_letters = await channel.declare_exchange(
        names.dead_letter_exchange, aio_pika.ExchangeType.FANOUT, durable=True
    )
    dead_queue = await channel.declare_queue(
        names.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead_queue.bind(dead_letters, routing_key="#")
    return dead_letters


async def declare_directory_queue(
    channel: AbstractChannel, names: BusNames
) -> AbstractQueue:
    """A transient queue: a snapshot request is worthless once its asker gave up."""
    exchange = await declare_exchange(channel, names)
    queue = await channel.declare_queue(
        names.directory_queue, durable=False, auto_delete=True
    )
    await queue.bind(exchange, routing_key=DIRECTORY_SNAPSHOT_KEY)
    return queue
