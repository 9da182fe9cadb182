"""Browser routes: open a launch link, the sale page, sign-out (DESIGN §6, §10).

Handlers translate only: read the cookie or form, call one use case, render
a page. The token never appears in a page, a redirect target or a log line.
"""

import time
from typing import Any, Final
from urllib.parse import parse_qs

import structlog
from litestar import Request, Response, get, post, route
from litestar.datastructures import Cookie
from litestar.enums import HttpMethod

from token_service.adapters.inbound import html_pages
from token_service.adapters.inbound.http_errors import RETRY_AFTER_S, status_of
from token_service.adapters.inbound.prefetch import is_prefetch
from token_service.adapters.inbound.use_cases import UseCases, use_cases
from token_service.application.metrics import REDEEMED, REOPENED
from token_service.domain.errors import (
    AccessWithdrawn,
    CsrfRejected,
    LaunchTokenInvalid,
    LaunchTokenRefused,
    ProvisioningRejected,
    ServiceUnavailable,
    TokenServiceError,
)
from token_service.domain.session import SESSION_LIFETIME

SESSION_COOKIE: Final = "tilt_pos_session"
MAX_FORM_BYTES: Final = 16 * 1024
MAX_FIELDS: Final = 8
HTML: Final = "text/html"  # Litestar appends the charset itself
log = structlog.get_logger(__name__)


def html(
    content: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        content=content, status_code=status, media_type=HTML, headers=headers
    )


def redirect(location: str) -> Response[str]:
    return Response(content="", status_code=303, headers={"Location": location})


def error_page(error: TokenServiceError, offer_sale: bool = False) -> Response[str]:
    """The outcome page of a failed redemption or sign-out, with its code.

    `offer_sale`: a used link's page may point to /sale, where a double
    click's first answer signed this browser in (ADR 2).
    """
    status = status_of(error)
    code = error.code
    link = None
    if isinstance(error, ProvisioningRejected | LaunchTokenRefused):
        if isinstance(error, ProvisioningRejected):
            code = error.rejection_code
        lines = [
            "The Tilt POS cannot sign you in with this link.",
            "Ask your back-office administrator to check your access.",
        ]
        heading = "Sign-in refused"
    elif status == 503:
        heading = "Tilt POS is briefly unavailable"
        lines = ["Nothing was used up: this same link can be retried in a moment."]
    elif code == "launch_token_used":
        heading = "This link was already used"
        lines = ["Each launch link works once.", html_pages.NEW_LINK]
        if offer_sale:
            link = ("/sale", "Opened it here a moment ago? Go to the sale page.")
    elif code == "launch_token_revoked":
        heading = "This link was cancelled"
        lines = ["Your back-office system revoked it.", html_pages.NEW_LINK]
    elif code == "launch_token_expired":
        heading = "This link has expired"
        lines = ["Launch links work for a few minutes only.", html_pages.NEW_LINK]
    elif isinstance(error, AccessWithdrawn):
        heading = "Your access has ended"
        lines = [
            "Your back-office system no longer gives you access to this store,"
            " so you were signed out.",
            "Ask your back-office administrator to check your access.",
        ]
    elif isinstance(error, CsrfRejected):
        heading = "Sign-out not accepted"
        lines = ["Use the sign-out button on the sale page."]
    else:
        heading = "This link is not valid"
        lines = ["The link is incomplete or was changed.", html_pages.NEW_LINK]
    headers = {"Retry-After": RETRY_AFTER_S} if status == 503 else None
    page = html_pages.message_page(heading, lines, code, link)
    return html(page, status, headers)


def _session_cookie(app: UseCases, session_id: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=app.cookie_secure,
    )


def _cleared_cookie(app: UseCases) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        max_age=0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=app.cookie_secure,
    )


def _cross_site(app: UseCases, request: Request[Any, Any, Any]) -> bool:
    """A form posted from another site: by fetch metadata, else by Origin.

    Under our `Referrer-Policy: no-referrer` browsers send `Origin: null` on
    our own forms' POSTs (Fetch standard, "serializing a request origin"),
    so Origin can only be compared when the browser sends no fetch metadata.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        # A sibling subdomain ("same-site") is another party too.
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    return origin.rstrip("/") != app.public_origin


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    body = await request.body()
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
    except ValueError:
        # More fields than any of our forms has: not one of our forms.
        return {}
    return {name: values[0] for name, values in fields.items()}


async def _redeem(request: Request[Any, Any, Any], token: str) -> Response[str]:
    app = use_cases(request)
    started = time.perf_counter()
    try:
        outcome = await app.redeem.execute(token, request.cookies.get(SESSION_COOKIE))
    except TokenServiceError as error:
        reason = getattr(error, "rejection_code", error.code)
        log.warning("launch_token_rejected", reason=reason)
        app.metrics.redemption_finished(reason, time.perf_counter() - started)
        # Only a double click comes without a cookie: with one, this browser
        # holds another launch's session, maybe another person's on a shared
        # terminal, and /sale would show it (one of this link's own was
        # answered by a redirect to /sale already).
        return error_page(error, offer_sale=SESSION_COOKIE not in request.cookies)
    redeemed = outcome.new_session is not None
    elapsed = time.perf_counter() - started
    app.metrics.redemption_finished(REDEEMED if redeemed else REOPENED, elapsed)
    response = redirect("/sale")
    if outcome.new_session is not None:
        response.set_cookie(_session_cookie(app, outcome.new_session.session_id))
    return response


@get("/launch", include_in_schema=False)
async def open_launch_link(request: Request[Any, Any, Any]) -> Response[str]:
    token = request.query_params.get("token")
    if not token:
        return error_page(LaunchTokenInvalid())
    if is_prefetch(request.headers):
        log.info("launch_preview_answered", user_agent_kind="preview")
        return html(html_pages.continue_page())
    return await _redeem(request, token)


@post("/launch", request_max_body_size=MAX_FORM_BYTES, include_in_schema=False)
async def continue_launch(request: Request[Any, Any, Any]) -> Response[str]:
    if _cross_site(use_cases(request), request):
        return error_page(LaunchTokenInvalid())
    token = request.query_params.get("token")
    if not token:
        return error_page(LaunchTokenInvalid())
    return await _redeem(request, token)


@route("/launch", http_method=[HttpMethod.HEAD], include_in_schema=False)
async def probe_launch_link(request: Request[Any, Any, Any]) -> Response[str]:
    """Link checkers probe with HEAD: answered, never redeemed (OPTIONS: Litestar)."""
    return Response(
        content="", status_code=204, headers={"Allow": "GET, POST, HEAD, OPTIONS"}
    )


@get("/sale", include_in_schema=False)
async def sale(request: Request[Any, Any, Any]) -> Response[str]:
    app = use_cases(request)
    try:
        session = await app.view_sale.execute(request.cookies.get(SESSION_COOKIE))
    except ServiceUnavailable:
        page = html_pages.sale_unavailable_page()
        return html(page, 503, {"Retry-After": RETRY_AFTER_S})
    except AccessWithdrawn as error:
        ended = error_page(error)
        ended.set_cookie(_cleared_cookie(app))
        return ended
    except TokenServiceError as error:
        return error_page(error)
    if session is None:
        response = redirect("/signed-out")
        if SESSION_COOKIE in request.cookies:
            response.set_cookie(_cleared_cookie(app))
        return response
    page = html_pages.sale_page(
        session.display_name,
        session.location_id,
        session.role_slug,
        session.permissions,
        session.csrf_token,
    )
    return html(page)


@post("/logout", request_max_body_size=MAX_FORM_BYTES, include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Response[str]:
    app = use_cases(request)
    if _cross_site(app, request):
        return error_page(CsrfRejected())
    csrf_token = (await _form(request)).get("csrf_token", "")
    try:
        await app.sign_out.execute(request.cookies.get(SESSION_COOKIE), csrf_token)
        response = redirect("/signed-out")
    except ServiceUnavailable:
        response = html(html_pages.sign_out_unfinished_page(), 503)
    except TokenServiceError as error:
        return error_page(error)

    # Even when the session outlives the request, this browser lets go of it:
    # the next person at a shared terminal must not find it.
    response.set_cookie(_cleared_cookie(app))
    return response


@get("/signed-out", include_in_schema=False)
async def signed_out() -> Response[str]:
    return html(html_pages.signed_out_page())


@get("/static/pos.css", include_in_schema=False)
async def stylesheet() -> Response[str]:
    # Litestar appends the charset to text/* types itself.
    return Response(content=html_pages.STYLESHEET, media_type="text/css")


BROWSER_ROUTES: Final = [
    open_launch_link,
    continue_launch,
    probe_launch_link,
    sale,
    logout,
    signed_out,
    stylesheet,
]
