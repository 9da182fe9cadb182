"""The OpenAPI description of the partner API: every status, body and header.

The handler reads its body itself (to answer 413, 415 and 400 exactly as
DESIGN §3.2 says), so Litestar cannot infer the request or the responses;
`LaunchTokenOperation` states them. Served at `/schema/openapi.json`.
"""

from dataclasses import dataclass
from typing import Final

from litestar.enums import ParamType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)

from token_service.adapters.inbound.http_errors import PROBLEM_TYPE, RETRY_AFTER_S
from token_service.application.idempotent_mint import KEY_MAX
from token_service.domain.launch import (
    DISPLAY_NAME_MAX,
    EXTERNAL_USER_ID_MAX,
    ROLE_SLUGS,
)

BEARER: Final = "partner_bearer"
STRING: Final = Schema(type=OpenAPIType.STRING)
NULL: Final = Schema(type=OpenAPIType.NULL)
_LAUNCH_REQUEST: Final = Schema(
    type=OpenAPIType.OBJECT,
    required=["external_user_id", "location_id"],
    additional_properties=False,
    properties={
        "external_user_id": Schema(
            type=OpenAPIType.STRING,
            min_length=1,
            max_length=EXTERNAL_USER_ID_MAX,
            description="Opaque, case-sensitive; no surrounding whitespace, NFC.",
        ),
        "display_name": Schema(
            one_of=[Schema(type=OpenAPIType.STRING, min_length=1), NULL],
            description=f"1 to {DISPLAY_NAME_MAX} characters after trimming.",
        ),
        "location_id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
        "role_slug": Schema(
            one_of=[Schema(type=OpenAPIType.STRING, enum=list(ROLE_SLUGS)), NULL],
            description="Absent or null means location_cashier.",
        ),
    },
)
_CREATED: Final = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "launch_url", "expires_at"],
    properties={
        "id": Schema(
            type=OpenAPIType.STRING,
            description="The link's id, for GET and DELETE /pos/v1/launch-tokens/{id}.",
        ),
        "launch_url": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI),
        "expires_at": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
    },
)
_FIELD_PROBLEM: Final = Schema(
    type=OpenAPIType.OBJECT,
    required=["field", "message"],
    properties={"field": STRING, "message": STRING},
)
# RFC 9457 problem details, with our stable `code` and per-field `errors`.
_PROBLEM: Final = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail", "code"],
    properties={
        "type": STRING,
        "title": STRING,
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": STRING,
        "code": STRING,
        "errors": Schema(type=OpenAPIType.ARRAY, items=_FIELD_PROBLEM),
    },
)
NO_STORE_HEADER: Final = OpenAPIHeader(schema=Schema(const="no-store"), required=True)
RETRY_AFTER_HEADER: Final = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9]+$"),
    required=True,
    description=f"Seconds to wait before retrying (503: {RETRY_AFTER_S}).",
)
WWW_AUTHENTICATE_HEADER: Final = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, pattern=r'^Bearer error="'),
    required=True,
)
_PROBLEMS: Final = {
    400: ("malformed_json: the body is not JSON", {}),
    401: ("invalid_token", {"WWW-Authenticate": WWW_AUTHENTICATE_HEADER}),
    403: ("insufficient_scope (with WWW-Authenticate) or partner_suspended", {}),
    413: ("body_too_large: over 16 KiB", {}),
    415: ("unsupported_media_type: expected application/json", {}),
    422: (
        "validation_failed (one entry per field, the Idempotency-Key header"
        " included), location_not_permitted, or idempotency_key_reused: the key"
        " was first used with another body",
        {},
    ),
    429: ("rate_limited", {"Retry-After": RETRY_AFTER_HEADER}),
    503: ("service_unavailable", {"Retry-After": RETRY_AFTER_HEADER}),
}


_IDEMPOTENCY_KEY: Final = Parameter(
    name="Idempotency-Key",
    param_in=ParamType.HEADER,
    required=False,
    description=(
        "Makes the call safe to retry: the same key and body within the link's"
        " lifetime answer the same link."
    ),
    schema=Schema(
        type=OpenAPIType.STRING,
        min_length=1,
        max_length=KEY_MAX,
        pattern=r"^[!-~]+$",
    ),
)
_REPLAYED: Final = OpenAPIHeader(
    schema=Schema(const="true"),
    required=False,
    description="Present on the answer to a retry: the link minted the first time.",
)


def problem_response(
    description: str, headers: dict[str, OpenAPIHeader]
) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        headers={"Cache-Control": NO_STORE_HEADER, **headers},
        content={PROBLEM_TYPE: OpenAPIMediaType(schema=_PROBLEM)},
    )


@dataclass
class LaunchTokenOperation(Operation):
    """`POST /pos/v1/launch-tokens` as DESIGN §3 defines it."""

    def __post_init__(self) -> None:
        self.summary = "Create a single-use launch link for one user"
        self.request_body = RequestBody(
            required=True,
            content={"application/json": OpenAPIMediaType(schema=_LAUNCH_REQUEST)},
        )
        self.parameters = [_IDEMPOTENCY_KEY]
        created = OpenAPIResponse(
            description=(
                "The link, valid 10 minutes, single use. A retry with the same"
                " Idempotency-Key and body answers the same link again, marked"
                " with Idempotent-Replayed: true."
            ),
            headers={
                "Cache-Control": NO_STORE_HEADER,
                "Idempotent-Replayed": _REPLAYED,
            },
            content={"application/json": OpenAPIMediaType(schema=_CREATED)},
        )
        responses: dict[str, OpenAPIResponse | Reference] = {"201": created}
        self.responses = responses | {
            str(status): problem_response(description, headers)
            for status, (description, headers) in _PROBLEMS.items()
        }


def openapi_config() -> OpenAPIConfig:
    """The document at `/schema/openapi.json`, with the partner bearer scheme."""
    scheme = SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="A Cognito access token with the scope tilt/pos:launch.",
    )
    return OpenAPIConfig(
        title="Tilt POS launch links",
        version="1.0.0",
        path="/schema",
        render_plugins=[JsonRenderPlugin()],
        components=Components(security_schemes={BEARER: scheme}),
    )
