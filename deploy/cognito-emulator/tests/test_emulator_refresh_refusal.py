"""Where the emulator corrects moto to answer as Cognito does."""

import boto3
import pytest
from botocore.exceptions import ClientError

from testsupport.cognito import CognitoStack

pytestmark = pytest.mark.integration


def test_unknown_refresh_token_is_refused_once_not_a_retried_500(
    cognito: CognitoStack,
) -> None:
    """An unknown refresh token gets NotAuthorizedException in a single call."""
    idp = boto3.client(
        "cognito-idp",
        region_name=cognito.region,
        endpoint_url=cognito.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    cognito.reset_calls()

    with pytest.raises(ClientError) as caught:
        idp.admin_initiate_auth(
            UserPoolId=cognito.pool_id,
            ClientId=cognito.service_client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": "never-issued"},
        )

    assert caught.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert cognito.calls() == {"AdminInitiateAuth": 1}
