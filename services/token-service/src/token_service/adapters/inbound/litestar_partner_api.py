"""The partner API: `POST /pos/v1/launch-tokens` (DESIGN §3). Decode, mint, encode."""

import time
from typing import Any, Final, TypeVar

import msgspec
import structlog
from litestar import Request, Response, post

from token_service.adapters.inbound.http_errors import (
    NO_STORE,
    FieldProblem,
    problem,
    problem_of,
    rfc3339,
)
from token_service.adapters.inbound.openapi_partner_api import (
    BEARER,
    LaunchTokenOperation,
)
from token_service.adapters.inbound.use_cases import use_cases
from token_service.application.link_ports import RememberedLaunch
from token_service.application.metrics import MINTED, REPLAYED
from token_service.application.mint_launch import LaunchRequestFields
from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import TokenServiceError

MAX_BODY_BYTES: Final = 16 * 1024
IDEMPOTENCY_KEY: Final = "idempotency-key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
JSON_TYPES: Final = ("application/json",)
T = TypeVar("T")

log = structlog.get_logger(__name__)


class LaunchTokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The body as sent; types are checked field by field by the domain."""

    external_user_id: Any = None
    display_name: Any = None
    location_id: Any = None
    role_slug: Any = None


class LaunchTokenCreated(msgspec.Struct, frozen=True):
    id: str
    launch_url: str
    expires_at: str


class _ProblemCode(msgspec.Struct):
    code: str


_decoder: Final = msgspec.json.Decoder(LaunchTokenRequest)
_code_decoder: Final = msgspec.json.Decoder(_ProblemCode)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES or (
        media.startswith("application/") and media.endswith("+json")
    )


@post(
    "/pos/v1/launch-tokens",
    request_max_body_size=MAX_BODY_BYTES + 1,
    operation_class=LaunchTokenOperation,
    security=[{BEARER: []}],
)
async def create_launch_token(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Mint, then count the outcome (`minted` or the problem's code) and time it.

    A refusal is logged with its code, and with the partner once known, so
    "why can this partner not mint?" has an answer in the log.
    """
    started = time.perf_counter()
    outcome = "internal_error"
    try:
        response = await _mint(request)
        outcome = _outcome_of(response)
        return response
    except DependencyUnavailable:
        outcome = "service_unavailable"
        raise
    finally:
        elapsed = time.perf_counter() - started
        use_cases(request).metrics.mint_finished(outcome, elapsed)
        if outcome not in (MINTED, REPLAYED):
            log.info("launch_mint_refused", code=outcome)


def _outcome_of(response: Response[bytes]) -> str:
    if response.status_code != 201:
        return _code_decoder.decode(response.content).code
    return REPLAYED if REPLAYED_HEADER in response.headers else MINTED


async def _mint(request: Request[Any, Any, Any]) -> Response[bytes]:
    app = use_cases(request)
    try:
        partner_id = await app.authenticator.authenticate(
            request.headers.get("authorization")
        )
    except TokenServiceError as error:
        return problem_of(error)
    structlog.contextvars.bind_contextvars(partner_id=partner_id)

    fields = await read_json_body(
        request, _decoder, "expected a launch request object with known fields only"
    )
    if isinstance(fields, Response):
        return fields

    request_fields = LaunchRequestFields(
        external_user_id=fields.external_user_id,
        display_name=fields.display_name,
        location_id=fields.location_id,
        role_slug=fields.role_slug,
    )
    key = request.headers.get(IDEMPOTENCY_KEY)
    headers = dict(NO_STORE)
    try:
        if app.links is None:
            minted = await app.mint.execute(partner_id, request_fields)
            launch = RememberedLaunch(minted.jti, minted.launch_url, minted.expires_at)
        else:
            answer = await app.links.mint.execute(partner_id, request_fields, key)
            launch = answer.launch
            if answer.replayed:
                headers[REPLAYED_HEADER] = "true"
    except TokenServiceError as error:
        return problem_of(error)
    created = LaunchTokenCreated(
        id=launch.jti,
        launch_url=launch.launch_url,
        expires_at=rfc3339(launch.expires_at),
    )
    return Response(
        content=msgspec.json.encode(created),
        status_code=201,
        media_type="application/json",
        headers=headers,
    )


async def read_json_body(
    request: Request[Any, Any, Any], decoder: msgspec.json.Decoder[T], expected: str
) -> T | Response[bytes]:
    """The decoded body, or its problem: 415, 413, 400, or 422 naming the field."""
    if not _is_json(request.headers.get("content-type", "")):
        return problem(415, "unsupported_media_type", "expected application/json")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return problem(
            413, "body_too_large", f"expected at most {MAX_BODY_BYTES} bytes"
        )
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        return _shape_problem(str(exc), expected)
    except msgspec.DecodeError:
        return problem(400, "malformed_json", "expected a JSON object")


def _shape_problem(message: str, expected: str) -> Response[bytes]:
    """A body of the wrong shape (unknown field, not an object): 422 with the field."""
    field = "body"
    if "unknown field `" in message:
        field = message.split("unknown field `", 1)[1].split("`", 1)[0]
    return problem(422, "validation_failed", expected, [FieldProblem(field, message)])
