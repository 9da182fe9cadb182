"""The signing key ring (DESIGN §4): rotation fails no link; bad rings stop start-up."""

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from litestar.testing import AsyncTestClient
from token_fakes import LOCATION_1, TEST_BASE_URL, FakeWorld, make_settings

from tilt_shared.settings import Secret
from token_service.entrypoint import create_app

pytestmark = pytest.mark.integration
P1 = {"Authorization": "Bearer p1"}
BODY = {"external_user_id": "EMP-1", "location_id": LOCATION_1}
SCRIPT = Path(sys.executable).with_name("token-service")


def key(byte: bytes, length: int = 32) -> str:
    return base64.urlsafe_b64encode(byte * length).decode()


async def mint(client: AsyncTestClient[Any]) -> str:
    response = await client.post("/pos/v1/launch-tokens", json=BODY, headers=P1)
    assert response.status_code == 201, response.text
    return str(response.json()["launch_url"])


def kid_of(url: str) -> str:
    token = parse_qs(urlsplit(url).query)["token"][0]
    return str(jwt.get_unverified_header(token)["kid"])


async def test_a_link_minted_under_the_old_key_redeems_after_rotation(
    redis_url: str, unique_prefix: str
) -> None:
    """Kid A signs a link; B becomes active with A still listed; the link opens."""
    world = FakeWorld()
    base = {"redis_url": redis_url, "redis_prefix": unique_prefix}
    before = make_settings(
        **base, signing_keys=Secret(f"a:{key(b'a')}"), active_kid="a"
    )
    after = make_settings(
        **base, signing_keys=Secret(f"a:{key(b'a')},b:{key(b'b')}"), active_kid="b"
    )
    old_app = create_app(before, overrides=world.adapters(in_memory_stores=False))
    new_app = create_app(after, overrides=world.adapters(in_memory_stores=False))

    async with AsyncTestClient(app=old_app, base_url=TEST_BASE_URL) as old:
        outstanding = await mint(old)
    async with AsyncTestClient(app=new_app, base_url=TEST_BASE_URL) as new:
        fresh = await mint(new)
        opened = await new.get(outstanding, follow_redirects=False)

    assert (kid_of(outstanding), kid_of(fresh)) == ("a", "b")
    assert opened.status_code == 303
    assert opened.headers["location"] == "/sale"


@pytest.mark.parametrize(
    ("keys", "active", "reason"),
    [
        (f"a:{key(b'a', 31)}", "a", "has 31 bytes, expected at least 32"),
        (f"a:{key(b'a')}", "b", "expected one of the SIGNING_KEYS kids"),
        (f"a:{key(b'a')},a:{key(b'b')}", "a", "kid 'a' is listed twice"),
    ],
)
def test_the_console_script_refuses_a_bad_key_ring(
    keys: str, active: str, reason: str
) -> None:
    """Short key, unlisted active kid, duplicate kid: exit 2 and one line on stderr."""
    settings = make_settings()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TOKEN_SERVICE_SIGNING_KEYS": keys,
        "TOKEN_SERVICE_ACTIVE_KID": active,
        "TOKEN_SERVICE_COGNITO_PASSWORD_KEY": settings.cognito_password_key.reveal(),
        "TOKEN_SERVICE_PARTNER_ISSUER": settings.partner_issuer,
        "TOKEN_SERVICE_PARTNER_JWKS_URL": settings.partner_jwks_url,
        "TOKEN_SERVICE_COGNITO_USER_POOL_ID": settings.cognito_user_pool_id,
        "TOKEN_SERVICE_COGNITO_CLIENT_ID": settings.cognito_client_id,
    }

    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert reason in done.stderr
    assert key(b"a") not in done.stderr
