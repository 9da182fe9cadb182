"""Splits each redemption's server time into Cognito and the product's own share.

Input: the JSON log lines of `bench.timed_token_service` at DEBUG level. Per
`request_id`: `request_handled` gives path and status, `request_timed` the
server-side duration, and every `cognito_call_completed` its `elapsed_ms`.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.loadgen import percentile


@dataclass
class _Request:
    path: str = ""
    status: int = 0
    duration_ms: float | None = None
    cognito_ms: float = 0.0
    cognito_calls: int = 0


@dataclass(frozen=True)
class Split:
    """Ascending per-redemption times in milliseconds."""

    total_ms: list[float] = field(default_factory=list)
    cognito_ms: list[float] = field(default_factory=list)
    product_ms: list[float] = field(default_factory=list)

    def percentiles(self, values: list[float]) -> tuple[float, float, float]:
        return tuple(percentile(values, p) for p in (50, 90, 99))  # type: ignore[return-value]


def _events(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for line in lines:
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def split_redemptions(lines: Iterable[str], status: int = 303) -> Split:
    """Redemptions (`/launch` answered `status`) that have a timing line."""
    requests: dict[str, _Request] = defaultdict(_Request)
    for event in _events(lines):
        request_id = event.get("request_id")
        if not request_id:
            continue
        seen = requests[request_id]
        name = event.get("event")
        if name == "request_handled":
            seen.path, seen.status = str(event["path"]), int(event["status"])
        elif name == "request_timed":
            seen.duration_ms = float(event["duration_ms"])
        elif name == "cognito_call_completed":
            seen.cognito_ms += float(event["elapsed_ms"])
            seen.cognito_calls += 1

    chosen = [
        seen
        for seen in requests.values()
        if seen.path == "/launch"
        and seen.status == status
        and seen.duration_ms is not None
    ]
    totals = sorted(seen.duration_ms or 0.0 for seen in chosen)
    cognito = sorted(seen.cognito_ms for seen in chosen)
    product = sorted((seen.duration_ms or 0.0) - seen.cognito_ms for seen in chosen)
    return Split(totals, cognito, product)
