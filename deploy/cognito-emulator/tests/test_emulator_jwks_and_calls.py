"""The merged JWKS, moto's own user tokens, and the Cognito call counter."""

import base64
import hashlib
import hmac

import boto3
import httpx
import pytest

from testsupport.cognito import CognitoStack

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


def test_jwks_publishes_only_the_emulators_own_key(cognito: CognitoStack) -> None:
    """moto's fixed key, whose private half ships with moto, is never published."""
    pool_keys = httpx.get(cognito.jwks_url, timeout=5).json()["keys"]
    bare_keys = httpx.get(
        f"{cognito.endpoint_url}/.well-known/jwks.json", timeout=5
    ).json()["keys"]

    kids = {key["kid"] for key in pool_keys}
    assert len(kids) == 1
    assert "dummy" not in kids
    assert {key["kid"] for key in bare_keys} == kids


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
