"""The token service with one outer timer, for splitting a redemption's time.

The app is `create_app(settings)` exactly as `token-service` builds it and is
served with the same uvicorn flags; the only addition is an ASGI wrapper that,
after each request, logs `request_timed` with the request's `request_id` (bound
by the service's own middleware) and its server-side `duration_ms`. Joined on
`request_id` with the Cognito adapter's DEBUG `cognito_call_completed` lines,
that gives each redemption's time with and without Cognito.
"""

import time
from typing import Final

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

TIMED_EVENT: Final = "request_timed"
log = structlog.get_logger("bench.timed_token_service")


def timed(app: ASGIApp) -> ASGIApp:
    """Wraps `app`; logs the wall time of every HTTP request under its request_id."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info(TIMED_EVENT, duration_ms=round(elapsed_ms, 3))

    return wrapper


def main() -> None:
    """Like `token_service.entrypoint.main`, with the timer around the app."""
    from tilt_shared.logging import configure_logging
    from token_service.entrypoint import create_app, settings_or_exit
    from token_service.uvicorn_server import serve

    settings = settings_or_exit("timed token-service")
    configure_logging("token-service", settings.log_level)
    serve(timed(create_app(settings)), settings.host, settings.port)


if __name__ == "__main__":
    main()
