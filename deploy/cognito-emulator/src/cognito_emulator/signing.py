"""The emulator's own RSA key: signs partner access tokens, publishes its JWK."""

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

# Cognito's access tokens live one hour unless the app client says otherwise.
ACCESS_TOKEN_TTL_S: Final = 3600
KEY_BITS: Final = 2048


def _new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


@dataclass(frozen=True)
class TokenSigner:
    """One key per emulator process, generated at start, never written anywhere."""

    region: str
    private_key: rsa.RSAPrivateKey = field(default_factory=_new_private_key)
    kid: str = field(default_factory=lambda: f"emulator-{uuid.uuid4().hex[:16]}")

    def issuer(self, pool_id: str) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(
            RSAAlgorithm.to_jwk(self.private_key.public_key())
        )
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return jwk

    def access_token(
        self, pool_id: str, client_id: str, scopes: list[str]
    ) -> tuple[str, int]:
        """An access token shaped like Cognito's client-credentials ones."""
        now = int(time.time())
        claims = {
            "sub": client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": now,
            "iss": self.issuer(pool_id),
            "exp": now + ACCESS_TOKEN_TTL_S,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client_id,
        }
        token = jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid}
        )
        return token, ACCESS_TOKEN_TTL_S
