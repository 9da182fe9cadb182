"""Creates the user pool, resource server and app clients: on the emulator or on AWS.

`python -m cognito_emulator.bootstrap --endpoint URL --region us-east-1
--name demo` prints the pool and one partner client as JSON.
"""

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import boto3

from cognito_emulator import stack_env

RESOURCE_SERVER: Final = "tilt"
LAUNCH_SCOPE: Final = "pos:launch"
FULL_LAUNCH_SCOPE: Final = f"{RESOURCE_SERVER}/{LAUNCH_SCOPE}"

# The derived passwords of the token service satisfy every one of these.
PASSWORD_POLICY: Final = {
    "MinimumLength": 16,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """Where the pool lives and the token service's own app client."""

    pool_id: str
    issuer: str
    jwks_url: str
    token_url: str
    service_client_id: str
    service_client_secret: str
    region: str
    endpoint_url: str


def cognito_client(endpoint_url: str | None, region: str) -> Any:
    """A cognito-idp client; dummy credentials when talking to an emulator."""
    if endpoint_url is None:
        return boto3.client("cognito-idp", region_name=region)
    return boto3.client(
        "cognito-idp",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 -- the emulator checks no signature
    )


def _custom_attribute(name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "AttributeDataType": "String",
        "Mutable": True,
        "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "255"},
    }


def create_pool(endpoint_url: str, region: str, name: str) -> PoolInfo:
    """A user pool with the launch scope and the token service's app client."""
    cognito = cognito_client(endpoint_url, region)

    pool = cognito.create_user_pool(
        PoolName=name,
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        Schema=[
            _custom_attribute("partner_id"),
            _custom_attribute("external_user_id"),
        ],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]
    pool_id: str = pool["Id"]

    cognito.create_resource_server(
        UserPoolId=pool_id,
        Identifier=RESOURCE_SERVER,
        Name="Tilt POS",
        Scopes=[{"ScopeName": LAUNCH_SCOPE, "ScopeDescription": "Mint launch links"}],
    )
    service = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{name}-token-service",
        GenerateSecret=True,
        ExplicitAuthFlows=[
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
        # Moto puts standard attributes into ID tokens only when listed here.
        ReadAttributes=["name", "custom:partner_id", "custom:external_user_id"],
    )["UserPoolClient"]

    base = endpoint_url.rstrip("/")
    return PoolInfo(
        pool_id=pool_id,
        issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        jwks_url=f"{base}/{pool_id}/.well-known/jwks.json",
        token_url=f"{base}/oauth2/token",
        service_client_id=service["ClientId"],
        service_client_secret=service["ClientSecret"],
        region=region,
        endpoint_url=base,
    )


def create_partner_client(
    endpoint_url: str, region: str, pool_id: str, name: str
) -> tuple[str, str]:
    """A partner's app client: client credentials with the launch scope."""
    cognito = cognito_client(endpoint_url, region)
    client = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=name,
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=[FULL_LAUNCH_SCOPE],
    )["UserPoolClient"]
    return client["ClientId"], client["ClientSecret"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cognito_emulator.bootstrap")
    parser.add_argument(
        "--endpoint",
        required=True,
        help="where this step and the services reach Cognito",
    )
    parser.add_argument(
        "--public-endpoint", help="where partners reach the token endpoint"
    )
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--name", default="demo")
    parser.add_argument(
        "--env-file", type=Path, help="also write the stack's settings here"
    )
    arguments = parser.parse_args(argv)

    info = create_pool(arguments.endpoint, arguments.region, arguments.name)
    partner = create_partner_client(
        arguments.endpoint, arguments.region, info.pool_id, f"{arguments.name}-partner"
    )
    public = (arguments.public_endpoint or arguments.endpoint).rstrip("/")
    token_url = f"{public}/oauth2/token"

    if arguments.env_file is not None:
        previous = stack_env.read_env_file(arguments.env_file)
        env = stack_env.stack_env(info, partner, token_url, previous)
        stack_env.write_env_file(arguments.env_file, env)

    output = {
        **asdict(info),
        "partner": {
            "client_id": partner[0],
            "client_secret": partner[1],
            "scope": FULL_LAUNCH_SCOPE,
            "token_url": token_url,
        },
    }
    json.dump(output, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
