"""The OpenAPI description of the link controls: status, revocation, bulk revocation.

Like the mint call, these handlers answer problems themselves, so each
operation states every status, body and header it can send.
"""

from dataclasses import dataclass
from typing import Final

from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

from token_service.adapters.inbound.openapi_partner_api import (
    NO_STORE_HEADER,
    NULL,
    RETRY_AFTER_HEADER,
    STRING,
    WWW_AUTHENTICATE_HEADER,
    problem_response,
)

Responses = dict[str, OpenAPIResponse | Reference]
_TIME: Final = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME)
_STATUS: Final = Schema(
    type=OpenAPIType.OBJECT,
    required=[
        "id",
        "status",
        "created_at",
        "expires_at",
        "redeemed_at",
        "location_id",
        "external_user_id",
    ],
    properties={
        "id": STRING,
        "status": Schema(
            type=OpenAPIType.STRING,
            enum=["pending", "redeemed", "refused", "expired", "revoked"],
        ),
        "created_at": Schema(one_of=[_TIME, NULL]),
        "expires_at": _TIME,
        "redeemed_at": Schema(one_of=[_TIME, NULL]),
        "location_id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
        "external_user_id": STRING,
    },
)
_FILTER: Final = Schema(
    type=OpenAPIType.OBJECT,
    additional_properties=False,
    min_properties=1,
    properties={
        "external_user_id": Schema(
            type=OpenAPIType.STRING, min_length=1, max_length=255
        ),
        "location_id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
    },
    description="external_user_id, location_id or both; a link must match all.",
)
_REVOKED: Final = Schema(
    type=OpenAPIType.OBJECT,
    required=["revoked"],
    properties={"revoked": Schema(type=OpenAPIType.INTEGER, minimum=0)},
)
_COMMON: Final[dict[int, tuple[str, dict[str, OpenAPIHeader]]]] = {
    401: ("invalid_token", {"WWW-Authenticate": WWW_AUTHENTICATE_HEADER}),
    403: ("insufficient_scope", {}),
    503: ("service_unavailable", {"Retry-After": RETRY_AFTER_HEADER}),
}
_NOT_FOUND: Final[tuple[str, dict[str, OpenAPIHeader]]] = (
    "launch_token_not_found: unknown, purged (60 s after expiry), or minted by"
    " another partner",
    {},
)


def _problems(
    extra: dict[int, tuple[str, dict[str, OpenAPIHeader]]],
) -> Responses:
    both = _COMMON | extra
    return {
        str(status): problem_response(description, headers)
        for status, (description, headers) in sorted(both.items())
    }


def _ok(description: str, schema: Schema | None) -> OpenAPIResponse:
    content = None
    if schema is not None:
        content = {"application/json": OpenAPIMediaType(schema=schema)}
    return OpenAPIResponse(
        description=description,
        headers={"Cache-Control": NO_STORE_HEADER},
        content=content,
    )


@dataclass
class LaunchStatusOperation(Operation):
    """`GET /pos/v1/launch-tokens/{launch_id}`."""

    def __post_init__(self) -> None:
        self.summary = "Show the status of a launch link this partner minted"
        ok: Responses = {"200": _ok("The link's status.", _STATUS)}
        self.responses = ok | _problems({404: _NOT_FOUND})


@dataclass
class RevokeOperation(Operation):
    """`DELETE /pos/v1/launch-tokens/{launch_id}`."""

    def __post_init__(self) -> None:
        self.summary = "Revoke a pending launch link"
        ok: Responses = {"204": _ok("Revoked: opening it shows a 410 page.", None)}
        self.responses = ok | _problems(
            {
                404: _NOT_FOUND,
                409: (
                    "launch_token_not_pending: already redeemed, expired,"
                    " revoked, or being redeemed right now",
                    {},
                ),
            }
        )


@dataclass
class RevocationsOperation(Operation):
    """`POST /pos/v1/launch-tokens/revocations`."""

    def __post_init__(self) -> None:
        self.summary = "Revoke every pending link of a user and/or a location"
        self.request_body = RequestBody(
            required=True,
            content={"application/json": OpenAPIMediaType(schema=_FILTER)},
        )
        ok: Responses = {"200": _ok("How many links were revoked.", _REVOKED)}
        self.responses = ok | _problems(
            {
                400: ("malformed_json: the body is not JSON", {}),
                413: ("body_too_large: over 16 KiB", {}),
                415: ("unsupported_media_type: expected application/json", {}),
                422: ("validation_failed: no filter, or one of the wrong type", {}),
            }
        )
