"""Cognito adapter of `PartnerClients`, for the operators' CLI only.

The consumer never imports this module (an import-linter contract says so):
the service's hot path makes no Cognito call (DESIGN §2).
"""

from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from provisioning_service.domain.errors import PartnerClientFailed

LAUNCH_SCOPE: Final = "tilt/pos:launch"  # DESIGN §3.1
# An operator waits at a terminal: fail in seconds, retry a throttled call twice.
CLIENT_CONFIG: Final = Config(
    connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
)


class Boto3PartnerClients:
    """`PartnerClients` on one Cognito user pool (app clients with a secret)."""

    def __init__(self, user_pool_id: str, region: str, endpoint_url: str = "") -> None:
        if not user_pool_id:
            raise PartnerClientFailed(
                "expected PROVISIONING_COGNITO_USER_POOL_ID to name the user pool"
            )
        self._user_pool_id = user_pool_id
        options: dict[str, Any] = {"region_name": region, "config": CLIENT_CONFIG}
        if endpoint_url:
            # A local emulator checks no signature; AWS takes the usual chain.
            options.update(
                endpoint_url=endpoint_url,
                aws_access_key_id="emulator",
                aws_secret_access_key="emulator",  # noqa: S106 -- not a secret
            )
        self._cognito = boto3.client("cognito-idp", **options)

    def create(self, name: str) -> tuple[str, str]:
        try:
            client = self._cognito.create_user_pool_client(
                UserPoolId=self._user_pool_id,
                ClientName=name,
                GenerateSecret=True,
                AllowedOAuthFlows=["client_credentials"],
                AllowedOAuthFlowsUserPoolClient=True,
                AllowedOAuthScopes=[LAUNCH_SCOPE],
            )["UserPoolClient"]
        except (BotoCoreError, ClientError) as exc:
            raise PartnerClientFailed(
                f"create_user_pool_client: {_reason(exc)}"
            ) from exc
        return str(client["ClientId"]), str(client["ClientSecret"])

    def delete(self, client_id: str) -> None:
        try:
            self._cognito.delete_user_pool_client(
                UserPoolId=self._user_pool_id, ClientId=client_id
            )
        except (BotoCoreError, ClientError) as exc:
            raise PartnerClientFailed(
                f"delete_user_pool_client: {_reason(exc)}"
            ) from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}"
    return type(exc).__name__
