"""Libraries' stdlib log records come out as the services' own JSON lines."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from tilt_shared.logging import REDACTED, configure_logging

Captured = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    """Puts back the logging configuration each test replaces."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = handlers
        root.setLevel(level)


def lines(capsys: Captured) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_library_error_with_a_traceback_is_one_json_line(capsys: Captured) -> None:
    """aio-pika's reconnect error, traceback and all, is one parseable line."""
    configure_logging("svc", json=True)

    try:
        raise ConnectionResetError("reset by peer")
    except ConnectionResetError:
        logging.getLogger("aio_pika.tools").exception("Unhandled %s", "error")

    [line] = lines(capsys)
    assert line["event"] == "Unhandled error"
    assert (line["level"], line["logger"], line["service"]) == (
        "error",
        "aio_pika.tools",
        "svc",
    )
    assert "Traceback" in line["exception"]
    assert "ConnectionResetError: reset by peer" in line["exception"]
    assert "timestamp" in line


def test_a_library_line_keeps_the_allow_list_and_hides_url_passwords(
    capsys: Captured,
) -> None:
    """Bound keys off the list are blanked; a password in the text is masked."""
    configure_logging("svc", json=True)
    structlog.contextvars.bind_contextvars(correlation_id="j1", cookie="c=1")

    logging.getLogger("aiormq.connection").warning(
        "cannot connect to amqp://tilt:hunter2@broker:5672/"
    )

    [line] = lines(capsys)
    assert line["event"] == f"cannot connect to amqp://tilt:{REDACTED}@broker:5672/"
    assert (line["correlation_id"], line["cookie"]) == ("j1", REDACTED)


def test_both_kinds_of_line_go_to_the_stream_given() -> None:
    """structlog's events and the stdlib's lines share one stream (CLI: stderr)."""
    out = io.StringIO()
    configure_logging("svc", json=True, stream=out)

    structlog.get_logger().info("service_started", port=1)
    logging.getLogger("asyncpg").error("pool closed")

    events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert events == ["service_started", "pool closed"]
