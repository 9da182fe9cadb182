"""`ConsumerMetrics` on prometheus-client: the series the HTTP side's /metrics serves.

Each instance owns its registry, so services built side by side in tests
never share counters. No label takes a per-user, per-partner or per-link value.
"""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from tilt_shared.telemetry import LATENCY_BUCKETS_S, metrics_exposition

NAMESPACE: Final = "provisioning"


class PrometheusMetrics:
    """The provisioning service's counters and its provisioning histogram."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._messages = Counter(
            "messages",
            "launch.redeemed messages settled, by outcome.",
            ["outcome"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self._dead_lettered = Counter(
            "dead_lettered",
            "Messages sent to the dead-letter queue, by reason.",
            ["reason"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self._seconds = Histogram(
            "message_seconds",
            "Time from a message's delivery to its settlement, by outcome.",
            ["outcome"],
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=LATENCY_BUCKETS_S,
        )

    def message_processed(self, outcome: str, seconds: float) -> None:
        self._messages.labels(outcome).inc()
        self._seconds.labels(outcome).observe(seconds)

    def message_dead_lettered(self, reason: str) -> None:
        self._dead_lettered.labels(reason).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text /metrics answers with, and its content type."""
        return metrics_exposition(self.registry)
