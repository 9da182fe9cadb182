"""Tracing and metrics set-up both services share: W3C context over AMQP, exposition.

Tracing is off unless a service asks for a provider; with none, every helper
here is a cheap no-op. Trace context crosses the bus as W3C `traceparent`
and `tracestate` AMQP headers, so one launch is one trace across both
services. No business rules live here.
"""

import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

EXPORTERS: Final = ("otlp", "console")
# Dependency calls take milliseconds and a redemption up to the provisioning
# timeout plus Cognito's budget: 1 ms to 20 s covers both ends.
LATENCY_BUCKETS_S: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
)
_W3C: Final = TraceContextTextMapPropagator()


class _AmqpHeaders(Getter[Mapping[str, Any]]):
    """Reads AMQP header values, which arrive as str or bytes."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return list(carrier)


_AMQP_GETTER: Final = _AmqpHeaders()


def tracer_provider(
    service: str, exporter: str = "otlp", endpoint: str = ""
) -> TracerProvider:
    """An SDK provider batching spans to OTLP/HTTP (`endpoint`) or to stdout.

    With no `endpoint`, the OTLP exporter reads OTEL_EXPORTER_OTLP_* itself.
    Call `shutdown()` on it at exit so the last batch is sent.
    """
    if exporter not in EXPORTERS:
        raise ValueError(f"expected an exporter in {EXPORTERS}, got {exporter!r}")
    sink: SpanExporter
    if exporter == "console":
        # stderr: stdout carries the JSON log lines, one per line.
        sink = ConsoleSpanExporter(service_name=service, out=sys.stderr)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        sink = OTLPSpanExporter(endpoint=endpoint or None)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(sink))
    return provider


def inject_trace_context(headers: MutableMapping[str, Any]) -> None:
    """Write the current span's W3C context into outgoing message headers."""
    _W3C.inject(headers)


def extracted_context(headers: Mapping[str, Any] | None) -> Context:
    """The W3C context a message carried, or an empty one."""
    return _W3C.extract(headers or {}, getter=_AMQP_GETTER)


@contextmanager
def consumer_span(
    tracer: Tracer, name: str, headers: Mapping[str, Any] | None
) -> Iterator[Span]:
    """A current span continuing the trace a consumed message carried."""
    with tracer.start_as_current_span(
        name, context=extracted_context(headers), kind=SpanKind.CONSUMER
    ) as span:
        yield span


def tracer_of(provider: TracerProvider | None, name: str) -> Tracer | None:
    """The tracer of `provider`; None when tracing is off."""
    return provider.get_tracer(name) if provider is not None else None


def metrics_exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
