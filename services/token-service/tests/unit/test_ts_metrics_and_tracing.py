"""What operators see: /metrics after launches, and the spans of one redemption."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from token_fakes import LOCATION_1, LOCATION_2, TEST_BASE_URL, FakeWorld, make_settings

from token_service.entrypoint import create_app

P1 = {"Authorization": "Bearer p1"}
BODY = {"external_user_id": "EMP-1", "display_name": "Ann", "location_id": LOCATION_1}


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def client(
    spans: InMemorySpanExporter,
) -> AsyncIterator[AsyncTestClient[Any]]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = create_app(
        make_settings(), overrides=FakeWorld().adapters(), tracing=provider
    )
    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as test_client:
        yield test_client
    provider.shutdown()


async def scrape(client: AsyncTestClient[Any]) -> dict[tuple[str, str], float]:
    """Every sample of /metrics, keyed by name and its labels as text."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("text/plain; version=")
    assert content_type.count("charset=") == 1
    samples: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[(sample.name, labels)] = sample.value
    return samples


async def mint(client: AsyncTestClient[Any], **body: object) -> str:
    response = await client.post(
        "/pos/v1/launch-tokens", json={**BODY, **body}, headers=P1
    )
    assert response.status_code == 201, response.text
    return str(response.json()["launch_url"])


async def test_metrics_count_mints_redemptions_and_rejections(
    client: AsyncTestClient[Any],
) -> None:
    """One launch, one replay, two refused mints: each counter moves by one."""
    url = await mint(client)
    await client.get(url, follow_redirects=False)
    client.cookies.clear()
    await client.get(url, follow_redirects=False)
    await client.post("/pos/v1/launch-tokens", json=BODY)
    await client.post(
        "/pos/v1/launch-tokens", json={**BODY, "location_id": LOCATION_2}, headers=P1
    )

    samples = await scrape(client)

    assert samples[("token_service_launches_minted_total", "")] == 1
    assert samples[("token_service_launches_redeemed_total", "")] == 1
    rejected = ("token_service_launches_rejected_total", "reason=launch_token_used")
    assert samples[rejected] == 1
    refused = "token_service_mints_refused_total"
    assert samples[(refused, "code=invalid_token")] == 1
    assert samples[(refused, "code=location_not_permitted")] == 1
    assert samples[("token_service_mint_seconds_count", "")] == 3
    assert samples[("token_service_redemption_seconds_count", "")] == 2
    claims = "dependency=redis,operation=claim,outcome=ok"
    assert samples[("token_service_dependency_seconds_count", claims)] == 2


async def test_metrics_labels_stay_bounded_whatever_the_users(
    client: AsyncTestClient[Any],
) -> None:
    """Many users and links add samples to the same series, never new series."""
    await client.get(await mint(client, external_user_id="EMP-A"))
    before = set(await scrape(client))

    for n in range(5):
        client.cookies.clear()
        await client.get(await mint(client, external_user_id=f"EMP-{n}"))

    assert set(await scrape(client)) == before


async def test_a_redemption_is_one_trace_with_a_span_per_dependency_call(
    client: AsyncTestClient[Any], spans: InMemorySpanExporter
) -> None:
    """The GET /launch server span parents the Redis calls of that redemption."""
    url = await mint(client)
    spans.clear()

    await client.get(url, follow_redirects=False)

    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind == SpanKind.SERVER]
    assert [s.name for s in server] == ["GET /launch"]
    root = server[0]
    assert root.attributes is not None
    assert root.attributes["http.response.status_code"] == 303
    children = {s.name for s in finished if s.parent is not None}
    assert {"redis claim", "redis save", "redis complete"} <= children
    for span in finished:
        assert span.context is not None
        assert root.context is not None
        assert span.context.trace_id == root.context.trace_id


async def test_an_incoming_traceparent_is_continued(
    client: AsyncTestClient[Any], spans: InMemorySpanExporter
) -> None:
    """A caller's W3C context makes the request's span a child of the caller's."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = f"00-{trace_id}-00f067aa0ba902b7-01"

    await client.get("/healthz", headers={"traceparent": parent})

    (span,) = spans.get_finished_spans()
    assert span.context is not None
    assert f"{span.context.trace_id:032x}" == trace_id
    assert span.name == "GET /healthz"
