"""structlog set-up shared by both services (STYLE.md, Logging).

JSON lines on stdout when not on a terminal, a console renderer otherwise.
Only keys on the allow-list leave the process with their value; anything
else is replaced by a marker, so a token, cookie or secret bound by mistake
never reaches a log line.
"""

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Final

import structlog

SAFE_KEYS: Final = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "service",
        "correlation_id",
        "request_id",
        "message_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "partner_id",
        "location_id",
        "pos_user_id",
        "role_slug",
        "reason",
        "code",
        "error",
        "error_type",
        "outcome",
        "operation",
        "attempt",
        "user_created",
        "membership_created",
        "queue",
        "exchange",
        "routing_key",
        "redelivered",
        "retry_count",
        "host",
        "port",
        "url",
        "version",
        "count",
        "kid",
        "exc_info",
        "exception",
        "action",
        "state",
        "dependency",
        "timeout_s",
        "elapsed_ms",
        "listen",
        "name",
        "pid",
        "worker",
        "session_replaced",
        "user_agent_kind",
        "migrations",
        "epoch",
        "step",
        "after",
    }
)
REDACTED: Final = "[redacted]"


def configure_logging(
    service: str,
    level: str = "INFO",
    json: bool | None = None,
    extra_safe_keys: Iterable[str] = (),
) -> None:
    """Configure structlog and the stdlib root logger once per process."""
    safe = SAFE_KEYS | frozenset(extra_safe_keys)
    as_json = (not sys.stdout.isatty()) if json is None else json

    def allow_listed(
        logger: Any, name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event):
            if key not in safe and not key.startswith("_"):
                event[key] = REDACTED
        return event

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            allow_listed,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, force=True)
