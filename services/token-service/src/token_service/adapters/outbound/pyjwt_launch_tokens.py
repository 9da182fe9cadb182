"""Launch tokens as compact HS256 JWS through PyJWT (DESIGN §4), with a key ring.

One active `kid` signs; every key of the ring verifies, so keys rotate with
no failed launch. Claims are exactly jti, iat, exp, iss and aud. Expiry is
checked against the caller's clock after the signature: a forged token is
invalid even when its `exp` has passed.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt

from token_service.application.launch_ports import VerifiedLaunchToken
from token_service.domain.errors import LaunchTokenExpired, LaunchTokenInvalid

ALGORITHM: Final = "HS256"
REQUIRED_CLAIMS: Final = ("jti", "iat", "exp", "iss", "aud")
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MIN_KEY_BYTES: Final = 32


class KeyRingError(ValueError):
    """The configured key ring cannot sign or verify safely."""


class PyJwtLaunchTokens:
    """`LaunchTokens` on PyJWT; a ring that cannot work raises `KeyRingError`."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_kid: str,
        issuer: str,
        audience: str,
        leeway_s: int = 0,
    ) -> None:
        if active_kid not in keys:
            raise KeyRingError(f"active kid {active_kid!r} is not in the key ring")
        for kid, key in keys.items():
            if len(key) < MIN_KEY_BYTES:
                raise KeyRingError(
                    f"key {kid!r} has {len(key)} bytes, "
                    f"expected at least {MIN_KEY_BYTES}"
                )
        self._keys = dict(keys)
        self._active_kid = active_kid
        self._issuer = issuer
        self._audience = audience
        self._leeway = timedelta(seconds=leeway_s)

    def sign(self, jti: str, issued_at: datetime, expires_at: datetime) -> str:
        claims = {
            "jti": jti,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(
            claims,
            self._keys[self._active_kid],
            algorithm=ALGORITHM,
            headers={"kid": self._active_kid},
        )

    def verify(self, token: str, now: datetime) -> VerifiedLaunchToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise LaunchTokenInvalid() from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise LaunchTokenInvalid()
        key = self._keys.get(kid)
        if key is None:
            raise LaunchTokenInvalid()

        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise LaunchTokenInvalid() from exc
        jti, exp = claims["jti"], claims["exp"]
        if not isinstance(jti, str) or not jti or not isinstance(exp, int):
            raise LaunchTokenInvalid()

        expires_at = datetime.fromtimestamp(exp, UTC)
        if now >= expires_at + self._leeway:
            raise LaunchTokenExpired()
        return VerifiedLaunchToken(jti=jti, expires_at=expires_at)
