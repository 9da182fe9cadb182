"""Partner authentication: Cognito access tokens verified with PyJWT (DESIGN §3.1).

RS256 only, keys from the pool's JWKS through a cached `PyJWKClient` (it
refetches once on an unknown `kid`). Fetching a key may do blocking HTTP, so
it runs in a worker thread; a key already fetched is kept by `kid` for
`JWKS_CACHE_S` and the signature is verified on the loop (an RS256 verify
costs less than the thread hand-off). A token that passed every check is
remembered by its SHA-256 until its `exp` (bounded LRU), so a partner reusing
its token pays one dictionary look-up per mint. partner_id = `client_id`.
"""

import asyncio
import hashlib
import time
from collections import OrderedDict
from typing import Any, Final

import jwt
from jwt import PyJWKClient

from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import InsufficientScope, InvalidToken

ALGORITHM: Final = "RS256"
REQUIRED_CLAIMS: Final = ("exp", "iss", "token_use", "client_id", "scope")
JWKS_CACHE_S: Final = 300
# A partner holds one token at a time (an hour's life); this bounds memory
# whatever the number of partners or tokens presented.
VERIFIED_CACHE_SIZE: Final = 4096


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
        self._keys: dict[str, tuple[float, Any]] = {}
        self._verified: OrderedDict[bytes, tuple[str, float]] = OrderedDict()

    async def authenticate(self, authorization: str | None) -> str:
        token = _bearer(authorization)
        digest = hashlib.sha256(token.encode()).digest()
        known = self._verified.get(digest)
        if known is not None:
            client_id, expires_at = known
            if time.time() < expires_at:
                self._verified.move_to_end(digest)
                return client_id
            del self._verified[digest]
            raise InvalidToken()

        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken() from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("expected an RS256 access token")

        signing_key = self._cached_key(header.get("kid"))
        if signing_key is None:
            signing_key = await asyncio.to_thread(self._fetch_key, token, header)
        client_id, expires_at = self._verify(token, signing_key)
        self._verified[digest] = (client_id, expires_at)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return client_id

    def _verify(self, token: str, signing_key: Any) -> tuple[str, float]:
        """Every check of §3.1; the partner id and the token's `exp`."""
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
        return client_id, float(claims["exp"])

    def _cached_key(self, kid: object) -> Any:
        if not isinstance(kid, str):
            return None
        kept = self._keys.get(kid)
        if kept is None or time.monotonic() - kept[0] > JWKS_CACHE_S:
            return None
        return kept[1]

    def _fetch_key(self, token: str, header: dict[str, Any]) -> Any:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise DependencyUnavailable("jwks", type(exc).__name__) from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise InvalidToken() from exc
        kid = header.get("kid")
        if isinstance(kid, str):
            self._keys[kid] = (time.monotonic(), key)
        return key


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise InvalidToken("expected an Authorization: Bearer header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected an Authorization: Bearer header")
    return token.strip()
