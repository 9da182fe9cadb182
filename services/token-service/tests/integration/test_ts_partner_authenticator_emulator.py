"""Partner authentication against the Cognito emulator's real JWKS."""

import gzip
import json
from importlib import resources

import jwt
import pytest

from testsupport.cognito import CognitoStack
from token_service.adapters.outbound.pyjwt_partner_authenticator import (
    PyJwtPartnerAuthenticator,
)
from token_service.domain.errors import InvalidToken

pytestmark = pytest.mark.integration
SCOPE = "tilt/pos:launch"


def authenticator(cognito: CognitoStack) -> PyJwtPartnerAuthenticator:
    return PyJwtPartnerAuthenticator(cognito.jwks_url, cognito.issuer, SCOPE)


def motos_published_private_key() -> jwt.PyJWK:
    packaged = resources.files("moto.cognitoidp") / "resources/jwks-private.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(packaged.read_bytes())))


async def test_a_partner_token_from_the_token_endpoint_names_the_partner(
    cognito: CognitoStack,
) -> None:
    """A client-credentials token authenticates as its app client id."""
    client_id, secret = cognito.partner_client("auth-genuine")
    token = cognito.partner_token(client_id, secret)

    partner_id = await authenticator(cognito).authenticate(f"Bearer {token}")

    assert partner_id == client_id


async def test_a_token_signed_with_motos_shipped_key_is_refused(
    cognito: CognitoStack,
) -> None:
    """moto's key pair is public inside the package: nobody may mint with it."""
    client_id, secret = cognito.partner_client("auth-forged")
    genuine = cognito.partner_token(client_id, secret)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    key = motos_published_private_key()
    forged = jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": key.key_id})

    with pytest.raises(InvalidToken):
        await authenticator(cognito).authenticate(f"Bearer {forged}")
