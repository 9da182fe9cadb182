"""One line of the bench report, and the scale of a run read from BENCH_* vars."""

import os
from dataclasses import dataclass

from bench.loadgen import LoadResult


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class Scale:
    """How long and how hard: every field has a BENCH_<FIELD> variable."""

    duration_s: float = 8
    connections: int = 32
    mint_rate: int = 1000
    redeem_rate: int = 200
    users: int = 300
    redeem_links: int = 3000
    messages: int = 2000
    cognito_launches: int = 20
    soak_launches: int = 0

    @classmethod
    def from_env(cls) -> "Scale":
        values = {
            name: type(default)(_env(f"BENCH_{name.upper()}", default))
            for name, default in vars(cls()).items()
        }
        return cls(**values)


@dataclass(frozen=True)
class Row:
    """A scenario's figures; `ratio` is throughput over the matching ceiling's."""

    scenario: str
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    peak_mb: float
    ratio: float | None = None
    note: str = ""


def row(
    scenario: str,
    result: LoadResult,
    peak_mb: float,
    ceiling: Row | None = None,
    note: str = "",
) -> Row:
    ratio = result.throughput / ceiling.throughput if ceiling else None
    return Row(
        scenario,
        result.throughput,
        result.p50_ms,
        result.p90_ms,
        result.p99_ms,
        result.errors,
        peak_mb,
        ratio,
        note,
    )
