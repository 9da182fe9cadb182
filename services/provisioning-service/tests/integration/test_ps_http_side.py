"""The provisioning HTTP side: probes, /metrics, and the trace it continues."""

import uuid
from typing import Any

import aio_pika
import httpx
import msgspec
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from prometheus_client.parser import text_string_to_metric_families
from ps_bus import BusProbe

from provisioning_service.entrypoint import build
from provisioning_service.settings import Settings
from testsupport.proxy import tcp_proxy
from tilt_shared.bus import LAUNCH_REDEEMED_KEY
from tilt_shared.messages import encode
from tilt_shared.settings import Secret

pytestmark = pytest.mark.integration
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def get(port: int | None, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        return await client.get(path, timeout=5)


def samples(text: str) -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[(sample.name, labels)] = sample.value
    return found


async def test_readyz_fails_while_postgresql_is_unreachable(
    settings: Settings, database_url: str
) -> None:
    """Cut the database behind a proxy: /readyz 503 naming it; /healthz stays 200."""
    with tcp_proxy(database_url) as proxy:
        through_proxy = msgspec.structs.replace(
            settings, database_url=Secret(proxy.url(database_url))
        )
        service = await build(through_proxy)
        await service.start()
        await service.start_http("127.0.0.1", 0)
        try:
            ready = await get(service.http_port, "/readyz")
            with proxy.down():
                unready = await get(service.http_port, "/readyz")
                alive = await get(service.http_port, "/healthz")
            again = await get(service.http_port, "/readyz")
        finally:
            await service.stop()

    assert ready.status_code == 200
    assert unready.status_code == 503
    assert unready.json()["checks"] == {"postgresql": False, "rabbitmq": True}
    assert unready.headers["cache-control"] == "no-store"
    assert alive.status_code == 200
    assert again.status_code == 200


async def test_metrics_count_outcomes_and_the_consumer_continues_the_trace(
    probe: BusProbe, settings: Settings, seeded: dict[str, str]
) -> None:
    """A traced launch and a poison message: counted by outcome, one span joined."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    service = await build(settings, tracing=provider)
    await service.start()
    await service.start_http("127.0.0.1", 0)
    launch = probe.redeemed()
    headers: dict[str, Any] = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}

    replies = await probe.channel.declare_queue(exclusive=True)
    exchange = await probe.channel.get_exchange(service.names.exchange)
    await exchange.publish(
        aio_pika.Message(
            encode(launch),
            headers=headers,
            correlation_id=launch.jti,
            message_id=uuid.uuid4().hex,
            reply_to=replies.name,
        ),
        routing_key=LAUNCH_REDEEMED_KEY,
    )
    await probe.next_message(replies)
    await probe.request(service.names, b"\x00poison", "c-1")
    await probe.next_message(
        await probe.channel.get_queue(service.names.dead_letter_queue)
    )
    scraped = await get(service.http_port, "/metrics")
    await service.stop()

    found = samples(scraped.text)
    assert found[("provisioning_messages_total", "outcome=provisioned")] == 1
    assert found[("provisioning_messages_total", "outcome=dead_lettered")] == 1
    assert found[("provisioning_dead_lettered_total", "reason=undecodable")] == 1
    histogram = ("provisioning_message_seconds_count", "outcome=provisioned")
    assert found[histogram] == 1
    traced = [
        span
        for span in spans.get_finished_spans()
        if span.context is not None and f"{span.context.trace_id:032x}" == TRACE_ID
    ]
    assert [span.name for span in traced] == ["launch.redeemed process"]
    assert traced[0].attributes == {"provisioning.outcome": "provisioned"}
