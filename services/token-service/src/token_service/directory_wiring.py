"""Builds the partner directory: the Redis copy and the listener that feeds it.

The copy (DESIGN §7.2) only answers; a listener keeps it in step by calling
`FollowDirectory` and loads a snapshot whenever the copy sets the event it
was handed. In production the listener follows provisioning over AMQP;
tests hand over a factory for one that serves fixed grants.
"""

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, Protocol

from token_service.application.follow_directory import FollowDirectory
from token_service.application.launch_ports import PartnerDirectory
from token_service.settings import Settings


class DirectoryListener(Protocol):
    """Feeds `FollowDirectory` in the background from `start` until `close`."""

    def start(self) -> None: ...

    async def close(self) -> None: ...


ListenerFactory = Callable[[FollowDirectory, asyncio.Event], DirectoryListener]


def amqp_listener(settings: Settings) -> ListenerFactory:
    """Listeners that follow provisioning's events and snapshots on the bus."""
    from tilt_shared.bus import BusNames
    from token_service.adapters.inbound.aio_pika_directory_listener import (
        AioPikaDirectoryListener,
    )

    def listener(follow: FollowDirectory, wanted: asyncio.Event) -> DirectoryListener:
        return AioPikaDirectoryListener(
            settings.amqp_url,
            BusNames.with_prefix(settings.bus_prefix),
            follow,
            wanted,
            settings.directory_resync_s,
        )

    return listener


def directory_copy(
    settings: Settings, client: Any, listen: ListenerFactory, stack: AsyncExitStack
) -> PartnerDirectory:
    """The copy on `client`, fed by a listener that `stack` closes."""
    from token_service.adapters.outbound.redis_directory_copy import (
        RedisDirectoryCopy,
    )

    copy = RedisDirectoryCopy(
        client, settings.redis_prefix, settings.provisioning_timeout_s
    )
    listener = listen(FollowDirectory(copy), copy.snapshot_wanted)

    listener.start()
    stack.push_async_callback(listener.close)
    return copy
