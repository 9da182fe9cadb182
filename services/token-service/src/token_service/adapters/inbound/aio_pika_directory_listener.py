"""AMQP inbound adapter: follows provisioning's directory changes (DESIGN §7.2).

Each replica declares its own queue (exclusive, auto-delete, named once per
process so a robust reconnect restores it) bound to
`directory.partner_changed`, and asks for snapshots with that queue as
`reply_to`, so changes and snapshots arrive on one queue and are handled one
at a time (prefetch 1, ack after handling). It asks for a snapshot at start,
after a reconnect, when the copy reports a gap or is empty, every second
until one arrives (provisioning may be down or not yet started), and every
`resync_s` after that, which also repairs a change whose event was lost.
"""

import asyncio
import contextlib
import uuid
from typing import Final

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from tilt_shared.amqp import connect_robustly
from tilt_shared.bus import (
    DIRECTORY_PARTNER_CHANGED_KEY,
    DIRECTORY_SNAPSHOT_KEY,
    BusNames,
)
from tilt_shared.messages import (
    DirectoryPartnerChanged,
    DirectorySnapshotRequest,
    MessageDecodeError,
    PartnerEntry,
    decode_directory_update,
    encode,
)
from token_service.application.follow_directory import FollowDirectory, PartnerState
from token_service.application.ports import DependencyUnavailable

UNSYNCED_RETRY_S: Final = 1.0
MAX_CONNECT_RETRY_S: Final = 5.0

log = structlog.get_logger(__name__)


class AioPikaDirectoryListener:
    """Feeds `FollowDirectory` from the bus; `wanted` asks it for a snapshot."""

    def __init__(
        self,
        amqp_url: str,
        names: BusNames,
        follow: FollowDirectory,
        wanted: asyncio.Event,
        resync_s: float = 30.0,
    ) -> None:
        self._amqp_url = amqp_url
        self._names = names
        self._follow = follow
        self._wanted = wanted
        self._resync_s = resync_s
        self._queue_name = f"{names.exchange}.directory-copy.{uuid.uuid4().hex}"
        self._synced = False
        self._task: asyncio.Task[None] | None = None
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._connection is not None:
            await self._connection.close()

    async def _run(self) -> None:
        channel = await self._connect()
        while True:
            await self._request_snapshot(channel)
            wait_s = self._resync_s if self._synced else UNSYNCED_RETRY_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), wait_s)
            self._wanted.clear()

    async def _connect(self) -> AbstractChannel:
        delay = UNSYNCED_RETRY_S
        while True:
            try:
                # A robust connection reconnects a lost one but not a first one.
                self._connection = await connect_robustly(self._amqp_url)
                channel = await self._connection.channel()
                await channel.set_qos(prefetch_count=1)
                exchange = await channel.declare_exchange(
                    self._names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
                )
                queue = await channel.declare_queue(
                    self._queue_name, exclusive=True, auto_delete=True
                )
                await queue.bind(exchange, routing_key=DIRECTORY_PARTNER_CHANGED_KEY)
                await queue.consume(self._on_message)
            except aio_pika.exceptions.CONNECTION_EXCEPTIONS as exc:
                log.warning("broker_unreachable", error_type=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_CONNECT_RETRY_S)
                continue
            self._connection.reconnect_callbacks.add(self._on_reconnect)
            return channel

    def _on_reconnect(self, _connection: object) -> None:
        # Changes published while we were away are lost: only a snapshot knows.
        self._synced = False
        self._wanted.set()

    async def _request_snapshot(self, channel: AbstractChannel) -> None:
        try:
            exchange = await channel.get_exchange(self._names.exchange, ensure=False)
            await exchange.publish(
                aio_pika.Message(
                    encode(DirectorySnapshotRequest()),
                    content_type="application/json",
                    reply_to=self._queue_name,
                    message_id=uuid.uuid4().hex,
                ),
                routing_key=DIRECTORY_SNAPSHOT_KEY,
            )
        except aio_pika.exceptions.CONNECTION_EXCEPTIONS as exc:
            log.warning("directory_snapshot_not_requested", error=type(exc).__name__)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process(ignore_processed=True):
            try:
                update = decode_directory_update(message.body)
            except MessageDecodeError as exc:
                log.warning("directory_message_dropped", error=str(exc)[:200])
                return
            try:
                if isinstance(update, DirectoryPartnerChanged):
                    if await self._follow.changed(
                        update.version, _state(update.partner), epoch=update.epoch
                    ):
                        self._wanted.set()
                    return
                await self._follow.snapshot(
                    update.version,
                    [_state(entry) for entry in update.partners],
                    epoch=update.epoch,
                )
                self._synced = True
            except DependencyUnavailable as exc:
                # Redis is down: the next snapshot repairs whatever was missed.
                log.error(
                    "directory_update_failed",
                    dependency=exc.dependency,
                    error=exc.detail,
                )
                self._synced = False


def _state(entry: PartnerEntry) -> PartnerState:
    return PartnerState(
        partner_id=entry.partner_id,
        status=entry.status,
        location_ids=frozenset(entry.location_ids),
        replace_display_name=entry.replace_display_name,
    )
