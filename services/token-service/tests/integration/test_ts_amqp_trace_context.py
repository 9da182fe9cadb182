"""Trace context and provisioning outcomes of the AMQP client, on a real RabbitMQ."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind

from tilt_shared.bus import LAUNCH_REDEEMED_KEY, BusNames
from tilt_shared.messages import ProvisioningRejected, encode
from tilt_shared.telemetry import consumer_span
from token_service.adapters.outbound.aio_pika_provisioning_client import (
    AioPikaProvisioningClient,
)
from token_service.adapters.outbound.prometheus_metrics import PrometheusMetrics
from token_service.application.ports import DependencyUnavailable
from token_service.domain.provisioning import ProvisioningRejection, RedeemedLaunch

pytestmark = pytest.mark.integration


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(spans: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    amqp_url: str, unique_prefix: str, provider: TracerProvider
) -> AsyncIterator[tuple[AioPikaProvisioningClient, PrometheusMetrics, BusNames]]:
    names = BusNames.with_prefix(f"{unique_prefix}otel-{uuid.uuid4().hex[:6]}.")
    metrics = PrometheusMetrics()
    tracer = provider.get_tracer("test")
    client = AioPikaProvisioningClient(amqp_url, names, metrics, tracer)
    await client.start()
    yield client, metrics, names
    await client.close()
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.exchange_delete(names.exchange)
    await connection.close()


def launch() -> RedeemedLaunch:
    return RedeemedLaunch(
        jti=uuid.uuid4().hex,
        partner_id="p1",
        external_user_id="EMP-1",
        display_name=None,
        location_id=str(uuid.uuid4()),
        role_slug="location_cashier",
        redeemed_at=datetime.now(UTC),
    )


async def bound_queue(
    amqp_url: str, names: BusNames
) -> tuple[AbstractConnection, AbstractChannel, AbstractQueue]:
    """An exclusive queue that receives every `launch.redeemed` of this test."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(names.exchange)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key=LAUNCH_REDEEMED_KEY)
    return connection, channel, queue


def outcome(metrics: PrometheusMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(
        "token_service_provisioning_outcomes_total", {"outcome": name}
    )


async def test_the_redemption_message_carries_the_trace_and_provisioning_continues_it(
    client: tuple[AioPikaProvisioningClient, PrometheusMetrics, BusNames],
    amqp_url: str,
    provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    """`traceparent` rides in the headers; the consumer's span joins that trace."""
    bus, metrics, names = client
    connection, channel, spy = await bound_queue(amqp_url, names)
    tracer = provider.get_tracer("test")

    with tracer.start_as_current_span("GET /launch") as request_span:
        call = asyncio.create_task(bus.provision(launch(), timeout_s=5))
        async with spy.iterator() as messages:
            async for message in messages:
                await message.ack()
                break
        with consumer_span(tracer, "launch.redeemed process", message.headers):
            rejected = ProvisioningRejected(
                jti="x", code="location_not_permitted", message=""
            )
            await channel.default_exchange.publish(
                aio_pika.Message(
                    encode(rejected), correlation_id=message.correlation_id
                ),
                routing_key=message.reply_to or "",
            )
        answer = await call
    await connection.close()

    trace_id = f"{request_span.get_span_context().trace_id:032x}"
    assert str(message.headers["traceparent"]).split("-")[1] == trace_id
    by_name = {span.name: span for span in spans.get_finished_spans()}
    publish = by_name["launch.redeemed publish"]
    consumed = by_name["launch.redeemed process"]
    assert publish.kind == SpanKind.PRODUCER
    assert consumed.kind == SpanKind.CONSUMER
    assert consumed.parent is not None
    assert publish.context is not None
    assert consumed.parent.span_id == publish.context.span_id
    assert isinstance(answer, ProvisioningRejection)
    assert outcome(metrics, "rejected") == 1


async def test_no_answer_counts_as_a_provisioning_timeout(
    client: tuple[AioPikaProvisioningClient, PrometheusMetrics, BusNames],
    amqp_url: str,
) -> None:
    """A bound queue nobody serves: the call times out and is counted as such."""
    bus, metrics, names = client
    connection, _, _ = await bound_queue(amqp_url, names)

    with pytest.raises(DependencyUnavailable):
        await bus.provision(launch(), timeout_s=0.3)
    await connection.close()

    assert outcome(metrics, "timeout") == 1
    seconds = metrics.registry.get_sample_value(
        "token_service_dependency_seconds_count",
        {
            "dependency": "provisioning",
            "operation": LAUNCH_REDEEMED_KEY,
            "outcome": "timeout",
        },
    )
    assert seconds == 1
