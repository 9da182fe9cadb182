"""`LaunchMetrics` on prometheus-client: the series `/metrics` serves.

Each instance owns its registry, so apps built side by side in tests never
share counters. Labels take values from bounded sets only (error codes,
operation and dependency names); nothing per user, partner or link.
"""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from tilt_shared.telemetry import LATENCY_BUCKETS_S, metrics_exposition
from token_service.application.metrics import MINTED, REDEEMED, REOPENED, REPLAYED

NAMESPACE: Final = "token_service"


class PrometheusMetrics:
    """The token service's counters and latency histograms."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, ns, buckets = self.registry, NAMESPACE, LATENCY_BUCKETS_S
        self._minted = Counter(
            "launches_minted", "Launch links minted.", namespace=ns, registry=r
        )
        self._mint_refused = Counter(
            "mints_refused",
            "Mint requests refused, by error code.",
            ["code"],
            namespace=ns,
            registry=r,
        )
        self._redeemed = Counter(
            "launches_redeemed",
            "Launch links redeemed into a new session.",
            namespace=ns,
            registry=r,
        )
        self._rejected = Counter(
            "launches_rejected",
            "Launch links refused at opening, by reason (error code).",
            ["reason"],
            namespace=ns,
            registry=r,
        )
        self._provisioning = Counter(
            "provisioning_outcomes",
            "Provisioning answers as the token service saw them.",
            ["outcome"],
            namespace=ns,
            registry=r,
        )
        self._cognito = Counter(
            "cognito_calls",
            "Cognito API calls, by operation and outcome (ok or error code).",
            ["operation", "outcome"],
            namespace=ns,
            registry=r,
        )
        self._mint_seconds = Histogram(
            "mint_seconds",
            "Time to answer a mint request, any outcome.",
            namespace=ns,
            registry=r,
            buckets=buckets,
        )
        self._redemption_seconds = Histogram(
            "redemption_seconds",
            "Time to answer the opening of a launch link, any outcome.",
            namespace=ns,
            registry=r,
            buckets=buckets,
        )
        self._dependency_seconds = Histogram(
            "dependency_seconds",
            "Time of one call to a dependency, by dependency, operation, outcome.",
            ["dependency", "operation", "outcome"],
            namespace=ns,
            registry=r,
            buckets=buckets,
        )

    def mint_finished(self, outcome: str, seconds: float) -> None:
        self._mint_seconds.observe(seconds)
        if outcome == MINTED:
            self._minted.inc()
        elif outcome != REPLAYED:
            self._mint_refused.labels(outcome).inc()

    def redemption_finished(self, outcome: str, seconds: float) -> None:
        self._redemption_seconds.observe(seconds)
        if outcome == REDEEMED:
            self._redeemed.inc()
        elif outcome != REOPENED:
            self._rejected.labels(outcome).inc()

    def provisioning_answered(self, outcome: str) -> None:
        self._provisioning.labels(outcome).inc()

    def cognito_called(self, operation: str, outcome: str, seconds: float) -> None:
        self._cognito.labels(operation, outcome).inc()
        self._dependency_seconds.labels("cognito", operation, outcome).observe(seconds)

    def dependency_called(
        self, dependency: str, operation: str, outcome: str, seconds: float
    ) -> None:
        self._dependency_seconds.labels(dependency, operation, outcome).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text `/metrics` answers with, and its content type."""
        return metrics_exposition(self.registry)
