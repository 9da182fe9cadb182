"""The emulator's client-credentials endpoint, checked like a partner would use it."""

import httpx
import jwt
import pytest

from testsupport.cognito import CognitoStack

pytestmark = pytest.mark.integration

LAUNCH_SCOPE = "tilt/pos:launch"


def _post_token(cognito: CognitoStack, **kwargs: object) -> httpx.Response:
    return httpx.post(cognito.token_url, timeout=5, **kwargs)  # type: ignore[arg-type]


def _verified(cognito: CognitoStack, token: str) -> dict[str, object]:
    signing_key = jwt.PyJWKClient(cognito.jwks_url).get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        issuer=cognito.issuer,
        options={"require": ["exp", "iat", "iss", "sub"]},
    )
    return claims


def test_basic_credentials_get_a_token_that_verifies_with_the_aws_issuer(
    cognito: CognitoStack,
) -> None:
    """A partner's token verifies against the JWKS URL and carries Cognito's claims."""
    client_id, secret = cognito.partner_client()

    response = _post_token(
        cognito, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = _verified(cognito, body["access_token"])
    assert claims["sub"] == client_id
    assert claims["client_id"] == client_id
    assert claims["token_use"] == "access"
    assert claims["scope"] == LAUNCH_SCOPE
    assert claims["version"] == 2
    assert {"auth_time", "jti"} <= claims.keys()
    assert "aud" not in claims


def test_form_credentials_with_an_explicit_scope_are_accepted(
    cognito: CognitoStack,
) -> None:
    """Credentials in the form body work as well as HTTP Basic."""
    client_id, secret = cognito.partner_client()

    response = _post_token(
        cognito,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": LAUNCH_SCOPE,
        },
    )

    assert response.status_code == 200
    assert _verified(cognito, response.json()["access_token"])["scope"] == LAUNCH_SCOPE


def test_wrong_secret_is_an_invalid_client(cognito: CognitoStack) -> None:
    """A bad secret gets 401 invalid_client and no token."""
    client_id, _ = cognito.partner_client()

    response = _post_token(
        cognito, data={"grant_type": "client_credentials"}, auth=(client_id, "nope")
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_unknown_client_is_an_invalid_client(cognito: CognitoStack) -> None:
    """A client id that no pool knows gets 401 invalid_client."""
    response = _post_token(
        cognito,
        data={"grant_type": "client_credentials"},
        auth=("unknownclient", "whatever"),
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_scope_outside_the_allowed_ones_is_invalid_scope(cognito: CognitoStack) -> None:
    """Asking for a scope the client was not given gets 400 invalid_scope."""
    client_id, secret = cognito.partner_client()

    response = _post_token(
        cognito,
        data={
            "grant_type": "client_credentials",
            "scope": f"{LAUNCH_SCOPE} tilt/admin",
        },
        auth=(client_id, secret),
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_scope"}


def test_other_grant_types_are_unsupported(cognito: CognitoStack) -> None:
    """Only the client-credentials grant exists here."""
    client_id, secret = cognito.partner_client()

    response = _post_token(
        cognito, data={"grant_type": "password"}, auth=(client_id, secret)
    )

    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}


def test_missing_grant_type_is_an_invalid_request(cognito: CognitoStack) -> None:
    """A request without grant_type gets 400 invalid_request."""
    response = _post_token(cognito, data={}, auth=("a", "b"))

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}


def test_client_without_the_client_credentials_flow_is_refused(
    cognito: CognitoStack,
) -> None:
    """The token service's own client (no OAuth flows) cannot get a partner token."""
    response = _post_token(
        cognito,
        data={"grant_type": "client_credentials"},
        auth=(cognito.service_client_id, cognito.service_client_secret),
    )

    assert response.status_code == 400
    assert response.json() == {"error": "unauthorized_client"}
