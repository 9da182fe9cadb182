"""Unit tests of the bench's parsing: wrk's and hey's output, py-spy stacks, logs."""

import json

from bench.loadgen import parse_hey_csv, parse_wrk, percentile
from bench.profile import top_frames
from bench.redeem_split import split_redemptions

WRK_OUT = (
    "Running 8s test @ http://127.0.0.1:1\n"
    'BENCH_JSON {"duration_us": 2000000, "requests": 400, "connect_errors": 0, '
    '"read_errors": 1, "write_errors": 0, "timeouts": 2, "reused_paths": 0, '
    '"p50_us": 1500, "p90_us": 3000, "p99_us": 9000, "max_us": 12000, '
    '"statuses": {"303": 390, "410": 7}}\n'
)


def test_wrk_result_counts_socket_errors_and_unexpected_statuses() -> None:
    """Read errors, timeouts and every status not expected count as errors."""
    result = parse_wrk(WRK_OUT, expected=[303])

    assert result.requests == 400
    assert result.throughput == 200.0
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (1.5, 3.0, 9.0)
    assert result.errors == 1 + 2 + 7


def test_hey_csv_gives_exact_percentiles_and_status_errors() -> None:
    """hey's per-request rows (seconds) become millisecond percentiles."""
    header = "response-time,DNS+dialup,DNS,Request-write,Response-delay,"
    header += "Response-read,status-code,offset\n"
    rows = [f"{(i + 1) / 1000:.4f},0,0,0,0,0,201,0\n" for i in range(99)]
    rows.append("0.5000,0,0,0,0,0,429,0\n")

    result = parse_hey_csv(header + "".join(rows), duration_s=1.0, expected=[201])

    assert result.requests == 100
    assert result.p50_ms == 50.0
    assert result.p99_ms == 99.0
    assert result.errors == 1


def test_percentile_is_nearest_rank() -> None:
    """The nearest-rank percentile never invents a value between samples."""
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0
    assert percentile([], 50) == 0.0


def test_redemption_split_joins_lines_on_request_id() -> None:
    """Cognito time is summed per request and taken off that request's time."""
    lines = [
        {"event": "cognito_call_completed", "request_id": "a", "elapsed_ms": 4.0},
        {"event": "cognito_call_completed", "request_id": "a", "elapsed_ms": 1.0},
        {
            "event": "request_handled",
            "request_id": "a",
            "path": "/launch",
            "status": 303,
        },
        {"event": "request_timed", "request_id": "a", "duration_ms": 12.5},
        {"event": "request_handled", "request_id": "b", "path": "/sale", "status": 200},
        {"event": "request_timed", "request_id": "b", "duration_ms": 1.0},
    ]

    split = split_redemptions([json.dumps(line) for line in lines] + ["not json"])

    assert split.total_ms == [12.5]
    assert split.cognito_ms == [5.0]
    assert split.product_ms == [7.5]


def test_top_frames_ranks_leaf_and_inclusive_shares() -> None:
    """A frame's self share counts leaf samples; inclusive counts each stack once."""
    collapsed = ["main;handle;sign 30", "main;handle;redis 10", "main;idle 60"]

    lines, total = top_frames(collapsed)

    assert total == 100
    assert " 60.0%  main;idle" not in lines
    assert " 60.0%  idle" in lines
    assert "100.0%  main" in lines
    assert " 40.0%  handle" in lines
