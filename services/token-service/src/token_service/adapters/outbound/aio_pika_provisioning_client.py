"""AMQP adapter of `RedemptionBus` and `DirectorySource`: RPC to provisioning.

One robust connection and one channel with publisher confirms. Requests go
to the `launch.events` topic exchange as persistent, mandatory messages
(`launch.redeemed`, `directory.snapshot`); replies come back on RabbitMQ's
direct reply-to pseudo-queue, consumed without acks on that same channel (the
broker requires it), and resolve the future waiting under the message's
`correlation_id` (the `jti` for a launch). A reply nobody waits for any more
is dropped. A request no queue is bound for is returned by the broker and
fails at once instead of waiting for the timeout. A broker down at start-up
is retried in the background; the service starts anyway, not ready.
"""

import asyncio
import contextlib
import uuid
from typing import Final

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)

from tilt_shared.bus import (
    DIRECT_REPLY_TO,
    DIRECTORY_SNAPSHOT_KEY,
    LAUNCH_REDEEMED_KEY,
    BusNames,
)
from tilt_shared.messages import (
    DirectorySnapshotRequest,
    LaunchRedeemed,
    MessageDecodeError,
    ProvisioningRejected,
    decode_reply,
    decode_snapshot,
    encode,
)
from token_service.application.ports import DependencyUnavailable
from token_service.domain.provisioning import (
    ProvisionedUser,
    ProvisioningRejection,
    RedeemedLaunch,
)

PROVISIONING: Final = "provisioning"
RABBITMQ: Final = "rabbitmq"
# While the broker is down at start-up: retry after 0.2 s, doubling up to 5 s.
FIRST_RETRY_S: Final = 0.2
MAX_RETRY_S: Final = 5.0

log = structlog.get_logger(__name__)


class AioPikaProvisioningClient:
    """Asks provisioning to provision a launch, or for the directory snapshot."""

    def __init__(self, amqp_url: str, names: BusNames) -> None:
        self._amqp_url = amqp_url
        self._names = names
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._waiting: dict[str, set[asyncio.Future[bytes]]] = {}
        self._connector: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect now, or keep trying in the background while the broker is down.

        Never raises: until connected, `is_connected` is False (so /readyz
        answers 503) and calls fail at once with `DependencyUnavailable`.
        After the first connection the robust connection reconnects by itself.
        """
        try:
            await self._open()
        except aio_pika.exceptions.CONNECTION_EXCEPTIONS as exc:
            log.warning("broker_unreachable", error_type=type(exc).__name__)
            self._connector = asyncio.create_task(self._open_when_up())

    async def _open_when_up(self) -> None:
        delay = FIRST_RETRY_S
        while True:
            await asyncio.sleep(delay)
            try:
                await self._open()
            except aio_pika.exceptions.CONNECTION_EXCEPTIONS:
                delay = min(delay * 2, MAX_RETRY_S)
                continue
            log.info("broker_connected", after="retry")
            return

    async def _open(self) -> None:
        # connect_robust reconnects a lost connection but not a first one.
        connection = await aio_pika.connect_robust(self._amqp_url)
        try:
            channel = await connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
            exchange = await channel.declare_exchange(
                self._names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
            await replies.consume(self._on_reply, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel, self._exchange = connection, channel, exchange

    @property
    def is_connected(self) -> bool:
        """Whether the broker connection is up now (False while reconnecting)."""
        connection = self._connection
        return (
            connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
        )

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
            self._connector = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def provision(
        self, launch: RedeemedLaunch, timeout_s: float
    ) -> ProvisionedUser | ProvisioningRejection:
        request = LaunchRedeemed(
            jti=launch.jti,
            partner_id=launch.partner_id,
            external_user_id=launch.external_user_id,
            display_name=launch.display_name,
            location_id=launch.location_id,
            role_slug=launch.role_slug,
            redeemed_at=launch.redeemed_at,
        )
        body = await self._call(
            encode(request), LAUNCH_REDEEMED_KEY, launch.jti, timeout_s
        )

        try:
            reply = decode_reply(body)
        except MessageDecodeError as exc:
            raise DependencyUnavailable(PROVISIONING, "undecodable reply") from exc
        if isinstance(reply, ProvisioningRejected):
            return ProvisioningRejection(code=reply.code, message=reply.message)
        return ProvisionedUser(
            pos_user_id=reply.pos_user_id,
            partner_id=launch.partner_id,
            external_user_id=launch.external_user_id,
            display_name=reply.display_name,
            location_id=reply.location_id,
            role_slug=reply.role_slug,
            permissions=tuple(reply.permissions),
            user_created=reply.user_created,
            membership_created=reply.membership_created,
        )

    async def snapshot(self, timeout_s: float) -> dict[str, tuple[str, frozenset[str]]]:
        body = await self._call(
            encode(DirectorySnapshotRequest()),
            DIRECTORY_SNAPSHOT_KEY,
            uuid.uuid4().hex,
            timeout_s,
        )

        try:
            snapshot = decode_snapshot(body)
        except MessageDecodeError as exc:
            raise DependencyUnavailable(PROVISIONING, "undecodable snapshot") from exc
        return {
            entry.partner_id: (entry.status, frozenset(entry.location_ids))
            for entry in snapshot.partners
        }

    async def _call(
        self, body: bytes, routing_key: str, correlation_id: str, timeout_s: float
    ) -> bytes:
        if self._exchange is None:
            raise DependencyUnavailable(RABBITMQ, "not connected yet")
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(correlation_id, set()).add(reply)
        message = aio_pika.Message(
            body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=uuid.uuid4().hex,
            correlation_id=correlation_id,
            reply_to=DIRECT_REPLY_TO,
        )
        published = False
        try:
            async with asyncio.timeout(timeout_s):
                await self._exchange.publish(
                    message, routing_key=routing_key, mandatory=True
                )
                published = True
                return await reply
        except aio_pika.exceptions.PublishError as exc:
            raise DependencyUnavailable(PROVISIONING, "no queue bound") from exc
        except TimeoutError as exc:
            waited_for = PROVISIONING if published else RABBITMQ
            raise DependencyUnavailable(
                waited_for, f"no answer within {timeout_s}s"
            ) from exc
        except aio_pika.exceptions.CONNECTION_EXCEPTIONS as exc:
            raise DependencyUnavailable(RABBITMQ, type(exc).__name__) from exc
        finally:
            self._forget(correlation_id, reply)

    def _forget(self, correlation_id: str, reply: asyncio.Future[bytes]) -> None:
        waiting = self._waiting.get(correlation_id)
        if waiting is None:
            return
        waiting.discard(reply)
        if not waiting:
            del self._waiting[correlation_id]

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        waiting = self._waiting.get(message.correlation_id or "")
        if not waiting:
            log.debug("reply_dropped", correlation_id=message.correlation_id)
            return
        for reply in waiting:
            if not reply.done():
                reply.set_result(message.body)
