"""AMQP adapter of `RedemptionBus`: each launch is an RPC to provisioning.

One robust connection and one channel with publisher confirms. Requests go
to the `launch.events` topic exchange as persistent, mandatory
`launch.redeemed` messages; replies come back on RabbitMQ's
direct reply-to pseudo-queue, consumed without acks on that same channel (the
broker requires it), and resolve the future waiting under the message's
`correlation_id` (the `jti` for a launch). A reply nobody waits for any more
is dropped. A request no queue is bound for is returned by the broker and
fails at once instead of waiting for the timeout. A broker down at start-up
is retried in the background; the service starts anyway, not ready.

Direct reply-to is a pseudo-queue the robust channel never declares, so it
does not come back by itself when the channel is reopened, whether after a
reconnect or after the broker closed the channel alone (a deleted exchange,
a protocol error). The consumer is set up again each time the channel
reopens, and a request waits for it, within its timeout, rather than publish
into the gap and close the channel again.

Each launch carries `provision_by`, the instant after which provisioning
must write nothing for it: by then this wait may be over and the user told
the link was not used (ADR 0007).

Each request is a PRODUCER span whose W3C context travels in the message's
headers, so provisioning continues the trace; each round trip is timed, and
each provisioning answer counted (provisioned, rejected, timeout, unavailable).
"""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from opentelemetry.trace import SpanKind, Tracer

from tilt_shared.amqp import connect_robustly
from tilt_shared.bus import (
    DIRECT_REPLY_TO,
    LAUNCH_REDEEMED_KEY,
    BusNames,
)
from tilt_shared.messages import (
    MessageDecodeError,
    ProvisioningRejected,
    ProvisioningResult,
    decode_reply,
    encode,
)
from tilt_shared.telemetry import inject_trace_context
from token_service.adapters.outbound.msgspec_provisioning_wire import (
    provisioned_user,
    wire_request,
)
from token_service.adapters.outbound.opentelemetry_observed_ports import observed_call
from token_service.application.metrics import LaunchMetrics, NoMetrics
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
NO_ANSWER: Final = "no answer within"
# Provisioning may write a launch only within this share of the wait (ADR
# 0007); the rest carries its commit and reply back and absorbs clock skew.
WRITE_SHARE: Final = 0.8

log = structlog.get_logger(__name__)


class AioPikaProvisioningClient:
    """Asks provisioning to provision a launch, or for the directory snapshot."""

    def __init__(
        self,
        amqp_url: str,
        names: BusNames,
        metrics: LaunchMetrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._amqp_url = amqp_url
        self._names = names
        self._metrics = metrics or NoMetrics()
        self._tracer = tracer
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._replying = asyncio.Event()
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
        # A robust connection reconnects a lost connection but not a first one.
        connection = await connect_robustly(self._amqp_url)
        try:
            channel = await connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
            exchange = await channel.declare_exchange(
                self._names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await self._consume_replies(channel)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel, self._exchange = connection, channel, exchange
        channel.close_callbacks.add(self._on_channel_closed)
        channel.reopen_callbacks.add(self._on_channel_reopened)

    async def _consume_replies(self, channel: AbstractRobustChannel) -> None:
        replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        await replies.consume(self._on_reply, no_ack=True)
        self._replying.set()

    def _on_channel_closed(self, _channel: object, exc: BaseException | None) -> None:
        self._replying.clear()
        log.info("broker_channel_closed", error=type(exc).__name__)

    async def _on_channel_reopened(self, channel: AbstractRobustChannel | None) -> None:
        # Without this every publish fails with "fast reply consumer does not
        # exist", which closes the channel again, until the process restarts.
        if channel is None:  # the sender is held weakly and is already gone
            return
        await self._consume_replies(channel)
        log.info("broker_channel_reopened", action="reply_consumer_restored")

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
        provision_by = datetime.now(UTC) + timedelta(seconds=timeout_s * WRITE_SHARE)
        request = encode(wire_request(launch, provision_by))
        try:
            body = await self._call(request, LAUNCH_REDEEMED_KEY, launch.jti, timeout_s)
            reply = decode_reply(body)
        except DependencyUnavailable as exc:
            self._metrics.provisioning_answered(_failure(exc))
            raise
        except MessageDecodeError as exc:
            self._metrics.provisioning_answered("unavailable")
            raise DependencyUnavailable(PROVISIONING, "undecodable reply") from exc
        if isinstance(reply, ProvisioningRejected):
            self._metrics.provisioning_answered("rejected")
            return ProvisioningRejection(code=reply.code, message=reply.message)
        self._metrics.provisioning_answered("provisioned")
        return provisioned_user(launch, reply)

    async def _call(
        self, body: bytes, routing_key: str, correlation_id: str, timeout_s: float
    ) -> bytes:
        with observed_call(
            self._metrics,
            self._tracer,
            PROVISIONING,
            routing_key,
            kind=SpanKind.PRODUCER,
            span_name=f"{routing_key} publish",
            outcome_of=_failure,
        ):
            return await self._round_trip(body, routing_key, correlation_id, timeout_s)

    async def _round_trip(
        self, body: bytes, routing_key: str, correlation_id: str, timeout_s: float
    ) -> bytes:
        if self._exchange is None:
            raise DependencyUnavailable(RABBITMQ, "not connected yet")
        headers: dict[str, str] = {}
        inject_trace_context(headers)
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(correlation_id, set()).add(reply)
        message = aio_pika.Message(
            body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=uuid.uuid4().hex,
            correlation_id=correlation_id,
            reply_to=DIRECT_REPLY_TO,
            headers=dict(headers) or None,
        )
        published = False
        try:
            async with asyncio.timeout(timeout_s):
                await self._until_replies_can_arrive()
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
                waited_for, f"{NO_ANSWER} {timeout_s}s"
            ) from exc
        except aio_pika.exceptions.CONNECTION_EXCEPTIONS as exc:
            raise DependencyUnavailable(RABBITMQ, type(exc).__name__) from exc
        finally:
            self._forget(correlation_id, reply)

    async def _until_replies_can_arrive(self) -> None:
        """Waits out a channel being restored; fails at once while disconnected."""
        if self._replying.is_set():
            return
        if not self.is_connected:
            raise DependencyUnavailable(RABBITMQ, "reconnecting")
        await self._replying.wait()

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
            self._unawaited(message)
            return
        for reply in waiting:
            if not reply.done():
                reply.set_result(message.body)

    def _unawaited(self, message: AbstractIncomingMessage) -> None:
        """A reply after its wait ended is dropped; a written launch is reported.

        Provisioning wrote it before the launch's `provision_by`, but the
        answer took longer than the wait's margin (ADR 0007): the user was
        told nothing was used, and the POS user exists all the same.
        """
        if not _is_result(message.body):
            log.debug("reply_dropped", correlation_id=message.correlation_id)
            return
        self._metrics.provisioning_answered("late")
        log.warning("provisioning_reply_late", correlation_id=message.correlation_id)


def _is_result(body: bytes) -> bool:
    try:
        return isinstance(decode_reply(body), ProvisioningResult)
    except MessageDecodeError:
        return False


def _failure(error: Exception) -> str:
    """The metric outcome of a failed call: `timeout` or `unavailable`."""
    detail = getattr(error, "detail", "")
    return "timeout" if detail.startswith(NO_ANSWER) else "unavailable"
