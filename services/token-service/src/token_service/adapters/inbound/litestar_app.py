"""The Litestar app: routes, security headers, request ids and spans, /metrics."""

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from typing import Any, Final

import structlog
from litestar import Litestar, Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from token_service.adapters.inbound import html_pages
from token_service.adapters.inbound.http_errors import NO_STORE, RETRY_AFTER_S, problem
from token_service.adapters.inbound.litestar_browser_pages import BROWSER_ROUTES, html
from token_service.adapters.inbound.litestar_launch_links import LINK_ROUTES
from token_service.adapters.inbound.litestar_partner_api import create_launch_token
from token_service.adapters.inbound.openapi_partner_api import openapi_config
from token_service.adapters.inbound.use_cases import use_cases
from token_service.application.ports import DependencyUnavailable

SECURITY_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
HTTP_CODES: Final = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}
log = structlog.get_logger(__name__)
Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]
Exposition = Callable[[], tuple[bytes, str]]
W3C: Final = TraceContextTextMapPropagator()


@get("/healthz", include_in_schema=False)
async def healthz() -> Response[dict[str, str]]:
    return Response({"status": "ok"}, headers=NO_STORE)


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    checks = await use_cases(request).readiness()
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return Response(body, status_code=200 if ready else 503, headers=NO_STORE)


def _metrics_route(exposition: Exposition) -> Any:
    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def metrics() -> Response[bytes]:
        body, content_type = exposition()
        # Litestar appends its own `; charset=utf-8` to every text/* type.
        media_type = content_type.replace("; charset=utf-8", "")
        return Response(body, media_type=media_type, headers=NO_STORE)

    return metrics


def _request_context(tracer: Tracer | None) -> Callable[[ASGIApp], ASGIApp]:
    """Binds a fresh request_id, then logs one line per request with its status.

    Only the path is logged, never the query string (it carries launch tokens).
    With a tracer, each request is a SERVER span continuing the caller's W3C
    context, named after the route's template once routing has found it.
    """

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(
                service="token-service", request_id=uuid.uuid4().hex
            )
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            method = scope["method"]
            with _server_span(tracer, scope, method) as span:
                try:
                    await app(scope, receive, capture)
                finally:
                    _end_span(span, scope, method, status)
                    log.info(
                        "request_handled",
                        method=scope["method"],
                        path=scope["path"],
                        status=status,
                    )

        return middleware

    return wrap


def _server_span(
    tracer: Tracer | None, scope: Scope, method: str
) -> AbstractContextManager[Span | None]:
    if tracer is None:
        return nullcontext()
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in (b"traceparent", b"tracestate")
    }
    parent: Context = W3C.extract(carrier)
    return tracer.start_as_current_span(
        method,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method},
    )


def _end_span(span: Span | None, scope: Scope, method: str, status: int) -> None:
    if span is None:
        return
    route = scope.get("path_template")
    if route:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(StatusCode.ERROR)


async def _secure(message: Message, scope: Scope) -> None:
    """Every response, the framework's own 404 and 405 included, gets the headers."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    for name, value in SECURITY_HEADERS.items():
        if name.lower().encode() not in present:
            headers.append((name.lower().encode(), value.encode()))
    message["headers"] = headers


def _is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/pos/")


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if _is_api(request):
        code = HTTP_CODES.get(status, f"http_{status}")
        response: Response[Any] = problem(status, code, str(exc.detail))
    else:
        page = html_pages.message_page("Request not accepted", [str(exc.detail)])
        response = html(page, status)
    # The framework puts `Allow` on a 405; keep what it says.
    response.headers.update(exc.headers or {})
    return response


def _dependency_down(
    request: Request[Any, Any, Any], exc: DependencyUnavailable
) -> Response[Any]:
    """A dependency failed outside a use case's own handling: 503, never 500."""
    log.error(
        "request_failed",
        dependency=exc.dependency,
        error=exc.detail,
        path=request.url.path,
    )
    if _is_api(request):
        return problem(503, "service_unavailable", "a dependency is unavailable")
    page = html_pages.message_page(
        "Tilt POS is briefly unavailable",
        ["Try again in a moment."],
        "service_unavailable",
    )
    return html(page, 503, headers={"Retry-After": RETRY_AFTER_S})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("request_failed", error_type=type(exc).__name__, path=request.url.path)
    if _is_api(request):
        return problem(500, "internal_error", "an unexpected error occurred")
    page = html_pages.message_page(
        "Something went wrong", ["Try again in a moment."], "internal_error"
    )
    return html(page, 500)


def build_litestar(
    lifespan: Sequence[Lifespan] = (),
    tracer: Tracer | None = None,
    exposition: Exposition | None = None,
) -> Litestar:
    """The app; `lifespan` builds the use cases and sets `app.state.use_cases`.

    `exposition` renders `/metrics`; `tracer`, when given, traces each request.
    """
    routes: list[Any] = [
        healthz,
        readyz,
        create_launch_token,
        *LINK_ROUTES,
        *BROWSER_ROUTES,
    ]
    if exposition is not None:
        routes.append(_metrics_route(exposition))
    return Litestar(
        route_handlers=routes,
        lifespan=list(lifespan),
        middleware=[_request_context(tracer)],
        before_send=[_secure],
        exception_handlers={
            HTTPException: _http_error,
            DependencyUnavailable: _dependency_down,
            Exception: _unexpected,
        },
        debug=False,
        logging_config=None,
        openapi_config=openapi_config(),
    )
