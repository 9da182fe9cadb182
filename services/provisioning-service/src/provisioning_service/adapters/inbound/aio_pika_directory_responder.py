"""AMQP inbound adapter: answers `directory.snapshot` requests (DESIGN §7.2).

A request is acked once answered. One that cannot be answered (database
down) is rejected without requeue: the asker times out and asks again, and a
snapshot request is worthless after that. Garbage requests are dropped the
same way, and so is one whose answer cannot be published; the queue has no
dead-letter exchange. No request is left unsettled to hold a prefetch slot.
"""

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Final

import aio_pika
import msgspec
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
)

from provisioning_service.adapters.inbound.aio_pika_shutdown import bounded
from provisioning_service.adapters.inbound.aio_pika_topology import (
    declare_directory_queue,
)
from provisioning_service.adapters.outbound.aio_pika_directory_events import (
    partner_entry,
)
from provisioning_service.domain.directory import Directory
from tilt_shared.bus import BusNames
from tilt_shared.messages import (
    DirectorySnapshot,
    DirectorySnapshotRequest,
    encode,
)

log = structlog.get_logger(__name__)

_request_decoder: Final = msgspec.json.Decoder(DirectorySnapshotRequest)

ReadDirectoryUseCase = Callable[[], Awaitable[Directory]]


class AioPikaDirectoryResponder:
    """Replies `DirectorySnapshot` to each request's `reply_to`."""

    def __init__(self, read_directory: ReadDirectoryUseCase, names: BusNames) -> None:
        self._read_directory = read_directory
        self._names = names
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None

    async def start(self, connection: AbstractConnection) -> None:
        self._channel = await connection.channel()
        await self._channel.set_qos(prefetch_count=4)
        self._queue = await declare_directory_queue(self._channel, self._names)
        self._consumer_tag = await self._queue.consume(self._on_request)

    async def stop(self) -> None:
        if self._queue is not None and self._consumer_tag is not None:
            await bounded("cancel_responder", self._queue.cancel(self._consumer_tag))
            self._consumer_tag = None
        if self._channel is not None and not self._channel.is_closed:
            await bounded("close_responder_channel", self._channel.close())

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        with structlog.contextvars.bound_contextvars(
            message_id=message.message_id, correlation_id=message.correlation_id
        ):
            try:
                _request_decoder.decode(message.body)
            except msgspec.DecodeError as exc:
                await _drop(message, "undecodable", error=str(exc)[:200])
                return
            if not message.reply_to:
                await _drop(message, "no_reply_to")
                return

            try:
                directory = await self._read_directory()
            except Exception as exc:  # the asker retries; nothing to keep
                await _drop(
                    message, "directory_unreadable", error_type=type(exc).__name__
                )
                return

            assert self._channel is not None
            try:
                await self._channel.default_exchange.publish(
                    aio_pika.Message(
                        encode(_snapshot(directory)),
                        content_type="application/json",
                        correlation_id=message.correlation_id,
                        message_id=uuid.uuid4().hex,
                    ),
                    routing_key=message.reply_to,
                )
            except Exception as exc:  # its channel died: the asker asks again
                await _drop(message, "reply_failed", error_type=type(exc).__name__)
                return
            await message.ack()
            log.info("directory_snapshot_sent", version=directory.version)


async def _drop(message: AbstractIncomingMessage, reason: str, **details: str) -> None:
    """Settles a request that gets no answer, even on a channel that just died."""
    with contextlib.suppress(Exception):
        await message.reject(requeue=False)
    log.warning("directory_request_dropped", reason=reason, **details)


def _snapshot(directory: Directory) -> DirectorySnapshot:
    return DirectorySnapshot(
        version=directory.version,
        epoch=directory.epoch,
        partners=[partner_entry(partner) for partner in directory.partners],
    )
