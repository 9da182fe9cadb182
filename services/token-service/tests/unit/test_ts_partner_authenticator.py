"""Partner bearer tokens: RS256 Cognito access tokens with the launch scope (§3.1)."""

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from token_service.adapters.outbound.pyjwt_partner_authenticator import (
    PyJwtPartnerAuthenticator,
)
from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import InsufficientScope, InvalidToken

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FixedSigningKey:
    def __init__(self, key: Any) -> None:
        self.key = key


class FixedJwksClient:
    """Knows one kid, like a JWKS with one key."""

    def get_signing_key_from_jwt(self, token: str) -> FixedSigningKey:
        if jwt.get_unverified_header(token).get("kid") != "k1":
            raise jwt.PyJWKClientError("unknown kid")
        return FixedSigningKey(KEY.public_key())


def access_token(key: Any = KEY, kid: str = "k1", **changes: object) -> str:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "token_use": "access",
        "client_id": "partner-1",
        "scope": "tilt/pos:launch other/scope",
        "exp": int(time.time()) + 300,
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def authenticator() -> PyJwtPartnerAuthenticator:
    return PyJwtPartnerAuthenticator(
        "http://unused",
        ISSUER,
        "tilt/pos:launch",
        jwks_client=FixedJwksClient(),  # type: ignore[arg-type]
    )


async def test_valid_access_token_gives_the_client_id() -> None:
    """partner_id is the token's client_id."""
    partner = await authenticator().authenticate(f"Bearer {access_token()}")

    assert partner == "partner-1"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic abc",
        "Bearer not-a-jwt",
        f"Bearer {access_token(key=OTHER_KEY)}",
        f"Bearer {access_token(kid='unknown')}",
        f"Bearer {access_token(iss='https://elsewhere')}",
        f"Bearer {access_token(token_use='id')}",
        f"Bearer {access_token(exp=int(time.time()) - 10)}",
        f"Bearer {access_token(client_id=None)}",
        "Bearer " + jwt.encode({"client_id": "x"}, "k" * 32, algorithm="HS256"),
    ],
)
async def test_bad_tokens_are_invalid(header: str | None) -> None:
    """Missing, malformed, forged, expired, wrong issuer/use or HS256: invalid_token."""
    with pytest.raises(InvalidToken):
        await authenticator().authenticate(header)


@pytest.mark.parametrize("scope", ["other/scope", "tilt/pos:launchx", ""])
async def test_token_without_the_scope_is_insufficient(scope: str) -> None:
    """The launch scope must be one of the space-separated scopes."""
    with pytest.raises(InsufficientScope):
        await authenticator().authenticate(f"Bearer {access_token(scope=scope)}")


async def test_unreachable_jwks_is_a_dependency_failure() -> None:
    """No key set to verify with: DependencyUnavailable, not a 401."""
    real = PyJwtPartnerAuthenticator(
        "http://127.0.0.1:9/jwks.json", ISSUER, "tilt/pos:launch"
    )

    with pytest.raises(DependencyUnavailable):
        await real.authenticate(f"Bearer {access_token()}")


class CountingJwksClient(FixedJwksClient):
    """Counts key look-ups, to see which tokens were verified again."""

    def __init__(self) -> None:
        self.lookups = 0

    def get_signing_key_from_jwt(self, token: str) -> FixedSigningKey:
        self.lookups += 1
        return super().get_signing_key_from_jwt(token)


def counting_authenticator() -> tuple[PyJwtPartnerAuthenticator, CountingJwksClient]:
    jwks = CountingJwksClient()
    partner_auth = PyJwtPartnerAuthenticator(
        "http://unused",
        ISSUER,
        "tilt/pos:launch",
        jwks_client=jwks,  # type: ignore[arg-type]
    )
    return partner_auth, jwks


async def test_a_kid_is_fetched_once_and_later_tokens_verify_inline() -> None:
    """Two tokens under one kid: one key look-up, both verified and accepted."""
    partner_auth, jwks = counting_authenticator()

    first = await partner_auth.authenticate(f"Bearer {access_token()}")
    second = await partner_auth.authenticate(
        f"Bearer {access_token(exp=int(time.time()) + 299)}"
    )
    again = await partner_auth.authenticate(f"Bearer {access_token()}")

    assert (first, second, again) == ("partner-1", "partner-1", "partner-1")
    assert jwks.lookups == 1


async def test_a_remembered_token_is_refused_once_its_exp_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The verified-token cache re-checks exp on every use."""
    partner_auth = authenticator()
    token = access_token(exp=int(time.time()) + 60)
    assert await partner_auth.authenticate(f"Bearer {token}") == "partner-1"

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)

    with pytest.raises(InvalidToken):
        await partner_auth.authenticate(f"Bearer {token}")


async def test_a_refused_token_is_never_remembered() -> None:
    """A forged token stays refused however often it is presented."""
    partner_auth = authenticator()
    forged = f"Bearer {access_token(key=OTHER_KEY)}"

    for _ in range(3):
        with pytest.raises(InvalidToken):
            await partner_auth.authenticate(forged)
