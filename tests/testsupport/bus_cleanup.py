"""Deletes the queues and exchanges a test run declared on the shared broker.

Durable quorum queues outlive the run that declared them; hundreds of them
slow the broker down for every later run on the machine. Names are unique
per run, so deleting them never touches another run's. The bench deletes its
own names with `delete_bus_names` too.
"""

import asyncio
from collections.abc import Iterable
from typing import Final

import aio_pika

from tilt_shared.bus import BusNames

BUS_PREFIXES: Final[set[str]] = set()
RESOLVED_AMQP: Final[list[str]] = []


def remember_bus_prefix(prefix: str) -> None:
    BUS_PREFIXES.add(prefix)


async def _delete(amqp_url: str, prefixes: set[str]) -> None:
    connection = await aio_pika.connect(amqp_url, timeout=5)
    try:
        for prefix in prefixes:
            names = BusNames.with_prefix(prefix)
            queues = (
                names.provisioning_queue,
                names.dead_letter_queue,
                names.directory_queue,
            )
            exchanges = (names.exchange, names.dead_letter_exchange)
            for queue in queues:
                # A failed delete closes its channel: one channel per call.
                channel = await connection.channel()
                await channel.queue_delete(queue)
                await channel.close()
            for exchange in exchanges:
                channel = await connection.channel()
                await channel.exchange_delete(exchange)
                await channel.close()
    finally:
        await connection.close()


def delete_bus_names(amqp_url: str, prefixes: Iterable[str]) -> None:
    """Delete the queues and exchanges under `prefixes`; best effort, never raises."""
    try:
        asyncio.run(asyncio.wait_for(_delete(amqp_url, set(prefixes)), 60))
    except Exception as exc:  # cleanup must never turn a green run red
        print(f"bus cleanup skipped: {type(exc).__name__}")


def delete_declared_names() -> None:
    """Called once at the end of the session."""
    if BUS_PREFIXES and RESOLVED_AMQP:
        delete_bus_names(RESOLVED_AMQP[0], BUS_PREFIXES)
