"""Integration tests: the consumer trusts nothing that arrives on the bus.

Each message here once got through: decoded whole, stored, echoed back, or
retried as if the database were at fault. Now each is dead-lettered at once,
with its reason on the dead-letter copy, and nothing is written.
"""

import asyncio
import uuid
from typing import Any

import msgspec
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from ps_bus import BusProbe
from ps_rows import partner_rows_at
from structlog.testing import capture_logs

from provisioning_service.adapters.inbound.aio_pika_dead_letters import (
    DETAIL_HEADER,
    REASON_HEADER,
    AioPikaDeadLetters,
)
from provisioning_service.adapters.inbound.aio_pika_launch_consumer import (
    MAX_BODY_BYTES,
)
from provisioning_service.domain.errors import StoreUnavailable
from provisioning_service.domain.launch import Launch, Provisioned, Rejection
from provisioning_service.entrypoint import Service
from provisioning_service.settings import Settings
from tilt_shared.bus import LAUNCH_REDEEMED_KEY
from tilt_shared.messages import ProvisioningRejected, decode_reply, encode

pytestmark = pytest.mark.integration

# What a fresh-eyes tester sent, each accepted and written before.
CONTRACT_BREAKS: dict[str, dict[str, Any]] = {
    "display_name_of_10k_chars": {"display_name": "n" * 10_000},
    "external_user_id_with_control_and_spaces": {"external_user_id": " EMP\x07-1 "},
    "schema_version_0": {"schema_version": 0},
    "schema_version_negative": {"schema_version": -7},
    "redeemed_at_without_zone": {"redeemed_at": "2026-05-12T10:30:00"},
    "redeemed_at_year_1": {"redeemed_at": "0001-01-01T00:00:00Z"},
    "jti_of_12k_chars": {"jti": "j" * 12_000},
}


def _body(probe: BusProbe, **fields: Any) -> bytes:
    """A launch's body with `fields` replaced; a None value drops the key."""
    body = msgspec.json.decode(encode(probe.redeemed()))
    body.update(fields)
    return msgspec.json.encode({k: v for k, v in body.items() if v is not None})


async def _dead_letter(probe: BusProbe, service: Service) -> AbstractIncomingMessage:
    queue = await probe.channel.get_queue(service.names.dead_letter_queue)
    message: AbstractIncomingMessage = await probe.next_message(queue)
    return message


async def _no_reply(replies: AbstractQueue) -> bool:
    await asyncio.sleep(0.3)  # replies travel unconfirmed, on their own channel
    return await replies.get(no_ack=True, fail=False) is None


@pytest.mark.parametrize("fields", CONTRACT_BREAKS.values(), ids=CONTRACT_BREAKS)
async def test_a_launch_breaking_the_contract_is_refused_and_dead_lettered(
    probe: BusProbe, settings: Settings, database_url: str, fields: dict[str, Any]
) -> None:
    service = await probe.started(settings)
    body = _body(probe, **fields)
    correlation_id = uuid.uuid4().hex

    replies, _ = await probe.request(service.names, body, correlation_id)
    reply = await probe.next_message(replies)
    dead = await _dead_letter(probe, service)
    await service.stop()

    rejected = decode_reply(reply.body)
    assert isinstance(rejected, ProvisioningRejected)
    assert rejected.code == "launch_invalid"
    assert reply.correlation_id == correlation_id
    assert dead.body == body
    assert dead.headers[REASON_HEADER] == "launch_invalid"
    assert await probe.dead_letters() == []
    assert await partner_rows_at(database_url, probe.seeded["partner_id"]) == (0, 0, 0)


async def test_an_oversized_body_is_dead_lettered_before_decoding(
    probe: BusProbe, settings: Settings, database_url: str
) -> None:
    """A 1 MiB display name once was decoded, stored and echoed back."""
    service = await probe.started(settings)
    body = _body(probe, display_name="n" * 2**20)

    with capture_logs() as logs:
        replies, _ = await probe.request(service.names, body, "c-1")
        dead = await _dead_letter(probe, service)
    await service.stop()

    assert dead.body == body
    assert dead.headers[REASON_HEADER] == "too_large"
    assert str(MAX_BODY_BYTES) in str(dead.headers[DETAIL_HEADER])
    assert await _no_reply(replies)
    assert await partner_rows_at(database_url, probe.seeded["partner_id"]) == (0, 0, 0)
    assert [log["reason"] for log in logs if log["event"] == "message_dead_lettered"]


async def test_a_body_without_its_type_is_undecodable(
    probe: BusProbe, settings: Settings, database_url: str
) -> None:
    service = await probe.started(settings)
    body = _body(probe, type=None)

    replies, _ = await probe.request(service.names, body, "c-1")
    dead = await _dead_letter(probe, service)
    await service.stop()

    assert dead.headers[REASON_HEADER] == "undecodable"
    assert "type" in str(dead.headers[DETAIL_HEADER])
    assert await _no_reply(replies)
    assert await partner_rows_at(database_url, probe.seeded["partner_id"]) == (0, 0, 0)


class DownStore:
    """A database that is never back."""

    async def provision(self, launch: Launch) -> Provisioned | Rejection:
        raise StoreUnavailable("database down")


async def test_a_dead_letter_keeps_the_original_properties_and_names_its_reason(
    probe: BusProbe, settings: Settings, in_memory_directory: Any
) -> None:
    service = await probe.started(
        settings, store=DownStore(), directory=in_memory_directory
    )
    launch = probe.redeemed()

    replies, _ = await probe.request(service.names, encode(launch), launch.jti)
    dead = await _dead_letter(probe, service)
    await service.stop()

    assert dead.headers[REASON_HEADER] == "retries_exhausted"
    assert "store_unavailable" in str(dead.headers[DETAIL_HEADER])
    assert dead.headers["x-retry-count"] == settings.max_retries
    assert "x-death" not in dead.headers  # our copy, not the broker's
    assert (dead.correlation_id, dead.reply_to) == (launch.jti, replies.name)
    assert dead.routing_key == service.names.provisioning_queue  # the retry's key
    assert dead.delivery_mode == 2  # persistent
    assert await probe.dead_letters() == []


async def test_a_first_delivery_keeps_its_routing_key_on_the_dead_letter(
    probe: BusProbe, settings: Settings
) -> None:
    service = await probe.started(settings)

    await probe.request(service.names, b"\x00garbage", "c-1")
    dead = await _dead_letter(probe, service)
    await service.stop()

    assert dead.routing_key == LAUNCH_REDEEMED_KEY
    assert dead.headers[REASON_HEADER] == "undecodable"


async def test_when_the_copy_fails_the_broker_dead_letters_the_original(
    probe: BusProbe, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is lost: the reject fallback still parks it, only without reason."""

    async def copy_refused(*args: Any) -> None:
        raise TimeoutError

    monkeypatch.setattr(AioPikaDeadLetters, "_publish", copy_refused)
    service = await probe.started(settings)

    with capture_logs() as logs:
        await probe.request(service.names, b"\x00garbage", "c-1")
        dead = await _dead_letter(probe, service)
    await service.stop()

    assert dead.body == b"\x00garbage"
    assert REASON_HEADER not in dead.headers
    assert dead.headers["x-death"]
    assert "dead_letter_copy_failed" in [log["event"] for log in logs]
    assert await probe.dead_letters() == []
