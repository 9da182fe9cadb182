"""How both services open their robust RabbitMQ connection (DESIGN §7).

aio-pika's `connect_robust` builds the connection and then awaits its first
connect; cancelled there (a shutdown while the broker is slow), the caller
never holds the object, so nobody can close it and its reconnect task keeps
the socket and the process alive. A broker that accepts TCP and never
answers would also hold that first connect forever. Here the connection is
built first, the first connect is bounded, and a connect that does not
finish closes what it began.
"""

import contextlib
from typing import Final

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from yarl import URL

from tilt_shared.bus import RECONNECT_INTERVAL_S

# A first connect, TCP and AMQP handshake, takes milliseconds on a live broker.
CONNECT_TIMEOUT_S: Final = 10.0


async def connect_robustly(
    url: str, timeout_s: float = CONNECT_TIMEOUT_S
) -> AbstractRobustConnection:
    """A robust connection, or the error of its first connect (TimeoutError included,
    an OSError like the rest); it reconnects by itself after that."""
    connection = aio_pika.RobustConnection(
        URL(url), reconnect_interval=RECONNECT_INTERVAL_S
    )
    try:
        await connection.connect(timeout=timeout_s)
    except BaseException:
        with contextlib.suppress(Exception):
            await connection.close()
        raise
    return connection
