"""Plays the token service on a real RabbitMQ, for the provisioning bus tests."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import msgspec
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue

from provisioning_service.entrypoint import Service, build
from provisioning_service.settings import Settings
from tilt_shared.bus import LAUNCH_REDEEMED_KEY, BusNames
from tilt_shared.messages import LaunchRedeemed


@dataclass
class BusProbe:
    """Publishes launches like the token service and reads replies and dead letters."""

    connection: AbstractConnection
    channel: AbstractChannel
    names: BusNames
    seeded: dict[str, str]

    def redeemed(self, jti: str | None = None, **changes: Any) -> LaunchRedeemed:
        launch = LaunchRedeemed(
            jti=jti or uuid.uuid4().hex,
            partner_id=self.seeded["partner_id"],
            external_user_id="EMP-1",
            display_name="Ada",
            location_id=self.seeded["location_id"],
            role_slug="location_cashier",
            redeemed_at=datetime.now(UTC),
        )
        return msgspec.structs.replace(launch, **changes)

    async def started(self, settings: Settings, **fakes: Any) -> Service:
        service = await build(settings, **fakes)
        await service.start()
        return service

    async def request(
        self, names: BusNames, body: bytes, correlation_id: str
    ) -> tuple[AbstractQueue, str]:
        """Publish persistent with confirms, with a private reply queue."""
        replies = await self.channel.declare_queue(exclusive=True)
        exchange = await self.channel.get_exchange(names.exchange)
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=uuid.uuid4().hex,
                correlation_id=correlation_id,
                reply_to=replies.name,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=LAUNCH_REDEEMED_KEY,
        )
        return replies, correlation_id

    async def next_message(self, queue: AbstractQueue, timeout_s: float = 5) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                return message
            await asyncio.sleep(0.02)
        raise AssertionError(f"nothing arrived on {queue.name} within {timeout_s}s")

    async def dead_letters(self) -> list[bytes]:
        """Drains the dead-letter queue and returns the bodies it held."""
        queue = await self.channel.get_queue(self.names.dead_letter_queue)
        bodies = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            bodies.append(message.body)
        return bodies

    async def waiting(self) -> int:
        """Messages ready in the launch queue (not counting unacked ones)."""
        queue = await self.channel.declare_queue(
            self.names.provisioning_queue, passive=True
        )
        return int(queue.declaration_result.message_count or 0)
