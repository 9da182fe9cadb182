"""AMQP inbound adapter: consumes `launch.redeemed`, replies with the outcome.

Policy, per message (DESIGN §7.1):

- A body over `MAX_BODY_BYTES` (`too_large`), checked before any decoding;
  bytes that are not a `launch.redeemed` of a known schema version
  (`undecodable`); a launch that breaks the contract, on the wire or in the
  domain (`launch_invalid`): dead-lettered at once. An invalid launch still
  gets a `ProvisioningRejected` reply so the token service does not wait for
  its timeout; the others are not launches anyone can be waiting for.
- Any other failure (database down, deadlock, timeout, a bug): republish a
  copy to the back of the queue with `x-retry-count` + 1 after a short
  backoff, then ack the original; at `max_retries` the message is
  dead-lettered instead (`retries_exhausted`). A poison message therefore
  never blocks the queue.
- Dead-lettering publishes a persistent copy to the dead-letter exchange,
  confirmed, with the original routing key, headers and properties plus
  `x-dead-letter-reason` (one of the reasons above) and
  `x-dead-letter-detail` (the error, truncated), then acks the original. If
  that copy cannot be published, the original is rejected without requeue
  and the broker dead-letters it itself, without the reason headers. A
  channel lost between copy and ack redelivers the original, so a dead
  letter may be parked twice, never lost.
- A launch written too late for its asker (`provision_by` passed, ADR
  0007): nothing was written; the message is acked without a reply.
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
from typing import Final

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from opentelemetry.trace import Tracer

from provisioning_service.adapters.inbound.aio_pika_dead_letters import (
    RETRY_HEADER,
    AioPikaDeadLetters,
    copy_of,
    restored,
    retry_count,
)
from provisioning_service.adapters.inbound.aio_pika_shutdown import bounded
from provisioning_service.adapters.inbound.aio_pika_topology import (
    declare_dead_letters,
    declare_launch_queue,
)
from provisioning_service.adapters.inbound.msgspec_launch_wire import (
    launch_of,
    reply_of,
)
from provisioning_service.application.metrics import ConsumerMetrics, NoMetrics
from provisioning_service.domain.errors import InvalidLaunch, ProvisioningError
from provisioning_service.domain.launch import Abandoned, Launch, Outcome, Rejection
from tilt_shared.bus import BusNames
from tilt_shared.messages import (
    MessageDecodeError,
    MessageInvalid,
    ProvisioningRejected,
    ProvisioningResult,
    decode_launch_redeemed,
    encode,
)
from tilt_shared.telemetry import consumer_span

# A real launch is well under 1 KiB; the partner API caps its request at the
# same 16 KiB (DESIGN §3.2), so no valid launch can grow past it.
MAX_BODY_BYTES: Final = 16 * 1024
BACKOFF_BASE_S: Final = 0.1
BACKOFF_MAX_S: Final = 2.0
DEAD_LETTERED: Final = "dead_lettered"

log = structlog.get_logger(__name__)

ProvisionUseCase = Callable[[Launch], Awaitable[Outcome]]


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
        self._dead_letters: AioPikaDeadLetters | None = None
        self._consumer_tag: str | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self, connection: AbstractRobustConnection) -> None:
        # A copy the broker cannot route must fail its publish, not vanish.
        self._channel = await connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._replies = await connection.channel(publisher_confirms=False)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await declare_launch_queue(self._channel, self._names)
        self._dead_letters = AioPikaDeadLetters(
            self._channel,
            await declare_dead_letters(self._channel, self._names),
            self._metrics,
            self._names.provisioning_queue,
        )
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
        size = len(message.body)
        if size > MAX_BODY_BYTES:
            detail = f"expected at most {MAX_BODY_BYTES} bytes, got {size}"
            await self._dead_letter(message, reason="too_large", detail=detail)
            return DEAD_LETTERED
        try:
            wire = decode_launch_redeemed(message.body)
        except MessageInvalid as exc:
            invalid = InvalidLaunch(str(exc))
            return await self._refuse(message, message.correlation_id or "", invalid)
        except MessageDecodeError as exc:
            await self._dead_letter(message, reason="undecodable", detail=str(exc))
            return DEAD_LETTERED
        structlog.contextvars.bind_contextvars(correlation_id=wire.jti)

        try:
            outcome = await self._provision(launch_of(wire))
        except InvalidLaunch as exc:
            return await self._refuse(message, wire.jti, exc)
        except Exception as exc:  # transient or unknown: bounded retries decide
            return await self._retry_or_dead_letter(message, exc)

        if isinstance(outcome, Abandoned):
            # Its asker gave up; a retry of the same link waits under the same
            # correlation id, and this answer must not be taken for its own.
            await message.ack()
            return "abandoned"

        try:
            await self._reply(message, reply_of(outcome))
        except Exception as exc:  # no reply channel: the redelivery replies
            return await self._retry_or_dead_letter(message, exc)
        await message.ack()
        return "rejected" if isinstance(outcome, Rejection) else "provisioned"

    async def _refuse(
        self, message: AbstractIncomingMessage, jti: str, exc: InvalidLaunch
    ) -> str:
        """Tells the asker no retry can help, then dead-letters the launch."""
        try:
            await self._reply(message, ProvisioningRejected(jti=jti, code=exc.code))
        except Exception:  # a courtesy: the asker's timeout covers its loss
            log.warning("reply_lost", code=exc.code, exc_info=True)
        await self._dead_letter(message, reason=exc.code, detail=str(exc))
        return DEAD_LETTERED

    async def _reply(
        self,
        message: AbstractIncomingMessage,
        reply: ProvisioningResult | ProvisioningRejected,
    ) -> None:
        if not message.reply_to:
            log.info("reply_skipped", reason="no_reply_to")
            return
        assert self._replies is not None
        await restored(self._replies)
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
        retries = retry_count(message.headers)
        error_type = type(exc).__name__
        code = exc.code if isinstance(exc, ProvisioningError) else "unexpected"
        if retries >= self._max_retries:
            detail = f"{code} ({error_type}) after {retries} retries"
            await self._dead_letter(
                message,
                reason="retries_exhausted",
                detail=detail,
                error_type=error_type,
                code=code,
            )
            return DEAD_LETTERED

        await asyncio.sleep(min(BACKOFF_BASE_S * 2**retries, BACKOFF_MAX_S))
        assert self._channel is not None
        await restored(self._channel)
        await self._channel.default_exchange.publish(
            copy_of(message, {**message.headers, RETRY_HEADER: retries + 1}),
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
        self,
        message: AbstractIncomingMessage,
        *,
        reason: str,
        detail: str,
        **fields: str,
    ) -> None:
        assert self._dead_letters is not None
        await self._dead_letters.park(message, reason=reason, detail=detail, **fields)
