"""AMQP outbound adapter of `DirectoryEvents`: `directory.partner_changed` (§7.2).

Each change goes to the launch exchange under routing key
`directory.partner_changed`, JSON, persistent, with a fresh `message_id`,
and is confirmed by the broker before the next one is sent, so the token
services receive them in version order. Used by the operators' CLI, one
connection per command.
"""

import uuid
from typing import Final

import aio_pika

from provisioning_service.domain.directory import DirectoryChange, PartnerListing
from provisioning_service.domain.errors import BusUnavailable
from tilt_shared.bus import DIRECTORY_PARTNER_CHANGED_KEY, BusNames
from tilt_shared.messages import DirectoryPartnerChanged, PartnerEntry, encode

CONNECT_TIMEOUT_S: Final = 5.0


class AioPikaDirectoryEvents:
    """Publishes committed directory changes with publisher confirms."""

    def __init__(self, amqp_url: str, names: BusNames) -> None:
        self._amqp_url = amqp_url
        self._names = names

    async def publish(self, changes: list[DirectoryChange]) -> None:
        if not changes:
            return
        try:
            connection = await aio_pika.connect(
                self._amqp_url, timeout=CONNECT_TIMEOUT_S
            )
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                exchange = await channel.declare_exchange(
                    self._names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
                )
                for change in changes:
                    await exchange.publish(
                        _message(change), routing_key=DIRECTORY_PARTNER_CHANGED_KEY
                    )
        except (OSError, aio_pika.exceptions.AMQPError, TimeoutError) as exc:
            raise BusUnavailable(f"{type(exc).__name__}: {exc}") from exc


def partner_entry(partner: PartnerListing) -> PartnerEntry:
    """The wire form of one partner, shared by events and snapshots."""
    return PartnerEntry(
        partner_id=partner.partner_id,
        status=str(partner.status),
        location_ids=sorted(partner.location_ids),
        replace_display_name=partner.replace_display_name,
    )


def _message(change: DirectoryChange) -> aio_pika.Message:
    event = DirectoryPartnerChanged(
        version=change.version,
        epoch=change.epoch,
        partner=partner_entry(change.partner),
    )
    return aio_pika.Message(
        encode(event),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=uuid.uuid4().hex,
    )
