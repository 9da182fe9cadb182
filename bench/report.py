"""Writes the bench's results: a Markdown table and a latency plot."""

import platform
from datetime import UTC, datetime
from pathlib import Path

from bench.rows import Row


def _cell(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}" if value else "-"


def markdown(
    rows: list[Row], cognito: dict[str, dict[str, float]], context: dict[str, str]
) -> str:
    """The results page: the table, the Cognito counts, how the run was made."""
    lines = [
        "# Bench results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}. "
        "Ratios compare runs of this same invocation; absolute figures drift "
        "with whatever else the machine is doing.",
        "",
        "| scenario | req/s | p50 ms | p90 ms | p99 ms | errors | peak MB "
        "| vs ceiling | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = f"{r.ratio:.0%}" if r.ratio is not None else ""
        lines.append(
            f"| {r.scenario} | {_cell(r.throughput, 0)} | {_cell(r.p50_ms, 2)} "
            f"| {_cell(r.p90_ms, 2)} | {_cell(r.p99_ms, 2)} | {r.errors} "
            f"| {r.peak_mb:.0f} | {ratio} | {r.note} |"
        )
    lines += ["", "## Cognito calls per launch (counted by the emulator)", ""]
    for label, counts in cognito.items():
        shown = ", ".join(f"{op} {n:g}" for op, n in sorted(counts.items()))
        lines.append(f"- {label}: {shown}")
    lines += ["", "## Run", ""]
    lines += [f"- {key}: {value}" for key, value in context.items()]
    return "\n".join(lines) + "\n"


def plot(rows: list[Row], path: Path) -> None:
    """Horizontal bars of p50/p90/p99 per scenario, log scale, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r.p99_ms > 0]
    names = [r.scenario for r in shown]
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(shown) + 1.5))
    height = 0.25
    for offset, (label, values) in enumerate(
        (
            ("p50", [r.p50_ms for r in shown]),
            ("p90", [r.p90_ms for r in shown]),
            ("p99", [r.p99_ms for r in shown]),
        )
    ):
        positions = [i + (offset - 1) * height for i in range(len(shown))]
        axes.barh(positions, values, height=height, label=label)
    axes.set_yticks(range(len(shown)), names)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("latency, ms (log scale)")
    axes.set_title("Tilt POS launch links: latency by scenario")
    axes.legend(loc="upper right")
    axes.grid(axis="x", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
