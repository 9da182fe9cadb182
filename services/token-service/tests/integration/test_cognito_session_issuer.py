"""CognitoSessionIssuer against the Cognito emulator (moto), counting real calls."""

import asyncio
import gzip
import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources

import jwt
import pytest

from testsupport.cognito import CognitoStack
from token_service.adapters.outbound.cognito_session_issuer import (
    CognitoConfig,
    CognitoSessionIssuer,
    derive_password,
)
from token_service.application.ports import DependencyUnavailable
from token_service.domain.provisioning import ProvisionedUser

pytestmark = pytest.mark.integration


def _config(cognito: CognitoStack, password_key: bytes = b"k" * 32) -> CognitoConfig:
    return CognitoConfig(
        endpoint_url=cognito.endpoint_url,
        region=cognito.region,
        user_pool_id=cognito.pool_id,
        client_id=cognito.service_client_id,
        client_secret=cognito.service_client_secret,
        password_key=password_key,
        max_workers=4,
    )


def _user(created: bool = True, pos_user_id: str | None = None) -> ProvisionedUser:
    return ProvisionedUser(
        pos_user_id=pos_user_id or str(uuid.uuid4()),
        partner_id="partner-1",
        external_user_id="EMP-1",
        display_name="Ada Lovelace",
        location_id=str(uuid.uuid4()),
        role_slug="location_cashier",
        permissions=("sale.create",),
        user_created=created,
        membership_created=created,
    )


@pytest.fixture
def issuer(cognito: CognitoStack) -> Iterator[CognitoSessionIssuer]:
    session_issuer = CognitoSessionIssuer(_config(cognito))
    yield session_issuer
    session_issuer.close()


def _motos_public_key() -> jwt.PyJWK:
    """moto signs the user tokens it issues with its own fixed key pair; the
    emulator does not publish it (its private half is public), so the test
    reads the public half from the package."""
    packaged = resources.files("moto.cognitoidp") / "resources/jwks-public.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(packaged.read_bytes()))["keys"][0])


def _verified_id_claims(cognito: CognitoStack, id_token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        id_token,
        _motos_public_key().key,
        algorithms=["RS256"],
        issuer=cognito.issuer,
        audience=cognito.service_client_id,
    )
    return claims


async def test_first_issue_creates_the_user_with_its_attributes(
    cognito: CognitoStack, issuer: CognitoSessionIssuer
) -> None:
    """A first launch creates the Cognito user; the ID token carries its attributes."""
    user = _user(created=True)

    tokens = await issuer.issue(user)

    claims = _verified_id_claims(cognito, tokens.id_token)
    assert claims["cognito:username"] == user.pos_user_id
    assert claims["custom:partner_id"] == user.partner_id
    assert claims["custom:external_user_id"] == user.external_user_id
    assert claims["name"] == user.display_name
    assert tokens.access_token
    assert tokens.refresh_token
    assert tokens.expires_in_s > 0


async def test_repeat_issue_costs_exactly_one_cognito_call(
    cognito: CognitoStack, issuer: CognitoSessionIssuer
) -> None:
    """A repeat launch of a known user is a single AdminInitiateAuth."""
    user = _user(created=True)
    await issuer.issue(user)
    cognito.reset_calls()

    await issuer.issue(replace(user, user_created=False, membership_created=False))

    assert cognito.calls() == {"AdminInitiateAuth": 1}


async def test_user_missing_from_cognito_is_created_on_demand(
    cognito: CognitoStack, issuer: CognitoSessionIssuer
) -> None:
    """A user provisioning already knew, but Cognito does not, still signs in."""
    user = _user(created=False)

    tokens = await issuer.issue(user)

    claims = _verified_id_claims(cognito, tokens.id_token)
    assert claims["cognito:username"] == user.pos_user_id


async def test_concurrent_first_launches_of_one_user_all_sign_in(
    cognito: CognitoStack, issuer: CognitoSessionIssuer
) -> None:
    """Ten simultaneous first launches of one user each get a session."""
    user = _user(created=True)

    results = await asyncio.gather(*(issuer.issue(user) for _ in range(10)))

    usernames = {
        _verified_id_claims(cognito, tokens.id_token)["cognito:username"]
        for tokens in results
    }
    assert usernames == {user.pos_user_id}


async def test_issue_survives_a_password_key_rotation(cognito: CognitoStack) -> None:
    """After a password key change the password is reset and sign-in retried once."""
    user = _user(created=True)
    old = CognitoSessionIssuer(_config(cognito, password_key=b"old-key" * 5))
    new = CognitoSessionIssuer(_config(cognito, password_key=b"new-key" * 5))
    try:
        await old.issue(user)
        cognito.reset_calls()

        tokens = await new.issue(replace(user, user_created=False))
    finally:
        old.close()
        new.close()

    assert tokens.id_token
    assert cognito.calls() == {"AdminInitiateAuth": 2, "AdminSetUserPassword": 1}


async def test_refresh_returns_new_tokens_and_keeps_the_refresh_token(
    issuer: CognitoSessionIssuer,
) -> None:
    """REFRESH_TOKEN_AUTH gives fresh tokens; the old refresh token stays in use."""
    user = _user(created=True)
    first = await issuer.issue(user)

    refreshed = await issuer.refresh(user.pos_user_id, first.refresh_token)

    assert refreshed.access_token
    assert refreshed.id_token
    assert refreshed.refresh_token == first.refresh_token


async def test_sign_out_makes_the_refresh_fail(issuer: CognitoSessionIssuer) -> None:
    """After a global sign-out the refresh token is refused."""
    user = _user(created=True)
    tokens = await issuer.issue(user)

    await issuer.sign_out(user.pos_user_id)

    with pytest.raises(DependencyUnavailable) as caught:
        await issuer.refresh(user.pos_user_id, tokens.refresh_token)
    assert caught.value.dependency == "cognito"
    assert tokens.refresh_token not in str(caught.value)


async def test_sign_out_of_an_unknown_user_is_not_an_error(
    issuer: CognitoSessionIssuer,
) -> None:
    """Signing out a user Cognito never saw succeeds quietly."""
    await issuer.sign_out(str(uuid.uuid4()))


async def test_unreachable_endpoint_fails_fast_as_dependency_unavailable(
    cognito: CognitoStack,
) -> None:
    """A closed port becomes DependencyUnavailable within the configured timeouts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = replace(
        _config(cognito),
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        connect_timeout_s=0.2,
        read_timeout_s=0.2,
        max_attempts=1,
    )
    session_issuer = CognitoSessionIssuer(config)
    started = time.perf_counter()
    try:
        with pytest.raises(DependencyUnavailable) as caught:
            await session_issuer.issue(_user(created=False))
    finally:
        session_issuer.close()

    assert caught.value.dependency == "cognito"
    assert time.perf_counter() - started < 2


async def test_silent_endpoint_times_out_as_dependency_unavailable(
    cognito: CognitoStack,
) -> None:
    """A server that accepts but never answers is cut off by the read timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        config = replace(
            _config(cognito),
            endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            connect_timeout_s=0.2,
            read_timeout_s=0.3,
            max_attempts=1,
        )
        session_issuer = CognitoSessionIssuer(config)
        started = time.perf_counter()
        try:
            with pytest.raises(DependencyUnavailable) as caught:
                await session_issuer.sign_out(str(uuid.uuid4()))
        finally:
            session_issuer.close()

    assert caught.value.detail == "ReadTimeoutError"
    assert time.perf_counter() - started < 2


def test_derived_password_meets_the_pool_policy() -> None:
    """Every derived password has upper, lower, digit and symbol, 16+ characters."""
    for index in range(200):
        password = derive_password(b"key", f"user-{index}")

        assert len(password) >= 16
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(not c.isalnum() for c in password)


def test_config_repr_hides_the_secrets() -> None:
    """Neither the client secret nor the password key shows in a repr."""
    config = CognitoConfig(
        endpoint_url=None,
        region="us-east-1",
        user_pool_id="us-east-1_x",
        client_id="client",
        client_secret="s3cr3t-value",
        password_key=b"password-key-bytes",
    )

    assert "s3cr3t-value" not in repr(config)
    assert "password-key-bytes" not in repr(config)
