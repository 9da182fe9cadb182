"""Closing an AMQP adapter while its first connect hangs lets go of the socket.

A broker that accepts TCP but never answers (a stuck load balancer, a
half-dead node) holds the first connect open. Shutting down then must close
that connection; before, aio-pika's reconnect task lived on with the socket,
and the process never exited.
"""

import asyncio

import pytest
from redis.asyncio import Redis

from testsupport.silent_broker import SilentBroker
from tilt_shared.bus import BusNames
from token_service.adapters.inbound.aio_pika_directory_listener import (
    AioPikaDirectoryListener,
)
from token_service.adapters.outbound.aio_pika_provisioning_client import (
    AioPikaProvisioningClient,
)
from token_service.adapters.outbound.redis_directory_copy import RedisDirectoryCopy
from token_service.application.follow_directory import FollowDirectory

pytestmark = pytest.mark.integration


async def test_the_directory_listener_closed_mid_connect_drops_it(
    silent: SilentBroker, unique_prefix: str, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    copy = RedisDirectoryCopy(redis, unique_prefix)
    listener = AioPikaDirectoryListener(
        silent.url,
        BusNames.with_prefix(unique_prefix),
        FollowDirectory(copy),
        copy.snapshot_wanted,
    )
    listener.start()
    await asyncio.wait_for(silent.accepted.wait(), timeout=5)

    await asyncio.wait_for(listener.close(), timeout=5)
    await redis.aclose()

    await asyncio.wait_for(silent.ended.wait(), timeout=5)


async def test_the_provisioning_client_closed_mid_connect_drops_it(
    silent: SilentBroker, unique_prefix: str
) -> None:
    client = AioPikaProvisioningClient(silent.url, BusNames.with_prefix(unique_prefix))
    starting = asyncio.create_task(client.start())
    await asyncio.wait_for(silent.accepted.wait(), timeout=5)

    starting.cancel()
    await asyncio.gather(starting, return_exceptions=True)
    await asyncio.wait_for(client.close(), timeout=5)

    await asyncio.wait_for(silent.ended.wait(), timeout=5)
