"""The partner's link controls: status, revocation of one link, revocation of many."""

from typing import Any, Final

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath

from token_service.adapters.inbound.http_errors import (
    NO_STORE,
    problem_of,
    rfc3339,
)
from token_service.adapters.inbound.litestar_partner_api import (
    MAX_BODY_BYTES,
    read_json_body,
)
from token_service.adapters.inbound.openapi_launch_links import (
    LaunchStatusOperation,
    RevocationsOperation,
    RevokeOperation,
)
from token_service.adapters.inbound.openapi_partner_api import BEARER
from token_service.adapters.inbound.use_cases import LinkUseCases, use_cases
from token_service.domain.errors import LaunchNotFound, TokenServiceError

PATH: Final = "/pos/v1/launch-tokens/{launch_id:str}"


class LaunchTokenStatus(msgspec.Struct, frozen=True):
    id: str
    status: str
    created_at: str | None
    expires_at: str
    redeemed_at: str | None
    location_id: str
    external_user_id: str


class RevocationRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The body as sent; types are checked by the use case."""

    external_user_id: Any = None
    location_id: Any = None


class Revoked(msgspec.Struct, frozen=True):
    revoked: int


_decoder: Final = msgspec.json.Decoder(RevocationRequest)


async def _partner(request: Request[Any, Any, Any]) -> tuple[str, LinkUseCases]:
    """The authenticated partner and the link use cases, or a TokenServiceError."""
    app = use_cases(request)
    partner_id = await app.authenticator.authenticate(
        request.headers.get("authorization")
    )
    if app.links is None:
        # Only a ledger the registry can read (Redis) knows its links.
        raise LaunchNotFound()
    return partner_id, app.links


def _json(body: msgspec.Struct, status: int = 200) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type="application/json",
        headers=NO_STORE,
    )


@get(PATH, operation_class=LaunchStatusOperation, security=[{BEARER: []}])
async def show_launch_token(
    request: Request[Any, Any, Any], launch_id: FromPath[str]
) -> Response[bytes]:
    try:
        partner_id, links = await _partner(request)
        found = await links.show.execute(partner_id, launch_id)
    except TokenServiceError as error:
        return problem_of(error)

    return _json(
        LaunchTokenStatus(
            id=found.jti,
            status=found.status,
            created_at=rfc3339(found.created_at) if found.created_at else None,
            expires_at=rfc3339(found.expires_at),
            redeemed_at=rfc3339(found.redeemed_at) if found.redeemed_at else None,
            location_id=found.location_id,
            external_user_id=found.external_user_id,
        )
    )


@delete(
    PATH,
    status_code=200,
    operation_class=RevokeOperation,
    security=[{BEARER: []}],
)
async def revoke_launch_token(
    request: Request[Any, Any, Any], launch_id: FromPath[str]
) -> Response[bytes]:
    """204 when revoked; the decorator's 200 only lets the problems carry a body."""
    try:
        partner_id, links = await _partner(request)
        await links.revoke.execute(partner_id, launch_id)
    except TokenServiceError as error:
        return problem_of(error)
    return Response(content=b"", status_code=204, headers=NO_STORE)


@post(
    "/pos/v1/launch-tokens/revocations",
    status_code=200,
    request_max_body_size=MAX_BODY_BYTES + 1,
    operation_class=RevocationsOperation,
    security=[{BEARER: []}],
)
async def revoke_launch_tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    try:
        partner_id, links = await _partner(request)
    except TokenServiceError as error:
        return problem_of(error)

    fields = await read_json_body(
        request, _decoder, "expected an object with external_user_id and/or location_id"
    )
    if isinstance(fields, Response):
        return fields

    try:
        revoked = await links.revoke_many.execute(
            partner_id, fields.external_user_id, fields.location_id
        )
    except TokenServiceError as error:
        return problem_of(error)
    return _json(Revoked(revoked=revoked))


LINK_ROUTES: Final = (show_launch_token, revoke_launch_token, revoke_launch_tokens)
