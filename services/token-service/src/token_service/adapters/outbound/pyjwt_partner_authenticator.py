"""Partner authentication: Cognito access tokens verified with PyJWT (DESIGN §3.1).

RS256 only, keys from the pool's JWKS through a cached `PyJWKClient` (it
refetches once on an unknown `kid`). The key lookup may do blocking HTTP, so
it runs in a worker thread, never on the event loop. partner_id = `client_id`.
"""

import asyncio
from typing import Any, Final

import jwt
from jwt import PyJWKClient

from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import InsufficientScope, InvalidToken

ALGORITHM: Final = "RS256"
REQUIRED_CLAIMS: Final = ("exp", "iss", "token_use", "client_id", "scope")
JWKS_CACHE_S: Final = 300


class PyJwtPartnerAuthenticator:
    """`PartnerAuthenticator` on PyJWT and the user pool's JWKS."""

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        scope: str,
        jwks_client: PyJWKClient | None = None,
    ) -> None:
        self._issuer = issuer
        self._scope = scope
        self._jwks = jwks_client or PyJWKClient(
            jwks_url, cache_keys=True, lifespan=JWKS_CACHE_S, timeout=5
        )

    async def authenticate(self, authorization: str | None) -> str:
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken() from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("expected an RS256 access token")

        signing_key = await asyncio.to_thread(self._signing_key, token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken() from exc
        client_id = claims.get("client_id")
        if claims.get("token_use") != "access" or not isinstance(client_id, str):
            raise InvalidToken("expected a Cognito access token")

        scope = claims.get("scope")
        if not isinstance(scope, str) or self._scope not in scope.split():
            raise InsufficientScope(f"expected the scope {self._scope}")
        return client_id

    def _signing_key(self, token: str) -> Any:
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise DependencyUnavailable("jwks", type(exc).__name__) from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise InvalidToken() from exc


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise InvalidToken("expected an Authorization: Bearer header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected an Authorization: Bearer header")
    return token.strip()
