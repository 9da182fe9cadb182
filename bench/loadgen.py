"""Drives load with wrk (throughput, paced link lists) and hey (a fixed rate).

Both run pinned to the load core and report one `LoadResult`; this module
also parses their output, which is what the unit test checks.
"""

import csv
import io
import json
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

WRK_SCRIPT: Final = Path(__file__).parent / "wrk" / "bench.lua"
JSON_MARK: Final = "BENCH_JSON "


class LoadGeneratorError(RuntimeError):
    """wrk or hey is missing, failed, or printed nothing we can read."""


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured; latencies in milliseconds."""

    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(percent / 100 * len(sorted_values) + 0.4999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _unexpected(statuses: dict[str, int], expected: Iterable[int]) -> int:
    allowed = {str(code) for code in expected}
    return sum(count for code, count in statuses.items() if code not in allowed)


def parse_wrk(stdout: str, expected: Iterable[int]) -> LoadResult:
    """Reads the `BENCH_JSON` line that wrk/bench.lua prints when done."""
    lines = [line for line in stdout.splitlines() if line.startswith(JSON_MARK)]
    if not lines:
        raise LoadGeneratorError(f"wrk printed no result line: {stdout[-400:]!r}")
    data = json.loads(lines[-1].removeprefix(JSON_MARK))
    statuses = {str(code): int(count) for code, count in data["statuses"].items()}
    socket_errors = sum(
        int(data[key])
        for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return LoadResult(
        requests=int(data["requests"]),
        duration_s=int(data["duration_us"]) / 1e6,
        p50_ms=int(data["p50_us"]) / 1000,
        p90_ms=int(data["p90_us"]) / 1000,
        p99_ms=int(data["p99_us"]) / 1000,
        errors=socket_errors + _unexpected(statuses, expected),
        statuses=statuses,
    )


def parse_hey_csv(text: str, duration_s: float, expected: Iterable[int]) -> LoadResult:
    """Reads hey's `-o csv` rows: response-time in seconds, then status-code."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(text)):
        latencies.append(float(row["response-time"]) * 1000)
        code = row["status-code"]
        statuses[code] = statuses.get(code, 0) + 1
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        duration_s=duration_s,
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        errors=_unexpected(statuses, expected),
        statuses=statuses,
    )


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise LoadGeneratorError(f"{name} not found: `make bench` installs it")
    return found


def _pinned(core: str | None, argv: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", core, *argv] if core and taskset else argv


def run_wrk(
    url: str,
    *,
    connections: int,
    duration_s: float,
    expected: Iterable[int],
    script_args: Sequence[str] = (),
    core: str | None = None,
) -> LoadResult:
    """One wrk thread; `script_args` are bench.lua's key=value options."""
    argv = [
        _tool("wrk"),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        *script_args,
    ]
    done = subprocess.run(
        _pinned(core, argv), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LoadGeneratorError(f"wrk exited {done.returncode}: {done.stderr[-400:]}")
    return parse_wrk(done.stdout, expected)


def run_hey(
    url: str,
    *,
    rate: int,
    connections: int,
    duration_s: float,
    expected: Iterable[int],
    method: str = "GET",
    body: Path | None = None,
    headers: Sequence[str] = (),
    core: str | None = None,
) -> LoadResult:
    """A fixed total `rate`: hey's -q is per worker, so q = rate / connections."""
    per_worker = max(1, round(rate / connections))
    argv = [_tool("hey"), "-cpus", "1", "-disable-redirects", "-o", "csv"]
    argv += ["-z", f"{max(1, round(duration_s))}s", "-c", str(connections)]
    argv += ["-q", str(per_worker), "-m", method]
    for header in headers:
        argv += ["-H", header]
    if body is not None:
        argv += ["-D", str(body)]
    done = subprocess.run(
        _pinned(core, [*argv, url]), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LoadGeneratorError(f"hey exited {done.returncode}: {done.stderr[-400:]}")
    return parse_hey_csv(done.stdout, duration_s, expected)
