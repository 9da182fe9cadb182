"""Copies of an incoming launch message: the retry copy and the dead letter.

Both are persistent copies published on the consumer's confirmed channel,
so the original is acknowledged only once its copy is safe with the broker.
"""

import asyncio
from typing import Any, Final

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
)

from provisioning_service.application.metrics import ConsumerMetrics

RETRY_HEADER: Final = "x-retry-count"
REASON_HEADER: Final = "x-dead-letter-reason"
DETAIL_HEADER: Final = "x-dead-letter-detail"
DETAIL_MAX_CHARS: Final = 200
CHANNEL_RESTORE_WAIT_S: Final = 5.0

log = structlog.get_logger(__name__)


class AioPikaDeadLetters:
    """Parks messages on the dead-letter exchange with the reason they failed."""

    def __init__(
        self,
        channel: AbstractRobustChannel,
        exchange: AbstractExchange,
        metrics: ConsumerMetrics,
        queue_name: str,
    ) -> None:
        self._channel = channel
        self._exchange = exchange
        self._metrics = metrics
        self._queue_name = queue_name

    async def park(
        self,
        message: AbstractIncomingMessage,
        *,
        reason: str,
        detail: str,
        **details: Any,
    ) -> None:
        """Publishes a copy with the reason headers, then acks the original.

        If the copy cannot be published the original is rejected without
        requeue, and the broker's own dead-lettering keeps it, without the
        reason headers.
        """
        detail = detail[:DETAIL_MAX_CHARS]
        try:
            await self._publish(message, reason, detail)
        except Exception:
            log.warning("dead_letter_copy_failed", reason=reason, exc_info=True)
            await message.reject(requeue=False)
        else:
            await message.ack()

        self._metrics.message_dead_lettered(reason)
        log.warning(
            "message_dead_lettered",
            reason=reason,
            error=detail,
            queue=self._queue_name,
            **details,
        )

    async def _publish(
        self, message: AbstractIncomingMessage, reason: str, detail: str
    ) -> None:
        await restored(self._channel)
        headers = {**message.headers, REASON_HEADER: reason, DETAIL_HEADER: detail}
        await self._exchange.publish(
            copy_of(message, headers),
            routing_key=message.routing_key or "",
            mandatory=True,
            timeout=CHANNEL_RESTORE_WAIT_S,
        )


async def restored(channel: AbstractRobustChannel) -> None:
    """Waits out a reconnect's restore; raises TimeoutError if it never comes."""
    await asyncio.wait_for(channel.ready(), timeout=CHANNEL_RESTORE_WAIT_S)


def copy_of(
    message: AbstractIncomingMessage, headers: dict[str, Any]
) -> aio_pika.Message:
    """A persistent copy of `message` under `headers`, its other properties kept.

    Not `expiration`, which would let the copy lapse, nor `user_id`, which
    RabbitMQ refuses unless it names our own connection's user.
    """
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )


def retry_count(headers: dict[str, Any]) -> int:
    value = headers.get(RETRY_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0
