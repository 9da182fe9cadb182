"""The one table from error codes to HTTP statuses, and RFC 9457 problem bodies."""

from datetime import UTC, datetime
from typing import Final

import msgspec
from litestar import Response

from token_service.domain.errors import (
    RateLimited,
    TokenServiceError,
    ValidationFailed,
)

PROBLEM_TYPE: Final = "application/problem+json"
NO_STORE: Final = {"Cache-Control": "no-store"}
RETRY_AFTER_S: Final = "5"
STATUS_BY_CODE: Final[dict[str, int]] = {
    "launch_token_invalid": 400,
    "launch_token_expired": 410,
    "launch_token_used": 410,
    "launch_token_revoked": 410,
    "launch_token_refused": 403,
    "launch_token_not_found": 404,
    "launch_token_not_pending": 409,
    "idempotency_key_reused": 422,
    "location_not_permitted": 422,
    "partner_suspended": 403,
    "validation_failed": 422,
    "invalid_token": 401,
    "insufficient_scope": 403,
    "service_unavailable": 503,
    "rate_limited": 429,
    "provisioning_rejected": 403,
    "csrf_rejected": 403,
    "access_withdrawn": 403,
}
TITLES: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class FieldProblem(msgspec.Struct, frozen=True):
    field: str
    message: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] | None = None


def rfc3339(moment: datetime) -> str:
    """A UTC time as the API shows every time: whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_of(error: TokenServiceError) -> int:
    return STATUS_BY_CODE.get(error.code, 400)


def problem(
    status: int,
    code: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """An `application/problem+json` response; `type` is a stable URN of the code."""
    body = Problem(
        type=f"urn:tilt-pos:problem:{code}",
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        errors=errors,
    )
    all_headers = {**NO_STORE, **(headers or {})}
    if status == 503 and "Retry-After" not in all_headers:
        all_headers["Retry-After"] = RETRY_AFTER_S
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=all_headers,
    )


def problem_of(error: TokenServiceError) -> Response[bytes]:
    status = status_of(error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    elif error.code == "insufficient_scope":
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    elif isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_s)
    errors = None
    if isinstance(error, ValidationFailed):
        errors = [FieldProblem(e.field, e.message) for e in error.errors]
    return problem(status, error.code, error.message, errors, headers)
