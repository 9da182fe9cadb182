"""The merged JWKS, moto's own user tokens, and the Cognito call counter."""

import base64
import hashlib
import hmac

import boto3
import httpx
import jwt
import pytest

from testsupport.cognito import CognitoStack
from testsupport.names import unique

pytestmark = pytest.mark.integration


def _client(cognito: CognitoStack) -> object:
    return boto3.client(
        "cognito-idp",
        region_name=cognito.region,
        endpoint_url=cognito.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _secret_hash(cognito: CognitoStack, username: str) -> str:
    message = (username + cognito.service_client_id).encode()
    key = cognito.service_client_secret.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def test_jwks_serves_the_emulator_key_and_motos_key(cognito: CognitoStack) -> None:
    """Both key sets are published, at the pool path and at the bare path."""
    pool_keys = httpx.get(cognito.jwks_url, timeout=5).json()["keys"]
    bare_keys = httpx.get(
        f"{cognito.endpoint_url}/.well-known/jwks.json", timeout=5
    ).json()["keys"]

    kids = {key["kid"] for key in pool_keys}
    assert len(kids) == 2
    assert "dummy" in kids
    assert {key["kid"] for key in bare_keys} == kids


def test_moto_user_tokens_still_verify_against_the_merged_jwks(
    cognito: CognitoStack,
) -> None:
    """An ID token from AdminInitiateAuth verifies with the same JWKS URL."""
    idp = _client(cognito)
    username = unique("user")
    password = "Aa1!" + unique("pw")
    idp.admin_create_user(  # type: ignore[attr-defined]
        UserPoolId=cognito.pool_id, Username=username, MessageAction="SUPPRESS"
    )
    idp.admin_set_user_password(  # type: ignore[attr-defined]
        UserPoolId=cognito.pool_id, Username=username, Password=password, Permanent=True
    )

    result = idp.admin_initiate_auth(  # type: ignore[attr-defined]
        UserPoolId=cognito.pool_id,
        ClientId=cognito.service_client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": username,
            "PASSWORD": password,
            "SECRET_HASH": _secret_hash(cognito, username),
        },
    )["AuthenticationResult"]

    id_token = result["IdToken"]
    key = jwt.PyJWKClient(cognito.jwks_url).get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        issuer=cognito.issuer,
        audience=cognito.service_client_id,
    )
    assert claims["cognito:username"] == username


def test_calls_are_counted_by_operation_and_reset(cognito: CognitoStack) -> None:
    """Each cognito-idp request is counted under its X-Amz-Target operation."""
    idp = _client(cognito)
    cognito.reset_calls()

    idp.describe_user_pool(UserPoolId=cognito.pool_id)  # type: ignore[attr-defined]
    idp.describe_user_pool(UserPoolId=cognito.pool_id)  # type: ignore[attr-defined]
    idp.list_user_pool_clients(UserPoolId=cognito.pool_id)  # type: ignore[attr-defined]
    counted = cognito.calls()
    cognito.reset_calls()

    assert counted == {"DescribeUserPool": 2, "ListUserPoolClients": 1}
    assert cognito.calls() == {}


def test_health_answers(cognito: CognitoStack) -> None:
    """The health route is up while the emulator runs."""
    response = httpx.get(f"{cognito.endpoint_url}/_emulator/health", timeout=5)

    assert response.status_code == 200
