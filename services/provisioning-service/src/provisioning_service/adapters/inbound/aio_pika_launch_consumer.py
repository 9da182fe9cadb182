"""AMQP inbound adapter: consumes `launch.redeemed`, replies with the outcome.

Policy, per message (DESIGN §7.1):

- Undecodable bytes, an unknown schema version, or a launch no retry can fix
  (`InvalidLaunch`): reject without requeue, so the broker dead-letters it at
  once. An invalid launch still gets a `ProvisioningRejected` reply so the
  token service does not wait for its timeout.
- Any other failure (database down, deadlock, timeout, a bug): republish a
  copy to the back of the queue with `x-retry-count` + 1 after a short
  backoff, then ack the original; at `max_retries` the message is
  dead-lettered instead. A poison message therefore never blocks the queue.
- Success or rejection: publish the reply to `reply_to` (same
  `correlation_id`), then ack. The store is idempotent by `jti`, so a
  redelivery after a crash between commit and ack replies again and writes
  nothing. A reply that cannot be sent is a transient failure like the rest:
  the copy's redelivery replies from the stored outcome.
- A message is never left unsettled: if settling it fails (its channel died
  under it), it is nacked back to the queue when that is still possible, and
  otherwise the broker requeues it as the channel closes.

Replies go out on a channel of their own without publisher confirms and
without `mandatory`: a reply is transient and addressed to the asker's
direct reply-to, which no confirm makes safer; a lost one costs the asker
its timeout and retry, which the `jti` makes harmless. Retries keep the
confirmed channel, since the original is acked only once its copy is safe.

After a reconnect aio-pika restores channels one at a time, so a message
can arrive on the restored consumer channel while the reply channel is
still closed. Every publish therefore first waits, bounded, for its channel
to be restored.

Each message is timed and counted by outcome; with a tracer it is a CONSUMER
span continuing the trace its W3C headers carry (the token service's request).
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from opentelemetry.trace import Tracer

from provisioning_service.adapters.inbound.aio_pika_shutdown import bounded
from provisioning_service.adapters.inbound.aio_pika_topology import (
    declare_launch_queue,
)
from provisioning_service.adapters.inbound.msgspec_launch_wire import (
    launch_of,
    reply_of,
)
from provisioning_service.application.metrics import ConsumerMetrics, NoMetrics
from provisioning_service.domain.errors import InvalidLaunch, ProvisioningError
from provisioning_service.domain.launch import Launch, Provisioned, Rejection
from tilt_shared.bus import BusNames
from tilt_shared.messages import (
    MessageDecodeError,
    ProvisioningRejected,
    ProvisioningResult,
    decode_launch_redeemed,
    encode,
)
from tilt_shared.telemetry import consumer_span

RETRY_HEADER: Final = "x-retry-count"
BACKOFF_BASE_S: Final = 0.1
BACKOFF_MAX_S: Final = 2.0
CHANNEL_RESTORE_WAIT_S: Final = 5.0
DEAD_LETTERED: Final = "dead_lettered"

log = structlog.get_logger(__name__)

ProvisionUseCase = Callable[[Launch], Awaitable[Provisioned | Rejection]]


class AioPikaLaunchConsumer:
    """Feeds `launch.redeemed` messages to the provisioning use case."""

    def __init__(
        self,
        provision: ProvisionUseCase,
        names: BusNames,
        *,
        prefetch: int = 32,
        max_retries: int = 5,
        metrics: ConsumerMetrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._metrics = metrics or NoMetrics()
        self._tracer = tracer
        self._provision = provision
        self._names = names
        self._prefetch = prefetch
        self._max_retries = max_retries
        self._channel: AbstractRobustChannel | None = None
        self._replies: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self, connection: AbstractRobustConnection) -> None:
        self._channel = await connection.channel(publisher_confirms=True)
        self._replies = await connection.channel(publisher_confirms=False)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await declare_launch_queue(self._channel, self._names)
        self._consumer_tag = await self._queue.consume(self._on_message)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop taking messages, let in-flight ones finish, close the channel."""
        if self._queue is not None and self._consumer_tag is not None:
            await bounded("cancel_consumer", self._queue.cancel(self._consumer_tag))
            self._consumer_tag = None
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=grace_s)
        except TimeoutError:
            log.warning("consumer_stop_timed_out", count=self._in_flight)
        for channel in (self._replies, self._channel):
            if channel is not None and not channel.is_closed:
                await bounded("close_channel", channel.close())

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self._in_flight += 1
        self._idle.clear()
        started = time.perf_counter()
        try:
            with structlog.contextvars.bound_contextvars(
                message_id=message.message_id, correlation_id=message.correlation_id
            ):
                outcome = await self._settled(message)
            self._metrics.message_processed(outcome, time.perf_counter() - started)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _settled(self, message: AbstractIncomingMessage) -> str:
        try:
            return await self._traced(message)
        except Exception:  # the channel died mid-settlement: give the message back
            log.warning("message_unsettled", exc_info=True)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return "unsettled"

    async def _traced(self, message: AbstractIncomingMessage) -> str:
        if self._tracer is None:
            return await self._handle(message)
        name = "launch.redeemed process"
        with consumer_span(self._tracer, name, message.headers) as span:
            outcome = await self._handle(message)
            span.set_attribute("provisioning.outcome", outcome)
            return outcome

    async def _handle(self, message: AbstractIncomingMessage) -> str:
        """Settles the message by the policy above; returns the outcome's name."""
        try:
            wire = decode_launch_redeemed(message.body)
        except MessageDecodeError as exc:
            await self._dead_letter(message, reason="undecodable", error=str(exc)[:200])
            return DEAD_LETTERED
        structlog.contextvars.bind_contextvars(correlation_id=wire.jti)

        try:
            outcome = await self._provision(launch_of(wire))
        except InvalidLaunch as exc:
            rejected = ProvisioningRejected(jti=wire.jti, code=exc.code)
            try:
                await self._reply(message, rejected)
            except Exception:  # a courtesy: the asker's timeout covers its loss
                log.warning("reply_lost", code=exc.code, exc_info=True)
            await self._dead_letter(message, reason=exc.code, error=str(exc))
            return DEAD_LETTERED
        except Exception as exc:  # transient or unknown: bounded retries decide
            return await self._retry_or_dead_letter(message, exc)

        try:
            await self._reply(message, reply_of(outcome))
        except Exception as exc:  # no reply channel: the redelivery replies
            return await self._retry_or_dead_letter(message, exc)
        await message.ack()
        return "rejected" if isinstance(outcome, Rejection) else "provisioned"

    async def _reply(
        self,
        message: AbstractIncomingMessage,
        reply: ProvisioningResult | ProvisioningRejected,
    ) -> None:
        if not message.reply_to:
            log.info("reply_skipped", reason="no_reply_to")
            return
        assert self._replies is not None
        await _restored(self._replies)
        await self._replies.default_exchange.publish(
            aio_pika.Message(
                encode(reply),
                content_type="application/json",
                correlation_id=message.correlation_id or reply.jti,
                message_id=uuid.uuid4().hex,
            ),
            routing_key=message.reply_to,
            mandatory=False,
        )

    async def _retry_or_dead_letter(
        self, message: AbstractIncomingMessage, exc: Exception
    ) -> str:
        retries = _retry_count(message.headers)
        error_type = type(exc).__name__
        code = exc.code if isinstance(exc, ProvisioningError) else "unexpected"
        if retries >= self._max_retries:
            await self._dead_letter(
                message, reason="retries_exhausted", error_type=error_type, code=code
            )
            return DEAD_LETTERED

        await asyncio.sleep(min(BACKOFF_BASE_S * 2**retries, BACKOFF_MAX_S))
        assert self._channel is not None
        await _restored(self._channel)
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                message.body,
                headers={**message.headers, RETRY_HEADER: retries + 1},
                content_type=message.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                reply_to=message.reply_to,
            ),
            routing_key=self._names.provisioning_queue,
        )
        await message.ack()
        log.warning(
            "message_requeued",
            retry_count=retries + 1,
            error_type=error_type,
            code=code,
            exc_info=not isinstance(exc, ProvisioningError),
        )
        return "requeued"

    async def _dead_letter(
        self, message: AbstractIncomingMessage, *, reason: str, **details: Any
    ) -> None:
        await message.reject(requeue=False)
        self._metrics.message_dead_lettered(reason)
        log.warning(
            "message_dead_lettered",
            reason=reason,
            queue=self._names.provisioning_queue,
            **details,
        )


async def _restored(channel: AbstractRobustChannel) -> None:
    """Waits out a reconnect's restore; raises TimeoutError if it never comes."""
    await asyncio.wait_for(channel.ready(), timeout=CHANNEL_RESTORE_WAIT_S)


def _retry_count(headers: dict[str, Any]) -> int:
    value = headers.get(RETRY_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0
