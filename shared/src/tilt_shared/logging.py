"""structlog set-up shared by both services (STYLE.md, Logging).

JSON lines on stdout when not on a terminal, a console renderer otherwise.
The standard library's loggers (aio-pika, aiormq, asyncpg, uvicorn) are
rendered by the same processors through structlog's `ProcessorFormatter`, so
their lines are JSON too, with a traceback as one `exception` field. Only
keys on the allow-list leave the process with their value; anything else is
replaced by a marker, so a token, cookie or secret bound by mistake never
reaches a log line. A library's message text is not ours to choose: a URL's
password in it, or in a traceback, is masked.
"""

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Final, TextIO

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
# `scheme://user:password@` in a library's message: the password goes.
URL_PASSWORD: Final = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@", re.I)


def configure_logging(
    service: str,
    level: str = "INFO",
    json: bool | None = None,
    extra_safe_keys: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and the stdlib root logger once per process.

    Both write to `stream` (default stdout; the operators' CLI uses stderr).
    The stdlib root logger passes WARNING and above.
    """
    out = sys.stdout if stream is None else stream
    safe = SAFE_KEYS | frozenset(extra_safe_keys)
    as_json = (not out.isatty()) if json is None else json

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
    stamped: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendered: list[Any] = [
        structlog.processors.format_exc_info,
        _passwords_masked,
        allow_listed,
        renderer,
    ]
    structlog.configure(
        processors=[*stamped, *rendered],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)

    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*stamped, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *rendered,
            ],
        )
    )
    logging.basicConfig(handlers=[handler], level=logging.WARNING, force=True)


def _passwords_masked(
    logger: Any, name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in ("event", "exception"):
        text = event.get(key)
        if isinstance(text, str):
            event[key] = URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    return event
